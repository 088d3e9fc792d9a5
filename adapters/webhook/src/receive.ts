/**
 * Source `receive`: POST /webhooks/<connection>. Verifies the Standard Webhooks signature over the raw body, maps
 * the JSON (canonical as it is, or through a JSONata expression), validates it against the canonical case schema and
 * answers 202 {hubId} only once the hub has stored and queued it. The webhook-id is the event id, so a replayed
 * message is acknowledged with the same hub id and makes no second case. Refusals are RFC 9457 problem details.
 */
import express, { type Request, type RequestHandler } from 'express';
import type { AdapterContext, Emit, WebhookSourceDefinition, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { createAjv, compileOnce } from 'caseway/core';
import { safeMessage } from 'caseway/core';
import type { CanonicalCase } from 'caseway/core';
import canonicalSchema from '../../../schemas/canonical-case.schema.json';
import { loadExpression, type ExpressionOptions, type LoadedExpression } from './expression';
import { PROBLEM_SCHEMA, problem, sendProblem } from './problem';
import { ADAPTER, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_TOLERANCE_SECONDS, inboundPath, type WebhookSettings } from './settings';
import { verifySignature } from './signing';

const ajv = createAjv();
const RETRY_AFTER_SECONDS = '5';
const MAX_SCHEMA_ERRORS = 50;

function isJsonContentType(header: string | undefined): boolean {
  if (!header) return false;
  const type = header.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(type);
}

function readBody(req: Request, res: express.Response, parser: RequestHandler): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    Promise.resolve(parser(req, res, (err?: unknown) => (err ? reject(err) : resolve(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0))))).catch(reject);
  });
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function isCase(value: unknown, validate: ReturnType<typeof compileOnce>): value is CanonicalCase {
  return validate(value);
}

export function createReceiveHandler(ctx: AdapterContext<WebhookSettings>, emit: Emit, options: ExpressionOptions): RequestHandler {
  const inbound = ctx.connection.settings.inbound ?? {};
  const secrets = inbound.secrets ?? [];
  const tolerance = inbound.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const limit = inbound.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const parser = express.raw({ type: () => true, limit });
  const validate = compileOnce(ajv, canonicalSchema);
  const where = `source receive of connection "${ctx.connection.name}"`;
  // Compiled at mount, so a broken expression stops the hub at start rather than refusing every call.
  const expression: LoadedExpression | undefined = loadExpression(options, where, ctx.connection.configDir, { connection: ctx.connection.name, peer: ADAPTER });
  const log = ctx.log;

  return async (req, res) => {
    if (!isJsonContentType(req.headers['content-type'])) {
      sendProblem(res, problem(415, 'unsupported-media-type', 'Unsupported Media Type', 'Send the body as application/json.'));
      return;
    }
    let raw: Buffer;
    try {
      raw = await readBody(req, res, parser);
    } catch (err) {
      const status = (err as { status?: unknown }).status;
      if (status === 413) sendProblem(res, problem(413, 'payload-too-large', 'Payload Too Large', `The body is larger than ${limit} bytes.`));
      else sendProblem(res, problem(400, 'unreadable-body', 'Bad Request', 'The body could not be read.'));
      return;
    }
    const verified = verifySignature(secrets, req.headers, raw, tolerance);
    if (!verified.ok) {
      log.warn({ status: verified.status, reason: verified.reason }, 'webhook intake: refused a message whose signature did not verify');
      if (verified.status === 400) sendProblem(res, problem(400, verified.reason, 'Bad Request', 'webhook-id, webhook-timestamp (Unix seconds) and webhook-signature are required.'));
      else sendProblem(res, problem(401, 'invalid-signature', 'Unauthorized', 'The signature, the timestamp or its tolerance window did not verify.'), { 'WWW-Authenticate': 'Signature realm="webhook"' });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(utf8.decode(raw));
    } catch {
      sendProblem(res, problem(400, 'malformed-json', 'Bad Request', 'The body is not valid UTF-8 JSON.'));
      return;
    }
    let mapped: unknown = body;
    if (expression) {
      try {
        mapped = await expression.evaluate(body, { webhookId: verified.webhookId, connection: ctx.connection.name });
      } catch (err) {
        log.warn({ webhookId: verified.webhookId, error: safeMessage(err) }, 'webhook intake: the mapping failed');
        sendProblem(res, problem(422, 'mapping-failed', 'Unprocessable Content', `The JSONata expression ${expression.label} could not map this body.`));
        return;
      }
    }
    if (!isCase(mapped, validate)) {
      const errors = (validate.errors ?? []).slice(0, MAX_SCHEMA_ERRORS).map((e) => ({ pointer: e.instancePath || '/', message: e.message ?? 'invalid' }));
      log.info({ webhookId: verified.webhookId, status: 422, pointers: errors.map((e) => e.pointer) }, 'webhook intake: not a canonical case');
      sendProblem(res, problem(422, 'not-a-canonical-case', 'Unprocessable Content', 'The (mapped) body is not a canonical case.', errors));
      return;
    }
    const kase: CanonicalCase = { ...mapped, source: { ...mapped.source, system: ADAPTER, connection: ctx.connection.name, eventId: verified.webhookId } };
    try {
      const [result] = await emit([{ eventId: verified.webhookId, case: kase }]);
      log.info({ webhookId: verified.webhookId, hubId: result?.hubId, duplicate: result?.duplicate ?? false }, 'webhook intake: accepted');
      if (!res.headersSent) res.status(202).json({ hubId: result?.hubId, duplicate: result?.duplicate ?? false });
    } catch (err) {
      const retryable = typeof err === 'object' && err !== null && (err as { retryable?: unknown }).retryable === true;
      log.error({ webhookId: verified.webhookId, error: safeMessage(err), retryable }, 'webhook intake: could not store the case');
      if (retryable) sendProblem(res, problem(503, 'try-again', 'Service Unavailable', 'The hub could not store the case just now; send it again.'), { 'Retry-After': RETRY_AFTER_SECONDS });
      else sendProblem(res, problem(500, 'internal', 'Internal Server Error'));
    }
  };
}

