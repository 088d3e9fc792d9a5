/**
 * A small fault-injecting HTTP proxy for the fault suite and the benchmark: it sits in front of one peer and, per
 * request, forwards it unchanged or fails it on purpose:
 *   - before: answers 503 (or the rule's status, with its Retry-After) without forwarding (the peer never saw it);
 *   - after:  forwards, lets the peer act, then destroys the caller's socket (the reply is lost);
 *   - hold:   forwards, lets the peer act, then holds the reply `holdMs` (longer than the caller's timeout: a slow
 *             peer that acted although the caller gave up);
 *   - delay:  waits before forwarding, or holds the peer's reply (the peer has acted, the caller still waits);
 *   - down:   refuses connections (and resets requests on open ones) for a while; requests already at the peer finish.
 * Every request is recorded with what the peer answered, so the caller can count at the peer what it did: how many
 * times it acted (2xx) per application token, per iCasework case, per note.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeHttpServer, TimerSet } from '../../src/core/util';

/** One way of failing; rules are tried in order and the first that fires decides. */
export interface FaultRule {
  /** Only requests whose operation (last path segment, lower case) is this one; absent: every operation. */
  op?: string;
  kind: 'before' | 'after' | 'hold';
  /** before: the status answered (default 503). */
  status?: number;
  /** before: a Retry-After header (seconds) on that answer. */
  retryAfterSeconds?: number;
  /** hold: how long the peer's reply is held back, ms. */
  holdMs?: number;
  /** Chance that the rule fires for a matching request (default 1). */
  probability?: number;
  /** Fires at most this many times (default unlimited). */
  times?: number;
}

export interface FaultPlan {
  rules: FaultRule[];
  /** Delay before forwarding every request, ms. */
  delayMs?: number;
  /** Hold every reply this long after the peer answered (the peer has acted; the caller is still waiting), ms. */
  replyDelayMs?: number;
  /** Seed of the pseudo-random choice, so a run can be repeated. */
  seed?: number;
}

/** What happened to one request. */
export interface ProxyRecord {
  op: string;
  /** The application token found in the request (see TOKEN_PATTERN), if any. */
  token?: string;
  idempotencyKey?: string;
  /** Standard Webhooks: the webhook-id header of the request. */
  webhookId?: string;
  /** iCasework: CaseId parameter of the request, or the caseid the peer answered to createcase. */
  caseId?: string;
  /** addcasenotes: a fingerprint of the note (case + text + type). */
  note?: string;
  forwarded: boolean;
  /** Status the peer answered (0 when not forwarded or the peer did not answer). */
  status: number;
  replyLost: boolean;
  /** The reply was held back by a "hold" rule (the caller may have given up meanwhile). */
  held?: boolean;
  /** When the peer's answer arrived (ms since the epoch). */
  at?: number;
}

/** Application tokens: "Tk" and eight lower-case letters, placed in the applicant's surname by the load generator. */
export const TOKEN_PATTERN = /Tk[a-z]{8}/;

/** Eight lower-case letters for a number: unique tokens that pass any name validation. */
export function tokenOf(run: number, n: number): string {
  let v = run * 1_000_000 + n;
  let s = '';
  for (let i = 0; i < 8; i++) {
    s = String.fromCharCode(97 + (v % 26)) + s;
    v = Math.floor(v / 26);
  }
  return `Tk${s}`;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function paramsOf(url: URL, body: string, contentType: string | undefined): URLSearchParams {
  const params = new URLSearchParams(url.search);
  if (contentType?.includes('application/x-www-form-urlencoded')) for (const [k, v] of new URLSearchParams(body)) params.append(k, v);
  return params;
}

function hash(text: string): string {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
  return h.toString(36);
}

/**
 * The record of one request as it arrived, from what the caller sent (URL, body text, headers): op, token,
 * idempotencyKey, webhookId, caseId (CaseId parameter) and the note's fingerprint; not yet forwarded, no reply.
 */
function requestRecord(url: URL, body: string, headers: IncomingHttpHeaders): ProxyRecord {
  const params = paramsOf(url, body, headers['content-type']);
  return recordOf(url, headers, body.match(TOKEN_PATTERN)?.[0], (name) => params.get(name));
}

/**
 * The same from its parts, for a caller that has the body parsed (the direct recorder, peer-recorder.ts): the token
 * found in the body, if any, and the request's parameters (query, then form body; the first value of a repeated one,
 * null when absent, as URLSearchParams.get answers).
 */
export function recordOf(url: URL, headers: IncomingHttpHeaders, bodyToken: string | undefined, param: (name: string) => string | null): ProxyRecord {
  const op = (url.pathname.split('/').filter(Boolean).pop() ?? '').toLowerCase();
  const header = headers['idempotency-key'];
  const webhookId = headers['webhook-id'];
  return {
    op,
    token: bodyToken ?? url.search.match(TOKEN_PATTERN)?.[0],
    idempotencyKey: typeof header === 'string' ? header : undefined,
    webhookId: typeof webhookId === 'string' ? webhookId : undefined,
    caseId: param('CaseId') ?? undefined,
    note: op === 'addcasenotes' ? hash(`${param('CaseId') ?? param('ExternalId')}|${param('Type')}|${param('Notes')}`) : undefined,
    forwarded: false,
    status: 0,
    replyLost: false,
  };
}

/** Operations whose record takes something from the peer's reply body (see replyCaseId). */
export const READS_REPLY = new Set(['createcase']);

/** createcase: the caseid the peer answered (XML or JSON reply). */
export function replyCaseId(reply: string): string | undefined {
  return reply.match(/caseid"?\s*[:>]\s*"?([A-Za-z0-9-]+)/i)?.[1];
}

function readAll(stream: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', reject);
  });
}

