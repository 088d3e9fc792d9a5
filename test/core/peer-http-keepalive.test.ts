/**
 * Kept-alive peer sockets: reused across calls, and their TCP keep-alive set once, not twice per request (axios sets
 * 60 s on every request's socket; an agent with another delay set it back on every return to the pool, each a
 * setsockopt system call). Real HTTP server on loopback; the socket's native handle is counted, not replaced.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { createLogger } from '../../src/core/logger';
import { closePeerHttp, createPeerHttp } from '../../src/core/peer-http';
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
});