const methodNotAllowed: RequestHandler = (_req, res) => {
  sendProblem(res, problem(405, 'method-not-allowed', 'Method Not Allowed'), { Allow: 'POST' });
};

const receiveSourceOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    path: { type: 'string', pattern: '^/', description: 'Endpoint path (default /webhooks/<connection>, or settings.inbound.path).' },
    expression: { type: 'string', minLength: 1, description: 'JSONata expression that maps the body to a canonical case ($webhookId, $connection bound).' },
    expressionFile: { type: 'string', minLength: 1, description: 'A file holding that expression, relative to the config file.' },
  },
} as const satisfies ConstOptionsSchema;

export const receiveSource: WebhookSourceDefinition<WebhookSettings, typeof receiveSourceOptionsSchema> = {
  kind: 'webhook',
  description: 'POST /webhooks/<connection>: a Standard Webhooks-signed canonical case (or any JSON mapped by a JSONata expression) becomes a hub case; 202 {hubId}.',
  optionsSchema: receiveSourceOptionsSchema,
  api: {
    requestContentType: 'application/json',
    // The canonical case schema the handler validates with, as the OpenAPI document carries it among its components.
    requestSchema: { $ref: '#/components/schemas/CanonicalCase' },
    authentication:
      'Standard Webhooks signature: webhook-id (the event id; a replay is acknowledged without a second case), webhook-timestamp (Unix seconds, within settings.inbound.toleranceSeconds, default 300) and webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>" under a whsec_ secret of settings.inbound.secrets',
    securityScheme: {
      schemeName: 'standardWebhooks',
      type: 'apiKey',
      in: 'header',
      name: 'webhook-signature',
      description: 'Standard Webhooks (https://www.standardwebhooks.com): with webhook-id and webhook-timestamp; v1 = HMAC-SHA256 over "<webhook-id>.<webhook-timestamp>.<body>" with the whsec_ secret.',
    },
    responses: {
      202: {
        description: 'Stored and queued (or, for a webhook-id seen before, already stored: duplicate true)',
        schema: { type: 'object', required: ['hubId', 'duplicate'], properties: { hubId: { type: 'string' }, duplicate: { type: 'boolean' } } },
      },
      400: { description: 'Signature headers missing, or the body is not JSON (application/problem+json)', schema: PROBLEM_SCHEMA },
      401: { description: 'Signature or timestamp did not verify (application/problem+json)', schema: PROBLEM_SCHEMA },
      413: { description: 'Body over settings.inbound.bodyLimitBytes (application/problem+json)', schema: PROBLEM_SCHEMA },
      415: { description: 'Content-Type is not JSON (application/problem+json)', schema: PROBLEM_SCHEMA },
      422: { description: 'The mapping failed, or the result is not a canonical case; errors lists JSON pointers (application/problem+json)', schema: PROBLEM_SCHEMA },
      503: { description: 'The hub could not store the case just now; Retry-After says when to send again (application/problem+json)', schema: PROBLEM_SCHEMA },
    },
  },
  mount(router, ctx, emit, options) {
    const path = inboundPath(ctx.connection.name, ctx.connection.settings, options);
    if (!(ctx.connection.settings.inbound?.secrets ?? []).length) ctx.log.warn({ path }, 'webhook: inbound.secrets is empty, so every call to the endpoint will be refused (401)');
    router.post(path, createReceiveHandler(ctx, emit, options));
    router.all(path, methodNotAllowed);
    ctx.log.info({ path }, 'webhook: intake endpoint mounted');
  },
};
