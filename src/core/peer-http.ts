/**
 * An axios instance for talking to one peer: times each call, reports its status to the metrics, and turns
 * transport faults into typed errors. Adapters map 4xx bodies to their own typed errors on top of this.
 */
import axios, { AxiosError, type AxiosInstance, type AxiosRequestConfig, type AxiosResponse } from 'axios';
import type { AdapterContext } from './adapter';
import { PeerError, isRetryableStatus } from './errors';

export interface PeerHttpOptions {
  baseURL: string;
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** Peer label used in error context and metrics (defaults to the connection's adapter name). */
  peer?: string;
}

interface TimedConfig extends AxiosRequestConfig {
  metadata?: { startedAt: number; operation: string };
}

/** Operation label for metrics: method plus the path with numeric and long ids collapsed. */
export function operationLabel(method: string | undefined, url: string | undefined): string {
  const path = (url ?? '').split('?')[0].replace(/\/[^/]*\d[^/]*(?=\/|$)/g, '/:id');
  return `${(method ?? 'get').toUpperCase()} ${path}`;
}

export function createPeerHttp<S>(ctx: AdapterContext<S>, options: PeerHttpOptions): AxiosInstance {
  const peer = options.peer ?? ctx.connection.adapter;
  const client = axios.create({
    baseURL: options.baseURL,
    timeout: options.timeoutMs ?? 15000,
    headers: options.headers,
    // Callers inspect every status themselves; only transport faults reject.
    validateStatus: () => true,
    maxRedirects: 0,
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
      const config = (error as AxiosError).config as TimedConfig | undefined;
      const meta = config?.metadata;
      const code = (error as AxiosError).code ?? 'ERROR';
      if (meta) ctx.metrics.peerResponse(meta.operation, code, (Date.now() - meta.startedAt) / 1000);
      throw new PeerError(`${peer}: ${meta?.operation ?? 'request'} failed: ${code}`, {
        retryable: true,
        context: { connection: ctx.connection.name, peer, transport: code },
        code: 'PEER_UNREACHABLE',
      });
    },
  );
  return client;
}

/** A PeerError for an unexpected HTTP status; retryable for 408/429/5xx. The body is not included. */
export function unexpectedStatus<S>(ctx: AdapterContext<S>, operation: string, status: number, extra?: Record<string, unknown>): PeerError {
  return new PeerError(`${ctx.connection.adapter}: ${operation} answered HTTP ${status}`, {
    retryable: isRetryableStatus(status),
    status,
    context: { connection: ctx.connection.name, peer: ctx.connection.adapter, ...extra },
  });
}
