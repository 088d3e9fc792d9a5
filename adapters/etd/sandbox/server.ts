/**
 * A sandbox IIZUKA Case Manager on loopback, written from the ETD - IIZUKA Case Manager API specification (not from
 * Caseway's adapter, so it can show the adapter wrong). POST /application:
 *   - the spec's headers: `Content-Type: application/json; charset=utf-8` (else 415), `Accept: application/json`
 *     (an Accept that excludes it: 406; none is fine); authentication is TBD in the spec: an API key in a header (401);
 *   - the body `{"etdApp": {...}}` validated by the spec's tables (validate.ts), 422 with the spec's error block;
 *   - 200 `{"appRefNumber": "12345"}`, then "12346", ... (numeric strings like the spec's example); every accepted
 *     POST files a new application, identical content included, as the spec defines no idempotency and no
 *     duplicate check (option `identicalContent: 'same-number'` gives identical content its earlier number instead);
 *   - 500 `{"error": "Internal Server Error"}` as the spec prints it; the answers the spec does not print (400, 401,
 *     405, 406, 413, 415) follow the same shape with the HTTP reason phrase.
 *
 * Test hooks: applications() and requests() show what the peer holds and saw; failNext() forces the next
 * replies (e.g. one 500, or a slow answer for timeouts); setIdenticalContent() switches the duplicate handling. The
 * same hooks exist over HTTP under /_sandbox/.
 */
import { createHash, randomBytes } from 'node:crypto';
import { STATUS_CODES, type Server } from 'node:http';
import { MIMEType } from 'node:util';
import express from 'express';
import { closeHttpServer, serveHttp, silentLogger, TimerSet, type Logger } from 'caseway/core';
import { streamPadded, type ForcedReply } from './faults';
import { createSandboxValidator, type SandboxValidation } from './validate';

export type { ForcedReply } from './faults';
export type { SandboxValidation } from './validate';

/** JSON as the peer received it. */
export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export interface EtdSandboxOptions {
  host?: string;
  /** 0 or absent: any free port. */
  port?: number;
  /** The key callers must send; undefined: a random one is made; null: no authentication. */
  apiKey?: string | null;
  /** Header the key arrives in (default X-API-Key). */
  apiKeyHeader?: string;
  /** Tunables for what the spec leaves TBD (the connection's `inbound.validation` block). */
  validation?: SandboxValidation;
  /** Largest body read (default 1 MiB; the spec sets none): above it 413. */
  bodyLimitBytes?: number;
  /** The first appRefNumber issued (default 12345, the spec's example). */
  firstRefNumber?: number;
  /** What an application identical to one already filed gets (see IdenticalContent; default 'file-again'). */
  identicalContent?: IdenticalContent;
  log?: Logger;
}

/**
 * An accepted application identical (same JSON, any key order or spacing) to one filed before:
 * - 'file-again' (default, faithful to the spec, which defines no idempotency and no duplicate check): filed as a new
 *   application with a new appRefNumber, so a client that posts twice sees two filings;
 * - 'same-number': not filed again; the earlier appRefNumber is answered (a peer that de-duplicates by content: a
 *   sandbox choice, nothing in the spec says IIZUKA does this).
 */
export type IdenticalContent = 'file-again' | 'same-number';
export const IDENTICAL_CONTENT_MODES: readonly IdenticalContent[] = ['file-again', 'same-number'];

export function isIdenticalContent(v: unknown): v is IdenticalContent {
  return (IDENTICAL_CONTENT_MODES as readonly unknown[]).includes(v);
}

export interface StoredApplication {
  appRefNumber: string;
  etdApp: JsonObject;
  receivedAt: string;
  /** The request's headers (lower-case names); the API key and any Authorization value read "[redacted]". */
  headers: Record<string, string>;
}

export interface SandboxRequest {
  method: string;
  path: string;
  status: number;
  forced: boolean;
  at: string;
  /** The Idempotency-Key header as sent, if any (the IIZUKA spec defines none; the sandbox only records it). */
  idempotencyKey?: string;
}

const DEFAULT_API_KEY_HEADER = 'X-API-Key';
const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

/** `{"error": "<reason phrase>"}`: the spec's 500 body, and the same shape for the statuses it does not print. */
const errorBody = (status: number): { error: string } => ({ error: STATUS_CODES[status] ?? `HTTP ${status}` });

