/**
 * A sandbox "any system" on loopback, written from the Standard Webhooks specification with its reference library:
 *
 * - Receiver, POST /receive: verifies webhook-signature with `standardwebhooks` (5-minute tolerance, as the
 *   library has it), refuses a bad one with 401, and deduplicates on webhook-id as the specification asks a receiver
 *   to: a message id seen before is answered 200 again with the same id and not stored twice. Every arrival is
 *   counted per webhook-id. Replies {"id": "ANY-<n>"}.
 * - Sender, POST /_sandbox/send {url, body, webhookId?, timestamp?, tamper?}: signs `body` with its own secret and
 *   posts it to `url` (the hub's POST /webhooks/<connection>); answers with the status and body it got.
 * - Control: GET /_sandbox/deliveries, GET /_sandbox/requests, POST /_sandbox/fail-next {status, body, headers,
 *   delayMs, bodyBytes, times}, POST /_sandbox/reset.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import express from 'express';
import { Webhook } from 'standardwebhooks';
import { closeHttpServer, serveHttp, silentLogger, TimerSet, type Logger } from 'caseway/core';

export interface WebhookSandboxOptions {
  host?: string;
  port?: number;
  /** The secret deliveries to /receive must be signed with; absent: one is made up. */
  receiverSecret?: string;
  /** The secret the sender signs with; absent: one is made up. */
  senderSecret?: string;
  /** Largest body /receive reads (default 10 MB). */
  bodyLimitBytes?: number;
  log?: Logger;
}

export interface ReceivedDelivery {
  webhookId: string;
  /** The id this receiver gave the message (the same on every repeat). */
  id: string;
  /** How many times a message with this webhook-id arrived with a valid signature. */
  count: number;
  /** webhook-timestamp of each arrival, in order. */
  timestamps: number[];
  body: unknown;
  contentType: string;
  receivedAt: string;
}

export interface SandboxRequest {
  method: string;
  path: string;
  status: number;
  webhookId?: string;
  verified: boolean;
  forced: boolean;
  at: string;
}

export interface ForcedReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait before answering. */
  delayMs?: number;
  /** Answer with a body of this many bytes (a reply too large for the client). */
  bodyBytes?: number;
  times?: number;
}

export interface SendRequest {
  url: string;
  body: unknown;
  webhookId?: string;
  /** Unix seconds to sign with (default now): an old one shows the receiver's tolerance window. */
  timestamp?: number;
  /** Change the body after signing (the receiver must refuse it). */
  tamper?: boolean;
  contentType?: string;
}

