/**
 * An axios instance for talking to one peer: times each call, reports its status to the metrics, and turns
 * transport faults into typed errors. Adapters map 4xx bodies to their own typed errors on top of this.
 *
 * Every client of one connection shares one pair of keep-alive agents (so calls reuse TCP/TLS connections), and
 * every reply is bounded: a body over maxResponseBytes is aborted while it streams in (never buffered whole) and
 * fails permanently as REPLY_TOO_LARGE. A write that fails after it may have reached the peer (timeout, reset,
 * 5xx) carries context.outcome = 'uncertain', so the delivery worker can record that the peer may have acted.
 */
import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { AdapterContext } from './adapter';
import { CasewayError, PeerError, isRetryableStatus } from './errors';

/** Default bound on one peer reply: 10 MB. */
export const DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024;

export interface PeerHttpOptions {
  baseURL: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Peer label used in error context and metrics (defaults to the connection's adapter name). */
  peer?: string;
  /** Largest reply body accepted, in bytes (default DEFAULT_MAX_RESPONSE_BYTES); larger replies are aborted. */
  maxResponseBytes?: number;
}

interface TimedConfig extends AxiosRequestConfig {
  metadata?: { startedAt: number; operation: string };
  /** Set once a read that failed on a stale kept-alive socket has been sent again. */
  staleSocketRetried?: boolean;
}

/** Methods sent again after a stale kept-alive socket failed them: reads, which cannot change the peer. */
const IDEMPOTENT_READS = new Set(['get', 'head', 'options']);

/** What a failed call means for a write: the peer certainly did not get it, or it may have acted. */
export type CallOutcome = 'not-sent' | 'uncertain';

/** Transport faults raised before a request could reach the peer. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ERR_INVALID_URL', 'ERR_BAD_OPTION', 'ERR_BAD_OPTION_VALUE']);
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The outcome of a write that failed with a transport fault of this code (undefined for reads). */
export function transportOutcome(method: string | undefined, code: string): CallOutcome | undefined {
  if (READ_METHODS.has((method ?? 'get').toUpperCase())) return undefined;
  return NOT_SENT_CODES.has(code) ? 'not-sent' : 'uncertain';
}

/** A 5xx answer to a write: the peer may have done the work before failing. */
export function statusOutcome(status: number): CallOutcome | undefined {
  return status >= 500 ? 'uncertain' : undefined;
}

/** Marks an error as having an uncertain outcome (the peer may have acted); returns it. */
export function markUncertain<E extends CasewayError>(err: E): E {
  err.context.outcome = 'uncertain';
  return err;
}

/** Operation label for metrics: method plus the path with numeric and long ids collapsed. */
export function operationLabel(method: string | undefined, url: string | undefined): string {
  const path = (url ?? '').split('?')[0].replace(/\/[^/]*\d[^/]*(?=\/|$)/g, '/:id');
  return `${(method ?? 'get').toUpperCase()} ${path}`;
}

interface Agents {
  http: http.Agent;
  https: https.Agent;
}

/** The TCP keep-alive delay axios (1.x, its http adapter) sets on every request's socket. */
export const AXIOS_KEEPALIVE_MS = 60_000;

/**
 * How long a kept-alive peer socket may sit idle in the pool before the hub closes it: 4 s (agentkeepalive's
 * `freeSocketTimeout`), under the idle timeouts servers commonly keep (Node and Apache 5 s, load balancers 60 s, nginx
 * 75 s). A request sent on a socket the peer is closing meets a reset, and for a write that is an uncertain outcome:
 * a retry that must look the case up, or, at a peer with no look-up, send it again under the same Idempotency-Key.
 * Node honours a peer's `Keep-Alive: timeout=N` (closing at N - 1 s) only when the agent has a timeout of its own; a
 * request in flight is bounded by the call's own timeout, not by this.
 */
export const IDLE_PEER_SOCKET_MS = 4_000;

/** One pair of keep-alive agents per connection context, shared by every client of that connection. */
const agentsByContext = new WeakMap<object, Agents>();

function agentsFor<S>(ctx: AdapterContext<S>): Agents {
  let agents = agentsByContext.get(ctx);
  if (!agents) {
    // Idle sockets are unref'd by Node, so a kept-alive connection never holds a process open. TCP keep-alive probes
    // after 60 s, as axios sets them on every request: with the agent's default (1 s) the two disagreed, and each
    // request cost two setsockopt system calls (axios on handing out the socket, the agent on taking it back); Node
    // skips the call when the value does not change.
    const options = { keepAlive: true, keepAliveMsecs: AXIOS_KEEPALIVE_MS, scheduling: 'lifo' as const, timeout: IDLE_PEER_SOCKET_MS };
    agents = { http: new http.Agent(options), https: new https.Agent(options) };
    agentsByContext.set(ctx, agents);
  }
  return agents;
}

/** Closes the connection's kept-alive sockets (an adapter's close() calls this). */
export function closePeerHttp<S>(ctx: AdapterContext<S>): void {
  const agents = agentsByContext.get(ctx);
  if (!agents) return;
  agents.http.destroy();
  agents.https.destroy();
  agentsByContext.delete(ctx);
}

function isTooLarge(error: AxiosError): boolean {
  return error.code === AxiosError.ERR_BAD_RESPONSE && /^maxContentLength size of \d+ exceeded/.test(error.message);
}

export function createPeerHttp<S>(ctx: AdapterContext<S>, options: PeerHttpOptions): AxiosInstance {
  const peer = options.peer ?? ctx.connection.adapter;
  const maxResponseBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const agents = agentsFor(ctx);
  const client = axios.create({
    baseURL: options.baseURL,
    timeout: options.timeoutMs ?? 15000,
    headers: options.headers,
    // Callers inspect every status themselves; only transport faults reject.
    validateStatus: () => true,
    maxRedirects: 0,
    // axios counts the (decompressed) bytes as they arrive and destroys the stream once over the limit.
    maxContentLength: maxResponseBytes,
    httpAgent: agents.http,
    httpsAgent: agents.https,
  });
  client.interceptors.request.use((config) => {
    (config as TimedConfig).metadata = { startedAt: Date.now(), operation: operationLabel(config.method, config.url) };
    return config;
  });
  client.interceptors.response.use(
    (response: AxiosResponse) => {
      const meta = (response.config as TimedConfig).metadata;
      if (meta) ctx.metrics.peerResponse(meta.operation, response.status, (Date.now() - meta.startedAt) / 1000);
      return response;
    },
    (error: unknown) => {
      const axiosError = error instanceof AxiosError ? error : undefined;
      const config = axiosError?.config as TimedConfig | undefined;
      // A kept-alive socket the peer closed while it sat in the pool fails the next request sent on it (ECONNRESET
      // on a reused socket; the peer never saw that request). A read is sent again once, on a fresh socket, as
      // Node's documentation advises; a write is left to the caller, which knows whether it may repeat it.
      const reused = (axiosError?.request as { reusedSocket?: boolean } | undefined)?.reusedSocket === true;
      if (config && reused && axiosError?.code === 'ECONNRESET' && IDEMPOTENT_READS.has((config.method ?? 'get').toLowerCase()) && !config.staleSocketRetried) {
        config.staleSocketRetried = true;
        return client.request(config);
      }
      const meta = config?.metadata;
      const operation = meta?.operation ?? 'request';
      if (axiosError && isTooLarge(axiosError)) {
        if (meta) ctx.metrics.peerResponse(meta.operation, 'REPLY_TOO_LARGE', (Date.now() - meta.startedAt) / 1000);
        // Permanent: the same request would stream the same oversized reply again on every attempt.
        throw new PeerError(`${peer}: ${operation} reply too large (over ${maxResponseBytes} bytes)`, {
          retryable: false,
          code: 'REPLY_TOO_LARGE',
          context: { connection: ctx.connection.name, peer, maxResponseBytes, ...(transportOutcome(config?.method, 'REPLY_TOO_LARGE') ? { outcome: 'uncertain' } : {}) },
        });
      }
      const code = axiosError?.code ?? 'ERROR';
      if (meta) ctx.metrics.peerResponse(meta.operation, code, (Date.now() - meta.startedAt) / 1000);
      const outcome = transportOutcome(config?.method, code);
      throw new PeerError(`${peer}: ${operation} failed: ${code}`, {
        retryable: true,
        context: { connection: ctx.connection.name, peer, transport: code, ...(outcome ? { outcome } : {}) },
        code: 'PEER_UNREACHABLE',
      });
    },
  );
  return client;
}

/**
 * A PeerError for an unexpected HTTP status; retryable for 408/429/5xx. The body is not included. Pass
 * `write: true` for a call that changes the peer: a 5xx answer to it is then marked outcome 'uncertain'.
 */
export function unexpectedStatus<S>(ctx: AdapterContext<S>, operation: string, status: number, extra?: Record<string, unknown>, write = false): PeerError {
  const outcome = write ? statusOutcome(status) : undefined;
  return new PeerError(`${ctx.connection.adapter}: ${operation} answered HTTP ${status}`, {
    retryable: isRetryableStatus(status),
    status,
    context: { connection: ctx.connection.name, peer: ctx.connection.adapter, ...extra, ...(outcome ? { outcome } : {}) },
  });
}