export class FaultProxy {
  readonly records: ProxyRecord[] = [];
  private plan: FaultPlan = { rules: [] };
  private fired = new Map<FaultRule, number>();
  private random: () => number = mulberry32(1);
  private server?: http.Server;
  private port = 0;
  private downTimer?: NodeJS.Timeout;
  /** Pending delays and holds: stop() clears them, so a stopped proxy leaves nothing that keeps the process alive. */
  private readonly timers = new TimerSet();
  private refusing = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

  constructor(private readonly upstream: string) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  setPlan(plan: FaultPlan): void {
    this.plan = plan;
    this.fired = new Map();
    this.random = mulberry32(plan.seed ?? 1);
  }

  async start(port = 0): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  /**
   * The peer goes down for `ms`: new connections are refused and requests arriving on open keep-alive connections are
   * reset before they reach the peer; requests already at the peer finish and get their reply (a lost reply is its own
   * fault, "after"). Then it listens again on the same port.
   */
  async down(ms: number): Promise<void> {
    this.refusing = true;
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.close();
      server.closeIdleConnections();
    }
    clearTimeout(this.downTimer);
    this.downTimer = setTimeout(() => {
      this.refusing = false;
      void this.start(this.port);
    }, ms);
  }

  async stop(): Promise<void> {
    clearTimeout(this.downTimer);
    // A request still held or delayed is never answered (its connection is closed below).
    this.timers.clear();
    await this.close();
    this.agent.destroy();
  }

  private close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return Promise.resolve();
    return closeHttpServer(server);
  }

  private decide(op: string): FaultRule | undefined {
    for (const rule of this.plan.rules) {
      if (rule.op && rule.op !== op) continue;
      const fired = this.fired.get(rule) ?? 0;
      if (rule.times !== undefined && fired >= rule.times) continue;
      if (this.random() >= (rule.probability ?? 1)) continue;
      this.fired.set(rule, fired + 1);
      return rule;
    }
    return undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    let body: Buffer;
    try {
      body = await readAll(req);
    } catch {
      return;
    }
    const record = requestRecord(url, body.toString('utf8'), req.headers);
    const op = record.op;
    this.records.push(record);
    if (this.refusing) {
      req.socket.destroy();
      return;
    }
    const rule = this.decide(op);
    if (rule?.kind === 'before') {
      const headers: Record<string, string> = { 'content-type': 'text/plain', connection: 'close' };
      if (rule.retryAfterSeconds !== undefined) headers['retry-after'] = String(rule.retryAfterSeconds);
      res.writeHead(rule.status ?? 503, headers).end('fault proxy: failed before forwarding');
      return;
    }
    if (this.plan.delayMs) await this.timers.sleep(this.plan.delayMs);
    const target = new URL(req.url ?? '/', this.upstream);
    const upstream = http.request(target, { method: req.method, headers: req.headers, agent: this.agent });
    record.forwarded = true;
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' }).end('fault proxy: peer unreachable');
    });
    upstream.on('response', (reply) => {
      void readAll(reply).then(
        async (replyBody) => {
          record.status = reply.statusCode ?? 0;
          record.at = Date.now();
          if (READS_REPLY.has(op)) record.caseId = replyCaseId(replyBody.toString('utf8'));
          if (this.plan.replyDelayMs) await this.timers.sleep(this.plan.replyDelayMs);
          if (rule?.kind === 'hold') {
            record.held = true;
            await this.timers.sleep(rule.holdMs ?? 0);
          }
          if (rule?.kind === 'after') {
            record.replyLost = true;
            req.socket.destroy();
            return;
          }
          const headers = { ...reply.headers };
          delete headers['transfer-encoding'];
          headers['content-length'] = String(replyBody.length);
          if (res.destroyed) return;
          res.writeHead(reply.statusCode ?? 502, headers).end(replyBody);
        },
        () => res.destroy(),
      );
    });
    upstream.end(body);
  }
}
