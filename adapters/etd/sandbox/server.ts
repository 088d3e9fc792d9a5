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
import type { AddressInfo } from 'node:net';
import express from 'express';
import { silentLogger, type Logger } from '../../../src/core/logger';
import { createAuthenticator } from '../src/auth';
import { applicationDigest } from '../src/ids';
import { createIntakeHandler, methodNotAllowed, REPLIES } from '../src/intake';
import { deepClone, type JsonObject } from '../src/json';
import { DEFAULT_API_KEY_HEADER, DEFAULT_BODY_LIMIT_BYTES, type ValidationSettings } from '../src/settings';
import { createValidator } from '../src/validator';

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
  /** The request headers that matter to the spec (the API key only as present/absent). */
  headers: { accept?: string; contentType?: string; apiKeyPresent: boolean };
}

export interface SandboxRequest {
  method: string;
  path: string;
  status: number;
  forced: boolean;
  at: string;
}

export interface ForcedReply {
  /** Answer with this status (and body) instead of processing; absent: process normally (after any delay). */
  status?: number;
  body?: unknown;
  /** Wait this long before answering (longer than the client's timeout simulates a hung peer). */
  delayMs?: number;
  /** How many requests this applies to (default 1). */
  times?: number;
}

const DEFAULT_BODIES: Record<number, unknown> = {
  500: REPLIES.internalError,
  502: { error: 'Bad Gateway' },
  503: { error: 'Service Unavailable' },
  504: { error: 'Gateway Timeout' },
};

export class EtdSandbox {
  private readonly stored: StoredApplication[] = [];
  private readonly seen: SandboxRequest[] = [];
  private readonly byDigest = new Map<string, string>();
  private readonly forced: Array<Required<Pick<ForcedReply, 'times'>> & ForcedReply> = [];
  private readonly timers = new Set<NodeJS.Timeout>();
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
      const forced = res.locals.forced === true;
      res.on('finish', () => {
        self().seen.push({ method: req.method, path: req.path, status: res.statusCode, forced: res.locals.forced === true || forced, at: new Date().toISOString() });
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
      intercept: (req, res) => self().applyForced(res),
      accept: async (etdApp, req) => self().store(etdApp, req.headers, apiKeyHeader),
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

    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(options.port ?? 0, options.host ?? '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    const address = server.address() as AddressInfo;
    const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    sandbox = new EtdSandbox(server, `http://${host}:${address.port}`, apiKey, apiKeyHeader, options.firstRefNumber ?? 12345);
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

  private async applyForced(res: express.Response): Promise<boolean> {
    const next = this.forced[0];
    if (!next) return false;
    next.times -= 1;
    if (next.times <= 0) this.forced.shift();
    res.locals.forced = true;
    if (next.delayMs) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          this.timers.delete(timer);
          resolve();
        }, next.delayMs);
        this.timers.add(timer);
      });
    }
    if (next.status === undefined) return false;
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
      headers: {
        accept: headers.accept,
        contentType: headers['content-type'],
        apiKeyPresent: typeof headers[apiKeyHeader.toLowerCase()] === 'string',
      },
    });
    return appRefNumber;
  }
}
