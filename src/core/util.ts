/** Small helpers every layer and adapter needs; one copy each, exported through the public core API. */
import { timingSafeEqual } from 'node:crypto';
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

/**
 * Whether two secrets (a token, a password, a CSRF value) are the same, in time that does not depend on where they
 * first differ. Only their lengths can be told apart by timing.
 */
export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
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

/**
 * The timers a server holds (delayed replies, effects that come later), cleared together when it stops: none
 * outlives the server, so a stopped sandbox never answers late and leaves the test runner no open handle.
 */
export class TimerSet {
  private readonly pending = new Set<NodeJS.Timeout>();

  /** Runs `fn` after `ms` milliseconds, unless clear() comes first. */
  after(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.pending.delete(timer);
      fn();
    }, ms);
    this.pending.add(timer);
  }

  /** Resolves after `ms` milliseconds; never, if clear() comes first (whatever waited is being shut down). */
  sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => this.after(ms, resolve));
  }

  /** How many timers are still pending. */
  get size(): number {
    return this.pending.size;
  }

  /** Cancels every pending timer. */
  clear(): void {
    for (const timer of this.pending) clearTimeout(timer);
    this.pending.clear();
  }
}

/** Closes an HTTP server and every connection it holds (kept-alive ones too), resolving once it is closed. */
export function closeHttpServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
