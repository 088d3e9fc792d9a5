/**
 * A TCP forwarder that holds every chunk travelling from the client to the target for `delayMs` before passing it
 * on, in order: the same effect as `tc netem delay` on the client's link (one added delay per round trip), for
 * kernels without sch_netem. The delay can be changed while connections are open (`setDelay`).
 * CLI: node delay-proxy.js <listenHost:port> <targetHost:port> <delayMs>
 */
import net from 'node:net';

export interface DelayProxy {
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export async function startDelayProxy(listen: { host: string; port: number }, target: { host: string; port: number }, delayMs: number): Promise<DelayProxy> {
  let delay = delayMs;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    // One queue per connection and one timer on its head: chunks leave strictly in arrival order, each no earlier
    // than its arrival + the delay (separate timers per chunk could fire out of order and garble the stream).
    const queue: Array<{ due: number; chunk: Buffer }> = [];
    let timer: NodeJS.Timeout | undefined;
    const flush = () => {
      timer = undefined;
      const now = Date.now();
      while (queue.length && queue[0]!.due <= now) {
        const next = queue.shift()!;
        if (!upstream.destroyed) upstream.write(next.chunk);
      }
      if (queue.length) timer = setTimeout(flush, queue[0]!.due - now);
    };
    client.on('data', (chunk: Buffer) => {
      queue.push({ due: Date.now() + delay, chunk });
      if (timer) return;
      if (queue.length === 1 && delay === 0) flush();
      else timer = setTimeout(flush, Math.max(0, queue[0]!.due - Date.now()));
    });
    upstream.pipe(client);
    const end = () => {
      if (timer) clearTimeout(timer);
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', () => setTimeout(end, delay));
    client.on('error', end);
    upstream.on('close', end);
    upstream.on('error', end);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => resolve());
  });
  return {
    setDelay(ms: number) {
      delay = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

export function hostPort(text: string): { host: string; port: number } {
  const at = text.lastIndexOf(':');
  return { host: text.slice(0, at), port: Number(text.slice(at + 1)) };
}

if (require.main === module) {
  const [listen, target, ms] = process.argv.slice(2);
  if (!listen || !target) {
    process.stderr.write('usage: delay-proxy <listenHost:port> <targetHost:port> [delayMs]\n');
    process.exit(2);
  }
  startDelayProxy(hostPort(listen), hostPort(target), Number(ms ?? 0))
    .then((proxy) => {
      process.stdout.write(`delay-proxy ${listen} -> ${target} (+${ms ?? 0} ms)\n`);
      const stop = () => void proxy.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    })
    .catch((err: unknown) => {
      process.stderr.write(`delay-proxy: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    });
}
