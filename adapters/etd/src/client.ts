/** Outbound: POST {baseUrl}/application to an IIZUKA Case Manager, with the spec's headers plus configured ones. */
import type { AxiosInstance } from 'axios';
import type { AdapterContext } from 'caseway/core';
import { PermanentError } from 'caseway/core';
import { createPeerHttp } from 'caseway/core';
import type { JsonObject } from './json';
import { DEFAULT_API_KEY_HEADER, DEFAULT_TIMEOUT_MS, type EtdSettings } from './settings';

export const APPLICATION_PATH = '/application';
export const OPERATION = `POST ${APPLICATION_PATH}`;

export interface PeerReply {
  status: number;
  /** The parsed JSON body, or undefined when the body was empty or not JSON. */
  body: unknown;
}

const clients = new WeakMap<object, { key: string; http: AxiosInstance }>();

export function outboundHeaders(settings: EtdSettings): Record<string, string> {
  const headers: Record<string, string> = {
    ...settings.headers,
    Accept: 'application/json',
    'Content-Type': 'application/json; charset=utf-8',
  };
  if (settings.apiKey) headers[settings.apiKeyHeader ?? DEFAULT_API_KEY_HEADER] = settings.apiKey;
  return headers;
}

function client(ctx: AdapterContext<EtdSettings>): AxiosInstance {
  const settings = ctx.connection.settings;
  if (!settings.baseUrl) {
    throw new PermanentError('etd: the connection has no baseUrl, so it cannot submit applications', { connection: ctx.connection.name, peer: 'etd' });
  }
  const key = JSON.stringify([settings.baseUrl, settings.timeoutMs, settings.maxResponseBytes, outboundHeaders(settings)]);
  const cached = clients.get(ctx);
  if (cached && cached.key === key) return cached.http;
  const http = createPeerHttp(ctx, {
    baseURL: settings.baseUrl.replace(/\/+$/, ''),
    timeoutMs: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    headers: outboundHeaders(settings),
    peer: 'etd',
    maxResponseBytes: settings.maxResponseBytes,
  });
  clients.set(ctx, { key, http });
  return http;
}

function parseJson(text: unknown): unknown {
  if (typeof text !== 'string' || text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The Idempotency-Key header value (draft-ietf-httpapi-idempotency-key-header): an RFC 8941 sf-string, so quoted.
 * Only printable ASCII without quote or backslash is sent as it is; anything else is refused (a bug upstream).
 */
export function idempotencyKeyHeader(key: string): string {
  if (!/^[\x20-\x21\x23-\x5b\x5d-\x7e]{1,255}$/.test(key)) throw new PermanentError('etd: the delivery id cannot be sent as an Idempotency-Key', { peer: 'etd' });
  return `"${key}"`;
}

/**
 * Posts {"etdApp": ...}; resolves with any HTTP reply, rejects (retryable PeerError) on transport faults and timeouts.
 * With an idempotency key (the delivery id, the same on every attempt) the call carries an Idempotency-Key header,
 * so a case manager that honours it files a retried application once.
 */
export async function postApplication(ctx: AdapterContext<EtdSettings>, etdApp: JsonObject, idempotencyKey?: string): Promise<PeerReply> {
  const res = await client(ctx).post<string>(APPLICATION_PATH, JSON.stringify({ etdApp }), {
    responseType: 'text',
    transformResponse: [(data: unknown) => data],
    ...(idempotencyKey === undefined ? {} : { headers: { 'Idempotency-Key': idempotencyKeyHeader(idempotencyKey) } }),
  });
  return { status: res.status, body: parseJson(res.data) };
}

/** Any HTTP answer at all means the case manager is reachable; transport faults throw. */
export async function probe(ctx: AdapterContext<EtdSettings>): Promise<number> {
  const res = await client(ctx).get(APPLICATION_PATH, { responseType: 'text', transformResponse: [(data: unknown) => data] });
  return res.status;
}
