/**
 * Kept-alive peer sockets: reused across calls, and their TCP keep-alive set once, not twice per request (axios sets
 * 60 s on every request's socket; an agent with another delay set it back on every return to the pool, each a
 * setsockopt system call). Real HTTP server on loopback; the socket's native handle is counted, not replaced.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { createLogger } from '../../src/core/logger';
import { closePeerHttp, createPeerHttp, IDLE_PEER_SOCKET_MS } from '../../src/core/peer-http';
import type { AdapterContext } from '../../src/core/adapter';
import { noopPeerMetrics } from '../../src/core/context';

interface CountedHandle {
  setKeepAlive: (...args: unknown[]) => unknown;
}

describe('peer HTTP keep-alive', () => {
  let server: http.Server;
  let url: string;
  const ctx = {
    connection: { name: 'peer', adapter: 'test', settings: {}, configDir: '.' },
    log: createLogger({ level: 'silent' }),
    metrics: noopPeerMetrics,
  } as unknown as AdapterContext<Record<string, never>>;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    closePeerHttp(ctx);
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('reuses one socket for sequential calls and sets its keep-alive only when it is new', async () => {
    const client = createPeerHttp(ctx, { baseURL: url });
    const first = await client.get('/one');
    expect(first.status).toBe(200);
    const socket = (first.request as { socket: Socket }).socket;
    const handle = (socket as unknown as { _handle: CountedHandle })._handle;
    const native = handle.setKeepAlive.bind(handle);
    let calls = 0;
    handle.setKeepAlive = (...args: unknown[]) => {
      calls += 1;
      return native(...args);
    };
    for (let i = 0; i < 5; i++) {
      const res = await client.post('/cases', { i });
      expect(res.status).toBe(200);
      expect((res.request as { socket: Socket }).socket).toBe(socket);
    }
    expect(calls).toBe(0);
  });

  it('sends a read again once when the peer closed its kept-alive socket, and never a write', async () => {
    // A peer that drops every connection on its second request, unanswered: the request a client sends on a socket
    // the peer has just closed (the keep-alive race) meets the same end.
    const seen = new Map<Socket, number>();
    const arrivals: string[] = [];
    const dropping = http.createServer((req, res) => {
      const n = (seen.get(req.socket) ?? 0) + 1;
      seen.set(req.socket, n);
      arrivals.push(`${req.method} ${req.url} #${n}`);
      if (n > 1) {
        req.socket.destroy();
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    dropping.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve) => dropping.listen(0, '127.0.0.1', resolve));
    const peerCtx = { ...ctx, connection: { ...ctx.connection, name: 'dropping-peer' } } as AdapterContext<Record<string, never>>;
    try {
      const client = createPeerHttp(peerCtx, { baseURL: `http://127.0.0.1:${(dropping.address() as AddressInfo).port}` });
      expect((await client.get('/first')).status).toBe(200);
      // Reused socket dropped: the read goes again on a new socket and succeeds.
      expect((await client.get('/second')).status).toBe(200);
      expect(arrivals).toEqual(['GET /first #1', 'GET /second #2', 'GET /second #1']);
      // The same for a write: it fails (the caller decides whether it may be repeated), and is not sent twice.
      arrivals.length = 0;
      await expect(client.post('/cases', { a: 1 })).rejects.toMatchObject({ code: 'PEER_UNREACHABLE' });
      expect(arrivals).toEqual(['POST /cases #2']);
    } finally {
      closePeerHttp(peerCtx);
      dropping.closeAllConnections();
      await new Promise<void>((resolve) => dropping.close(() => resolve()));
    }
  });

  /**
   * A peer that keeps idle connections `keepAliveMs` (and says so in Keep-Alive: timeout=N), noting when the client
   * closes one; it answers a POST after `postAnswerMs`.
   */
  async function peerKeeping(keepAliveMs: number, postAnswerMs = 0): Promise<{ url: string; closedByClient: Promise<void>; stop: () => Promise<void> }> {
    let clientClosed: () => void = () => undefined;
    const closedByClient = new Promise<void>((resolve) => {
      clientClosed = resolve;
    });
    const peer = http.createServer((req, res) => {
      setTimeout(() => res.end('{"ok":true}'), req.method === 'POST' ? postAnswerMs : 0);
    });
    peer.keepAliveTimeout = keepAliveMs;
    // 'end' is the client's FIN; the peer's own keep-alive timer cannot have fired yet (it is far longer than the
    // test waits), so the client closed the socket.
    peer.on('connection', (socket: Socket) => socket.on('end', () => clientClosed()));
    await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', resolve));
    return {
      url: `http://127.0.0.1:${(peer.address() as AddressInfo).port}`,
      closedByClient,
      stop: async () => {
        peer.closeAllConnections();
        await new Promise<void>((resolve) => peer.close(() => resolve()));
      },
    };
  }

  /** Rejects if `promise` has not settled within `ms`: a deadline for a condition, not a measured time. */
  const within = <T>(promise: Promise<T>, ms: number, what: string): Promise<T> =>
    Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`not within ${ms} ms: ${what}`)), ms).unref())]);

  /** The socket a reply came on, once the agent has taken it back into its pool (after the reply's end). */
  const pooledSocket = async (res: { request?: unknown }): Promise<Socket> => {
    await new Promise<void>((resolve) => setImmediate(resolve));
    return (res.request as { socket: Socket }).socket;
  };

  it('closes a pooled socket idle for IDLE_PEER_SOCKET_MS itself, before a peer keeping it longer would', async () => {
    const peer = await peerKeeping(120_000);
    const peerCtx = { ...ctx, connection: { ...ctx.connection, name: 'long-keeping-peer' } } as AdapterContext<Record<string, never>>;
    try {
      const res = await createPeerHttp(peerCtx, { baseURL: peer.url }).get('/one');
      expect(res.status).toBe(200);
      // In the pool with the hub's own bound (the peer's hint, 119 s, is longer); an agent without a timeout leaves 0.
      expect((await pooledSocket(res)).timeout).toBe(IDLE_PEER_SOCKET_MS);
      await within(peer.closedByClient, IDLE_PEER_SOCKET_MS + 20_000, 'the idle socket closed by the client');
    } finally {
      closePeerHttp(peerCtx);
      await peer.stop();
    }
  }, 40_000);

  it("follows a peer's shorter Keep-Alive hint: closes 1 s before the peer would", async () => {
    const peer = await peerKeeping(2_000);
    const peerCtx = { ...ctx, connection: { ...ctx.connection, name: 'short-keeping-peer' } } as AdapterContext<Record<string, never>>;
    try {
      const res = await createPeerHttp(peerCtx, { baseURL: peer.url }).get('/one');
      expect(res.headers['keep-alive']).toBe('timeout=2');
      expect((await pooledSocket(res)).timeout).toBe(1_000);
    } finally {
      closePeerHttp(peerCtx);
      await peer.stop();
    }
  });

  it('does not cut a call in flight longer than the idle bound: the call has its own timeout', async () => {
    const peer = await peerKeeping(120_000, IDLE_PEER_SOCKET_MS + 500);
    const peerCtx = { ...ctx, connection: { ...ctx.connection, name: 'slow-peer' } } as AdapterContext<Record<string, never>>;
    try {
      const client = createPeerHttp(peerCtx, { baseURL: peer.url, timeoutMs: 60_000 });
      expect((await client.get('/warm')).status).toBe(200);
      // One on the reused socket (its idle bound set), one on a new socket.
      const [reused, fresh] = await Promise.all([client.post('/cases', { a: 1 }), client.post('/cases', { a: 2 })]);
      expect([reused.status, fresh.status]).toEqual([200, 200]);
    } finally {
      closePeerHttp(peerCtx);
      await peer.stop();
    }
  }, 40_000);
});