/** SHA-256 of the JSON with keys sorted: the same application however it is spaced or ordered. */
function contentDigest(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(canonical) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as JsonObject)[k])])) : v;
  return createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex');
}

/** The spec's Content-Type: application/json, UTF-8 (an absent charset means UTF-8, "the default character encoding"). */
function jsonUtf8(header: string | undefined): boolean {
  try {
    const type = new MIMEType(header ?? '');
    const charset = type.params.get('charset');
    return type.essence === 'application/json' && (charset === null || /^utf-?8$/i.test(charset));
  } catch {
    return false;
  }
}

export class EtdSandbox {
  private readonly stored: StoredApplication[] = [];
  private readonly seen: SandboxRequest[] = [];
  /** The first appRefNumber issued per content digest (used when identicalContent is 'same-number'). */
  private readonly byDigest = new Map<string, string>();
  private readonly forced: Array<Required<Pick<ForcedReply, 'times'>> & ForcedReply> = [];
  private readonly timers = new TimerSet();
  private nextRef: number;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly apiKey: string | undefined,
    readonly apiKeyHeader: string,
    private readonly firstRef: number,
    private identical: IdenticalContent,
  ) {
    this.nextRef = firstRef;
  }

  static async start(options: EtdSandboxOptions = {}): Promise<EtdSandbox> {
    const log = options.log ?? silentLogger();
    const identical = options.identicalContent ?? 'file-again';
    if (!isIdenticalContent(identical)) throw new Error(`etd sandbox: identicalContent must be one of ${IDENTICAL_CONTENT_MODES.join(', ')}`);
    const apiKey = options.apiKey === null ? undefined : (options.apiKey ?? `etd-sandbox-${randomBytes(12).toString('hex')}`);
    const apiKeyHeader = options.apiKeyHeader ?? DEFAULT_API_KEY_HEADER;
    const validate = createSandboxValidator(options.validation);
    const app = express();
    app.disable('x-powered-by');
    let sandbox: EtdSandbox | undefined;
    const self = (): EtdSandbox => sandbox as EtdSandbox;
    const fail = (res: express.Response, status: number): void => {
      res.status(status).json(errorBody(status));
    };

    app.use((req, res, next) => {
      res.on('finish', () => {
        const idempotencyKey = req.get('idempotency-key');
        self().seen.push({
          method: req.method,
          path: req.path,
          status: res.statusCode,
          forced: res.locals.forced === true,
          at: new Date().toISOString(),
          ...(idempotencyKey === undefined ? {} : { idempotencyKey }),
        });
        log.debug({ method: req.method, path: req.path, status: res.statusCode }, 'etd sandbox: request');
      });
      next();
    });

    app.post(
      '/application',
      (req, res, next) => {
        if (apiKey !== undefined && req.get(apiKeyHeader) !== apiKey) return fail(res, 401);
        if (!jsonUtf8(req.get('content-type'))) return fail(res, 415);
        if (!req.accepts('application/json')) return fail(res, 406);
        next();
      },
      express.json({ limit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, strict: false, type: () => true }),
      async (req, res) => {
        const delayMs = await self().applyForced(res);
        if (delayMs === 'answered') return;
        const errors = validate(req.body);
        if (errors.length) return void res.status(422).json({ errors });
        if (delayMs) await self().timers.sleep(delayMs);
        // Filed even when the caller gave up waiting: a peer that answers late still holds the application.
        const appRefNumber = self().store((req.body as { etdApp: JsonObject }).etdApp, req.headers, apiKeyHeader);
        if (!res.destroyed) res.status(200).json({ appRefNumber });
      },
    );
    app.all('/application', (_req, res) => {
      res.set('Allow', 'POST');
      fail(res, 405);
    });

    app.get('/_sandbox/applications', (_req, res) => {
      res.json(self().applications());
    });
    app.post('/_sandbox/fail-next', express.json(), (req, res) => {
      self().failNext((req.body ?? {}) as ForcedReply);
      res.status(204).end();
    });
    app.get('/_sandbox/options', (_req, res) => {
      res.json({ identicalContent: self().identicalContent });
    });
    app.post('/_sandbox/options', express.json(), (req, res) => {
      const wanted = ((req.body ?? {}) as { identicalContent?: unknown }).identicalContent;
      if (wanted !== undefined && !isIdenticalContent(wanted)) return void res.status(400).json({ error: `identicalContent must be one of ${IDENTICAL_CONTENT_MODES.join(', ')}` });
      if (wanted !== undefined) self().setIdenticalContent(wanted);
      res.json({ identicalContent: self().identicalContent });
    });
    app.post('/_sandbox/reset', (_req, res) => {
      self().reset();
      res.status(204).end();
    });
    // Body parser failures: too large, not JSON. Anything else is the spec's 500.
    app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
      const type = (err as { type?: unknown }).type;
      if (res.headersSent) return;
      fail(res, type === 'entity.too.large' ? 413 : type === 'entity.parse.failed' ? 400 : type === 'charset.unsupported' ? 415 : 500);
    });

    const { server, url } = await serveHttp(app, options.port ?? 0, options.host ?? '127.0.0.1');
    sandbox = new EtdSandbox(server, url, apiKey, apiKeyHeader, options.firstRefNumber ?? 12345, identical);
    log.info({ url: sandbox.url, identicalContent: identical }, 'etd sandbox: IIZUKA Case Manager listening');
    return sandbox;
  }

  /** Connection settings that reach this sandbox. */
  connectionSettings(): { baseUrl: string; apiKey?: string; apiKeyHeader: string } {
    return { baseUrl: this.url, ...(this.apiKey ? { apiKey: this.apiKey } : {}), apiKeyHeader: this.apiKeyHeader };
  }

  /** Every application the peer accepted, oldest first (copies). */
  applications(): StoredApplication[] {
    return structuredClone(this.stored);
  }

  /** Every request the peer answered, with its status, oldest first. */
  requests(): SandboxRequest[] {
    return this.seen.map((r) => ({ ...r }));
  }

  /** What an application identical to one already filed gets now. */
  get identicalContent(): IdenticalContent {
    return this.identical;
  }

  /** Switches the duplicate handling from the next POST on (what is already filed stays; reset() keeps the setting). */
  setIdenticalContent(mode: IdenticalContent): void {
    if (!isIdenticalContent(mode)) throw new Error(`etd sandbox: identicalContent must be one of ${IDENTICAL_CONTENT_MODES.join(', ')}`);
    this.identical = mode;
  }

  /** Forces the next reply (or the next `times` replies) to POST /application. Calls queue up in order. */
  failNext(reply: ForcedReply): void {
    this.forced.push({ ...reply, times: reply.times ?? 1 });
  }

  reset(): void {
    this.stored.length = 0;
    this.seen.length = 0;
    this.byDigest.clear();
    this.forced.length = 0;
    this.nextRef = this.firstRef;
  }

  async stop(): Promise<void> {
    this.timers.clear();
    await closeHttpServer(this.server);
  }

  /** Applies the next forced reply: 'answered' when it answered, else the delay (ms) before the normal answer. */
  private async applyForced(res: express.Response): Promise<'answered' | number> {
    const next = this.forced[0];
    if (!next) return 0;
    next.times -= 1;
    if (next.times <= 0) this.forced.shift();
    res.locals.forced = true;
    if (next.streamBytes !== undefined) {
      if (next.delayMs) await this.timers.sleep(next.delayMs);
      await streamPadded(res, next.status ?? 200, next.streamBytes);
      return 'answered';
    }
    if (next.status === undefined) return next.delayMs ?? 0;
    if (next.delayMs) await this.timers.sleep(next.delayMs);
    if (!res.headersSent && !res.destroyed) res.status(next.status).json(next.body ?? errorBody(next.status));
    return 'answered';
  }

  private store(etdApp: JsonObject, headers: express.Request['headers'], apiKeyHeader: string): string {
    const digest = contentDigest(etdApp);
    const known = this.byDigest.get(digest);
    if (known !== undefined && this.identical === 'same-number') return known;
    const appRefNumber = String(this.nextRef++);
    if (known === undefined) this.byDigest.set(digest, appRefNumber);
    this.stored.push({
      appRefNumber,
      etdApp: structuredClone(etdApp),
      receivedAt: new Date().toISOString(),
      headers: Object.fromEntries(
        Object.entries(headers)
          .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
          .map(([name, value]) => [name, name === apiKeyHeader.toLowerCase() || name === 'authorization' ? '[redacted]' : String(value)]),
      ),
    });
    return appRefNumber;
  }
}
