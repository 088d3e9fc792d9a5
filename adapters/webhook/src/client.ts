/**
 * Outbound HTTP for action `post`: one call through the core's createPeerHttp (metrics, transport faults as
 * retryable errors), with the whole exchange under one deadline and the reply body read up to maxResponseBytes.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { AxiosInstance } from 'axios';
import type { AdapterContext } from 'caseway/core';
import { PeerError, type ErrorContext } from 'caseway/core';
import { createPeerHttp } from 'caseway/core';
import { ADAPTER, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_TIMEOUT_MS, type WebhookSettings } from './settings';

export interface PeerReply {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const clients = new WeakMap<object, { key: string; http: AxiosInstance }>();

function client(ctx: AdapterContext<WebhookSettings>, url: string): AxiosInstance {
  const timeoutMs = ctx.connection.settings.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const key = JSON.stringify([url, timeoutMs]);
  const cached = clients.get(ctx);
  if (cached && cached.key === key) return cached.http;
  const http = createPeerHttp(ctx, { baseURL: url, timeoutMs, peer: ADAPTER });
  clients.set(ctx, { key, http });
  return http;
}

/** SHA-256 (first 16 hex digits) of a reply body: lets an operator match an error to the peer's logs without its text. */
export function digestOf(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex').slice(0, 16);
}

function tooLarge(limit: number, context: ErrorContext): PeerError {
  return new PeerError(`webhook: the reply is larger than maxResponseBytes (${limit}); delivery aborted`, {
    retryable: false,
    code: 'PEER_REPLY_TOO_LARGE',
    context: { ...context, maxResponseBytes: limit },
  });
}

function readLimited(stream: Readable, limit: number, context: ErrorContext): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        stream.destroy();
        reject(tooLarge(limit, context));
        return;
      }
      chunks.push(chunk);
    });
    stream.on('end', () => resolve(Buffer.concat(chunks)));
    stream.on('error', (err: Error) =>
      reject(new PeerError(`webhook: reading the reply failed: ${err.name}`, { retryable: true, code: 'PEER_UNREACHABLE', context: { ...context, transport: err.name } })),
    );
  });
}

/** Sends one request; resolves with any HTTP reply, rejects on transport faults, timeouts (retryable) and oversized replies (permanent). */
export async function send(
  ctx: AdapterContext<WebhookSettings>,
  call: { url: string; method: string; headers: Record<string, string>; body: string },
  context: ErrorContext,
): Promise<PeerReply> {
  const settings = ctx.connection.settings;
  const limit = settings.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const signal = AbortSignal.timeout(settings.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const res = await client(ctx, call.url).request<Readable>({
    url: '',
    method: call.method,
    headers: call.headers,
    data: call.body,
    responseType: 'stream',
    signal,
    maxContentLength: -1,
    decompress: true,
  });
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(res.headers)) if (value !== undefined && value !== null) headers[name.toLowerCase()] = String(value);
  const declared = Number(headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    res.data.destroy();
    throw tooLarge(limit, { ...context, status: res.status });
  }
  const onAbort = () => res.data.destroy(new Error('timeout'));
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    return { status: res.status, headers, body: await readLimited(res.data, limit, { ...context, status: res.status }) };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^[0-9]+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/** The value at an RFC 6901 JSON pointer, or undefined. */
export function atPointer(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^(0|[1-9][0-9]*)$/.test(key)) node = node[Number(key)];
    else if (typeof node === 'object' && node !== null && Object.prototype.hasOwnProperty.call(node, key)) node = (node as Record<string, unknown>)[key];
    else return undefined;
  }
  return node;
}
