/**
 * A sandbox IIZUKA Case Manager on loopback. POST /application behaves as the spec describes (the same
 * validation, messages and status codes as Caseway's own intake), stores what it accepts and issues numeric
 * appRefNumbers ("12345", "12346", ...). Identical content gets its earlier number again.
 *
 * Test hooks: applications() and requests() show what the peer holds and saw; failNext() forces the next
 * replies (e.g. one 500, or a slow answer for timeouts). The same hooks exist over HTTP under /_sandbox/.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import express from 'express';
import { silentLogger, type Logger } from 'caseway/core';
import { createAuthenticator } from '../src/auth';
import { applicationDigest } from '../src/ids';
import { createIntakeHandler, methodNotAllowed, REPLIES } from '../src/intake';
import { deepClone, type JsonObject } from '../src/json';
import { DEFAULT_API_KEY_HEADER, DEFAULT_BODY_LIMIT_BYTES, type ValidationSettings } from '../src/settings';
import { createValidator } from '../src/validator';
import { serveHttp } from 'caseway/core';

export interface EtdSandboxOptions {
  host?: string;
  /** 0 or absent: any free port. */
  port?: number;
  /** The key callers must send; undefined: a random one is made; null: no authentication. */
  apiKey?: string | null;
  apiKeyHeader?: string;
  validation?: ValidationSettings;
  bodyLimitBytes?: number;
  /** The first appRefNumber issued (default 12345, the spec's example). */
  firstRefNumber?: number;
  log?: Logger;
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

export interface ForcedReply {
  /** Answer with this status (and body) instead of processing; absent: process normally (after any delay). */
  status?: number;
  body?: unknown;
  /**
   * Wait this long. With a status: before answering it. Without: the application is read, validated, then
   * stored and answered only after the wait (longer than the client's timeout = a peer that files it late).
   */
  delayMs?: number;
  /** How many requests this applies to (default 1). */
  times?: number;
  /**
   * Answer (with status, default 200) a JSON reply padded to this many bytes, streamed in 64 KB chunks as the client
   * reads them: an oversized reply that costs the sandbox no memory.
   */
  streamBytes?: number;
}

const DEFAULT_BODIES: Record<number, unknown> = {
  500: REPLIES.internalError,
  502: { error: 'Bad Gateway' },
  503: { error: 'Service Unavailable' },
  504: { error: 'Gateway Timeout' },
};

/** Writes {"appRefNumber":"1","padding":"xxx…"} of about `bytes` bytes, honouring backpressure; stops if the client leaves. */
async function streamPadded(res: express.Response, status: number, bytes: number): Promise<void> {
  const head = '{"appRefNumber":"1","padding":"';
  const tail = '"}';
  res.status(status).set('Content-Type', 'application/json; charset=utf-8').set('Content-Length', String(Math.max(bytes, head.length + tail.length)));
  res.write(head);
  const chunk = Buffer.alloc(64 * 1024, 'x');
  let left = Math.max(bytes - head.length - tail.length, 0);
  while (left > 0 && !res.destroyed) {
    const part = left >= chunk.length ? chunk : chunk.subarray(0, left);
    left -= part.length;
    if (!res.write(part)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  }
  if (!res.destroyed) res.end(tail);
}

export class EtdSandbox {
  private readonly stored: StoredApplication[] = [];
  private readonly seen: SandboxRequest[] = [];
  private readonly byDigest = new Map<string, string>();
  private readonly forced: Array<Required<Pick<ForcedReply, 'times'>> & ForcedReply> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly slowRequests = new WeakMap<express.Request, number>();
  private nextRef: number;

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly apiKey: string | undefined,
    readonly apiKeyHeader: string,
    private readonly firstRef: number,
  ) {
    this.nextRef = firstRef;
  }

  static async start(options: EtdSandboxOptions = {}): Promise<EtdSandbox> {
    const log = options.log ?? silentLogger();
    const apiKey = options.apiKey === null ? undefined : (options.apiKey ?? `etd-sandbox-${randomBytes(12).toString('hex')}`);
    const apiKeyHeader = options.apiKeyHeader ?? DEFAULT_API_KEY_HEADER;
    const app = express();
    app.disable('x-powered-by');
    let sandbox: EtdSandbox | undefined;
    const self = (): EtdSandbox => sandbox as EtdSandbox;

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

    const handler = createIntakeHandler({
      authenticate: createAuthenticator({ apiKeys: apiKey ? [{ name: 'sandbox', key: apiKey }] : [], header: apiKeyHeader, allowUnauthenticated: !apiKey }),
      apiKeyHeader,
      bodyLimitBytes: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
      validator: createValidator(options.validation),
      log,
      intercept: (req, res) => self().applyForced(req, res),
      accept: async (etdApp, req) => {
        const delayMs = self().slowRequests.get(req);
        if (delayMs) await self().sleep(delayMs);
        return self().store(etdApp, req.headers, apiKeyHeader);
      },
    });
    app.post('/application', handler);
    app.all('/application', methodNotAllowed);

    app.get('/_sandbox/applications', (_req, res) => {
      res.json(self().applications());
    });
    app.post('/_sandbox/fail-next', express.json(), (req, res) => {
      self().failNext((req.body ?? {}) as ForcedReply);
      res.status(204).end();
    });
    app.post('/_sandbox/reset', (_req, res) => {
      self().reset();
      res.status(204).end();
    });

    const { server, url } = await serveHttp(app, options.port ?? 0, options.host ?? '127.0.0.1');
    sandbox = new EtdSandbox(server, url, apiKey, apiKeyHeader, options.firstRefNumber ?? 12345);
    log.info({ url: sandbox.url }, 'etd sandbox: IIZUKA Case Manager listening');
    return sandbox;
  }

  /** Connection settings that reach this sandbox. */
  connectionSettings(): { baseUrl: string; apiKey?: string; apiKeyHeader: string } {
    return { baseUrl: this.url, ...(this.apiKey ? { apiKey: this.apiKey } : {}), apiKeyHeader: this.apiKeyHeader };
  }

  /** Every application the peer accepted, oldest first (copies). */
  applications(): StoredApplication[] {
    return deepClone(this.stored);
  }

  /** Every request the peer answered, with its status, oldest first. */
  requests(): SandboxRequest[] {
    return this.seen.map((r) => ({ ...r }));
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
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private async applyForced(req: express.Request, res: express.Response): Promise<boolean> {
    const next = this.forced[0];
    if (!next) return false;
    next.times -= 1;
    if (next.times <= 0) this.forced.shift();
    res.locals.forced = true;
    if (next.streamBytes !== undefined) {
      if (next.delayMs) await this.sleep(next.delayMs);
      await streamPadded(res, next.status ?? 200, next.streamBytes);
      return true;
    }
    if (next.status === undefined) {
      if (next.delayMs) this.slowRequests.set(req, next.delayMs);
      return false;
    }
    if (next.delayMs) await this.sleep(next.delayMs);
    if (!res.headersSent && !res.destroyed) res.status(next.status).json(next.body ?? DEFAULT_BODIES[next.status] ?? { error: `HTTP ${next.status}` });
    return true;
  }

  private store(etdApp: JsonObject, headers: express.Request['headers'], apiKeyHeader: string): string {
    const digest = applicationDigest(etdApp);
    const known = this.byDigest.get(digest);
    if (known) return known;
    const appRefNumber = String(this.nextRef++);
    this.byDigest.set(digest, appRefNumber);
    this.stored.push({
      appRefNumber,
      etdApp: deepClone(etdApp),
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
