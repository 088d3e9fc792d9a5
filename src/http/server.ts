/**
 * The HTTP side of a running hub, composed from outside the core: take the port, start the hub on it, mount the app.
 * The port comes first, so a second start on a taken port stops before it touches Redis (or a running hub's state).
 */
import { Hub, type HubListener, type HubOptions, type RequestHandler } from '../core/hub';
import { serveHttp } from '../core/util';
import { createHttpApp } from './app';
import type { HttpPlugin } from './plugin';

/**
 * How long an idle keep-alive connection stays open: longer than a load balancer keeps its idle connections (60 s is
 * the common default) and than any Retry-After the hub sends (5 s). Node's default, 5 s, closes a connection just as a
 * client that waited Retry-After reuses it: the request meets a closed socket (ECONNRESET) instead of an answer.
 */
export const KEEP_ALIVE_TIMEOUT_MS = 65_000;

/** Listens on host:port (0 = any free port); answers 503 (Retry-After: 1) until `serve` hands it a handler. */
export async function listenHttp(port: number, host = '0.0.0.0'): Promise<HubListener> {
  let handler: RequestHandler = (_req, res) => {
    res.statusCode = 503;
    res.setHeader('Retry-After', '1');
    res.end();
  };
  const { server, url, port: bound } = await serveHttp((req, res) => handler(req, res), port, host);
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  // Must exceed keepAliveTimeout, or a kept-alive connection is cut while waiting for its next request's headers.
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  let closing: Promise<void> | undefined;
  return {
    url,
    port: bound,
    serve: (next) => {
      handler = next;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      return closing;
    },
    closeAllConnections: () => server.closeAllConnections(),
  };
}

export interface HubHttpOptions {
  port: number;
  host?: string;
  plugins?: HttpPlugin[];
}

/** Takes the port, then starts the hub on it with the API (a worker-only hub serves probes and the plugins). */
export async function startHubWithHttp(options: Omit<HubOptions, 'listener' | 'api'>, http: HubHttpOptions): Promise<Hub> {
  const listener = await listenHttp(http.port, http.host);
  const hub = new Hub({ ...options, listener, api: (running) => createHttpApp(running, http.plugins ?? [], { api: options.roles.api }) });
  return hub.start();
}