export function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export class WebhookSandbox {
  private readonly received = new Map<string, ReceivedDelivery>();
  private readonly seen: SandboxRequest[] = [];
  private readonly forced: Array<ForcedReply & { times: number }> = [];
  private readonly timers = new TimerSet();

  private constructor(
    private readonly server: Server,
    readonly url: string,
    readonly receiverSecret: string,
    readonly senderSecret: string,
  ) {}

  static async start(options: WebhookSandboxOptions = {}): Promise<WebhookSandbox> {
    const log = options.log ?? silentLogger();
    const receiverSecret = options.receiverSecret ?? newSecret();
    const senderSecret = options.senderSecret ?? newSecret();
    const verifier = new Webhook(receiverSecret);
    const app = express();
    app.disable('x-powered-by');
    let sandbox: WebhookSandbox | undefined;
    const self = (): WebhookSandbox => sandbox as WebhookSandbox;

    app.post('/receive', express.raw({ type: () => true, limit: options.bodyLimitBytes ?? 10 * 1024 * 1024 }), async (req, res) => {
      const raw = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
      const webhookId = typeof req.headers['webhook-id'] === 'string' ? req.headers['webhook-id'] : undefined;
      const note = (status: number, verified: boolean, forced: boolean) =>
        self().seen.push({ method: req.method, path: req.path, status, webhookId, verified, forced, at: new Date().toISOString() });
      let body: unknown;
      try {
        const headers: Record<string, string> = {};
        for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers[name] = value;
        body = verifier.verify(raw, headers);
      } catch (err) {
        log.warn({ webhookId, reason: err instanceof Error ? err.message : 'invalid' }, 'webhook sandbox: signature refused');
        note(401, false, false);
        res.status(401).json({ error: 'invalid signature' });
        return;
      }
      const forced = self().takeForced();
      if (forced) {
        if (forced.delayMs) await self().timers.sleep(forced.delayMs);
        note(forced.status, true, true);
        if (res.destroyed) return;
        for (const [name, value] of Object.entries(forced.headers ?? {})) res.setHeader(name, value);
        if (forced.bodyBytes) {
          // Chunked, without Content-Length: the client has to count the bytes as they come.
          res.on('error', () => undefined);
          res.status(forced.status).type('application/json');
          res.write('{"pad":"');
          for (let left = Math.max(0, forced.bodyBytes - 10); left > 0 && !res.destroyed; left -= 16384) res.write('x'.repeat(Math.min(left, 16384)));
          res.end('"}');
        }
        else res.status(forced.status).json(forced.body ?? { error: `HTTP ${forced.status}` });
        return;
      }
      const id = self().record(webhookId ?? '', Number(req.headers['webhook-timestamp']), body, String(req.headers['content-type'] ?? ''));
      note(200, true, false);
      res.status(200).json({ id });
    });

    app.post('/_sandbox/send', express.json({ limit: '10mb' }), async (req, res) => {
      const send = (req.body ?? {}) as SendRequest;
      if (typeof send.url !== 'string' || !/^https?:\/\//.test(send.url)) {
        res.status(400).json({ error: 'url (http or https) is required' });
        return;
      }
      const webhookId = send.webhookId ?? `msg_${randomBytes(12).toString('hex')}`;
      const text = JSON.stringify(send.body ?? {});
      const at = send.timestamp !== undefined ? new Date(send.timestamp * 1000) : new Date();
      const signature = new Webhook(self().senderSecret).sign(webhookId, at, text);
      const sent = send.tamper ? text.replace(/.$/, ' }') : text;
      try {
        const reply = await fetch(send.url, {
          method: 'POST',
          headers: {
            'Content-Type': send.contentType ?? 'application/json',
            'webhook-id': webhookId,
            'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
            'webhook-signature': signature,
          },
          body: sent,
        });
        const replyText = await reply.text();
        let replyBody: unknown = replyText;
        try {
          replyBody = JSON.parse(replyText);
        } catch {
          // not JSON: give the text back
        }
        res.json({ webhookId, status: reply.status, contentType: reply.headers.get('content-type'), body: replyBody });
      } catch (err) {
        res.status(502).json({ webhookId, error: err instanceof Error ? err.message : 'send failed' });
      }
    });

    app.get('/_sandbox/deliveries', (_req, res) => {
      res.json(self().deliveries());
    });
    app.get('/_sandbox/requests', (_req, res) => {
      res.json(self().requests());
    });
    app.post('/_sandbox/fail-next', express.json(), (req, res) => {
      const reply = (req.body ?? {}) as ForcedReply;
      if (typeof reply.status !== 'number') {
        res.status(400).json({ error: 'status is required' });
        return;
      }
      self().failNext(reply);
      res.status(204).end();
    });
    app.post('/_sandbox/reset', (_req, res) => {
      self().reset();
      res.status(204).end();
    });

    const { server, url } = await serveHttp(app, options.port ?? 0, options.host ?? '127.0.0.1');
    sandbox = new WebhookSandbox(server, url, receiverSecret, senderSecret);
    log.info({ url: sandbox.url }, 'webhook sandbox: receiver and sender listening');
    return sandbox;
  }

  /** Connection settings that reach this sandbox: its receiver as the url, and the secrets of both directions. */
  connectionSettings(): { url: string; secret: string; inbound: { secrets: string[] } } {
    return { url: `${this.url}/receive`, secret: this.receiverSecret, inbound: { secrets: [this.senderSecret] } };
  }

  /** One entry per webhook-id, oldest first. */
  deliveries(): ReceivedDelivery[] {
    return [...this.received.values()].map((d) => ({ ...d, timestamps: [...d.timestamps] }));
  }

  requests(): SandboxRequest[] {
    return this.seen.map((r) => ({ ...r }));
  }

  /** Forces the next verified reply (or the next `times`) on /receive. Calls queue up in order. */
  failNext(reply: ForcedReply): void {
    this.forced.push({ ...reply, times: reply.times ?? 1 });
  }

  reset(): void {
    this.received.clear();
    this.seen.length = 0;
    this.forced.length = 0;
  }

  async stop(): Promise<void> {
    this.timers.clear();
    await closeHttpServer(this.server);
  }

  private takeForced(): ForcedReply | undefined {
    const next = this.forced[0];
    if (!next) return undefined;
    next.times -= 1;
    if (next.times <= 0) this.forced.shift();
    return next;
  }

  private record(webhookId: string, timestamp: number, body: unknown, contentType: string): string {
    const known = this.received.get(webhookId);
    if (known) {
      known.count += 1;
      known.timestamps.push(timestamp);
      return known.id;
    }
    const id = `ANY-${this.received.size + 1}`;
    this.received.set(webhookId, { webhookId, id, count: 1, timestamps: [timestamp], body, contentType, receivedAt: new Date().toISOString() });
    return id;
  }
}
