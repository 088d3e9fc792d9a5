/**
 * The HTTP side of "POST /application" as the spec describes it, shared by Caseway's inbound endpoint and the
 * sandbox case manager: authentication, content negotiation, a bounded raw body parsed here (so 413/400 are ours),
 * validation with every error at once, and 200 {"appRefNumber"} only once the application is safely stored.
 */
import express, { type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'caseway/core';
import { CasewayError, safeMessage } from 'caseway/core';
import type { AuthOutcome } from './auth';
import { IDEMPOTENCY_KEY_MALFORMED, idempotencyProblem, parseIdempotencyKey, type IdempotencyAnswer, type IdempotencyClaim, type IdempotencyGuard } from './idempotency';
import { canonicalJson, isPlainObject, sha256Hex, type JsonObject } from './json';
import type { EtdValidator } from './validator';

export const REPLIES = {
  unauthorized: { error: 'Unauthorized' },
  forbidden: { error: 'Forbidden' },
  unsupportedMediaType: { error: 'Unsupported Media Type' },
  notAcceptable: { error: 'Not Acceptable' },
  payloadTooLarge: { error: 'Payload Too Large' },
  malformedJson: { error: 'Malformed JSON' },
  methodNotAllowed: { error: 'Method Not Allowed' },
  internalError: { error: 'Internal Server Error' },
  serviceUnavailable: { error: 'Service Unavailable' },
} as const;

export interface IntakeOptions {
  authenticate(headers: Request['headers'], remoteAddress: string | undefined): AuthOutcome;
  apiKeyHeader: string;
  bodyLimitBytes: number;
  validator: EtdValidator;
  log: Logger;
  /** Runs after authentication; answers the request itself and returns true to stop (sandbox fault injection). */
  intercept?(req: Request, res: Response): Promise<boolean>;
  /** Stores a valid application; resolves to its appRefNumber only once it is safely stored or queued. */
  accept(etdApp: JsonObject, req: Request): Promise<string>;
  /** Honours the Idempotency-Key header (Caseway's intake); absent: the header is ignored (as the IIZUKA spec has none). */
  idempotency?: IdempotencyGuard;
}

/** "application/json", optionally with charset utf-8; anything else is refused with 415. */
export function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const [type, ...params] = header.split(';').map((part) => part.trim().toLowerCase());
  if (type !== 'application/json') return false;
  for (const param of params) {
    const eq = param.indexOf('=');
    const name = (eq < 0 ? param : param.slice(0, eq)).trim();
    const value = eq < 0 ? '' : param.slice(eq + 1).trim().replace(/^"|"$/g, '');
    if (name === 'charset' && value !== 'utf-8' && value !== 'utf8') return false;
  }
  return true;
}

function send(res: Response, status: number, body: unknown): void {
  if (!res.headersSent) res.status(status).json(body);
}

function sendAnswer(res: Response, answer: IdempotencyAnswer): void {
  if (res.headersSent) return;
  res.status(answer.status).set(answer.headers ?? {});
  if (answer.contentType) res.type(answer.contentType).send(JSON.stringify(answer.body));
  else res.json(answer.body);
}

function readBody(req: Request, res: Response, parser: RequestHandler): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    Promise.resolve(parser(req, res, (err?: unknown) => (err ? reject(err) : resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0))))).catch(reject);
  });
}

/** Seconds a caller is asked to wait after a 503 (the hub's own 503s for intake say the same). */
export const RETRY_AFTER_SECONDS = 5;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function createIntakeHandler(options: IntakeOptions): RequestHandler {
  const parser = express.raw({ type: () => true, limit: options.bodyLimitBytes });
  const { log } = options;
  return async (req, res) => {
    const auth = options.authenticate(req.headers, req.socket.remoteAddress);
    if (!auth.ok) {
      log.warn({ status: auth.status }, 'etd intake: refused an unauthenticated or disallowed call');
      if (auth.status === 401) {
        res.setHeader('WWW-Authenticate', `ApiKey header="${options.apiKeyHeader}"`);
        send(res, 401, REPLIES.unauthorized);
      } else send(res, 403, REPLIES.forbidden);
      return;
    }
    try {
      if (options.intercept && (await options.intercept(req, res))) return;
    } catch (err) {
      log.error({ err: safeMessage(err) }, 'etd intake: intercept failed');
      send(res, 500, REPLIES.internalError);
      return;
    }
    if (!isJsonContentType(req.headers['content-type'])) {
      send(res, 415, REPLIES.unsupportedMediaType);
      return;
    }
    if (!req.accepts('application/json')) {
      send(res, 406, REPLIES.notAcceptable);
      return;
    }
    const idempotencyKey = options.idempotency ? parseIdempotencyKey(req.headers['idempotency-key']) : undefined;
    if (idempotencyKey === null) {
      sendAnswer(res, idempotencyProblem(400, IDEMPOTENCY_KEY_MALFORMED));
      return;
    }
    let body: unknown;
    try {
      const raw = await readBody(req, res, parser);
      body = JSON.parse(utf8.decode(raw));
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (status === 413) send(res, 413, REPLIES.payloadTooLarge);
      else if (status === 415) send(res, 415, REPLIES.unsupportedMediaType);
      else send(res, 400, REPLIES.malformedJson);
      return;
    }
    const errors = options.validator.validate(body);
    if (errors.length) {
      log.info({ status: 422, fields: errors.map((e) => Object.keys(e)[0]) }, 'etd intake: application failed validation');
      send(res, 422, { errors });
      return;
    }
    const etdApp = (body as JsonObject).etdApp;
    let claim: IdempotencyClaim | undefined;
    try {
      if (options.idempotency && idempotencyKey !== undefined) {
        // Same key + same body (canonical JSON) = the first answer; another body or one still in flight = refused.
        const begun = await options.idempotency.begin(idempotencyKey, auth.keyName ?? '', sha256Hex(canonicalJson(body)));
        if (begun.answer) return sendAnswer(res, begun.answer);
        claim = begun.claim;
      }
      const appRefNumber = await options.accept(isPlainObject(etdApp) ? etdApp : {}, req);
      await claim?.complete(appRefNumber);
      send(res, 200, { appRefNumber });
    } catch (err) {
      await claim?.abandon();
      // A retryable failure (Redis unavailable: the hub's intake, or the idempotency claim) is 503 + Retry-After:
      // nothing was acknowledged and the same body may be sent again. The hub may have answered it already.
      if (err instanceof CasewayError && err.retryable) {
        log.warn({ err: safeMessage(err) }, 'etd intake: the hub cannot store the application now, answered 503');
        if (!res.headersSent) res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
        send(res, 503, REPLIES.serviceUnavailable);
        return;
      }
      log.error({ err: safeMessage(err) }, 'etd intake: could not store the application');
      send(res, 500, REPLIES.internalError);
    }
  };
}

/** Any other method on the intake path: 405 with Allow: POST (JSON, like every other answer). */
export const methodNotAllowed: RequestHandler = (_req, res) => {
  res.setHeader('Allow', 'POST');
  send(res, 405, REPLIES.methodNotAllowed);
};
