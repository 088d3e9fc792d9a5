/**
 * One sandbox peer as its own process, behind the fault proxy:
 *   node dist/bench/lib/peer-main.js etd|icasework
 * Prints one JSON line on stdout when ready: { proxyUrl, controlUrl, settings } where `settings` are the hub's
 * connection settings for the peer (pointing at the proxy). The control server (loopback) takes:
 *   POST /plan {FaultPlan}   POST /down {"ms":60000}   GET /records   POST /clear
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EtdSandbox } from '../../adapters/etd/sandbox';
import { IcaseworkSandbox } from '../../adapters/icasework/sandbox';
import { silentLogger } from '../../src/core/logger';
import { FaultProxy, type FaultPlan } from './fault-proxy';

export const ETD_PEER_KEY = 'faults-iizuka-key';
export const ICASEWORK_PEER_KEY = { key: 'faults-icasework-key', secret: 'faults-icasework-secret' };

async function startPeer(kind: string): Promise<{ upstream: string; settings: (proxyUrl: string) => Record<string, unknown>; stop: () => Promise<void> }> {
  const log = silentLogger();
  if (kind === 'etd') {
    const s = await EtdSandbox.start({ port: 0, apiKey: ETD_PEER_KEY, log });
    return { upstream: s.url, settings: (proxyUrl) => ({ ...s.connectionSettings(), baseUrl: proxyUrl }), stop: () => s.stop() };
  }
  if (kind === 'icasework') {
    const s = await new IcaseworkSandbox({ port: 0, account: 'caseway', keys: [{ ...ICASEWORK_PEER_KEY, allowedIps: ['127.0.0.1', '::1'] }], log }).start();
    return { upstream: s.apiUrl, settings: (proxyUrl) => ({ ...s.connectionSettings(), baseUrl: proxyUrl }), stop: () => s.stop() };
  }
  throw new Error(`peer-main: unknown peer "${kind}" (etd or icasework)`);
}

function readJson(req: http.IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      try {
        resolve(data ? JSON.parse(data) : {});
      } catch (err) {
        reject(err);
      }
    });
  });
}

async function main(): Promise<void> {
  const peer = await startPeer(process.argv[2] ?? '');
  const proxy = await new FaultProxy(peer.upstream).start();
  const control = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    void (async () => {
      try {
        if (req.method === 'POST' && req.url === '/plan') {
          proxy.setPlan((await readJson(req)) as FaultPlan);
          return reply(200, { ok: true });
        }
        if (req.method === 'POST' && req.url === '/down') {
          const { ms } = (await readJson(req)) as { ms?: number };
          await proxy.down(ms ?? 60000);
          return reply(200, { ok: true });
        }
        if (req.method === 'GET' && req.url === '/records') return reply(200, proxy.records);
        if (req.method === 'POST' && req.url === '/clear') {
          proxy.records.length = 0;
          return reply(200, { ok: true });
        }
        reply(404, { error: 'no such control endpoint' });
      } catch (err) {
        reply(400, { error: String(err) });
      }
    })();
  });
  await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', () => resolve()));
  const controlUrl = `http://127.0.0.1:${(control.address() as AddressInfo).port}`;
  process.stdout.write(`${JSON.stringify({ proxyUrl: proxy.url, controlUrl, settings: peer.settings(proxy.url) })}\n`);
  const stop = () => {
    void Promise.all([proxy.stop(), peer.stop(), new Promise((r) => control.close(r))]).then(() => process.exit(0));
    control.closeAllConnections();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`peer-main: ${String(err)}\n`);
  process.exit(1);
});
