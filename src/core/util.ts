/** Small helpers every layer and adapter needs; one copy each, exported through the public core API. */
import { createServer, type RequestListener, type Server } from 'node:http';
import { isIPv6 } from 'node:net';

/** A plain object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Resolves after `ms` milliseconds (for backoff between attempts; tests wait for conditions instead). */
export function sleep(ms: number): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, ms));
}

/** "::ffff:127.0.0.1" (an IPv4 peer on a dual-stack socket) -> "127.0.0.1"; other addresses trimmed, lower case. */
export function normaliseIp(address: string | undefined): string {
  const trimmed = (address ?? '').trim().toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(trimmed);
  return mapped ? mapped[1] : trimmed;
}

/**
 * Listens with `handler` (an express app, say) on host:port (0 = any free port) and resolves once bound, with the
 * server and its base URL (an IPv6 host in brackets). For sandboxes and the hub's own port alike.
 */
export async function serveHttp(handler: RequestListener, port = 0, host = '127.0.0.1'): Promise<{ server: Server; url: string; port: number }> {
  const server = createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const bound = typeof address === 'object' && address ? address.port : port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : isIPv6(host) ? `[${host}]` : host;
  return { server, url: `http://${shown}:${bound}`, port: bound };
}
