/**
 * One sandbox peer as its own process, behind the fault proxy, or called directly (--direct):
 *   node dist/bench/lib/peer-main.js etd|icasework|webhook [--direct]
 * Prints one JSON line on stdout when ready: { url, controlUrl, settings, direct } where `url` is where the hub reaches
 * the peer (the proxy, or with --direct the sandbox itself) and `settings` are the hub's connection settings for it.
 * The control server (loopback) takes:
 *   POST /plan {FaultPlan}   POST /down {"ms":60000}   GET /records   POST /clear
 *   GET /receiver            webhook only: what the receiver stored, per webhook-id, and how many signatures it refused
 * --direct (the benchmarks): no proxy, no extra HTTP hop; the same records are taken in this process by observing the
 * sandbox's own HTTP server (peer-recorder.ts). /plan and /down answer 409: direct mode has no fault proxy.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { EtdSandbox } from '../../adapters/etd/sandbox';
import { IcaseworkSandbox } from '../../adapters/icasework/sandbox';
import { WebhookSandbox, newSecret } from '../../adapters/webhook/sandbox';
import { silentLogger } from '../../src/core/logger';
import { closeHttpServer } from '../../src/core/util';
import { FaultProxy, TOKEN_PATTERN, type FaultPlan, type ProxyRecord } from './fault-proxy';
import { PeerRecorder } from './peer-recorder';

export const ETD_PEER_KEY = 'faults-iizuka-key';
export const ICASEWORK_PEER_KEY = { key: 'faults-icasework-key', secret: 'faults-icasework-secret' };
/**
 * The hub's timeout for the webhook receiver: shorter than the default (15 s) so that a reply the proxy holds back
 * ("hold" rule) outlasts it without slowing the suite.
 */
export const WEBHOOK_TIMEOUT_MS = 5000;

/** What the webhook receiver stored: one entry per webhook-id, and the requests whose signature it refused. */
export interface ReceiverReport {
  /** webhookId, how many verified arrivals it had (the receiver stored the first, acknowledged the rest), token. */
  stored: Array<{ webhookId: string; arrivals: number; token?: string }>;
  /** Requests that reached /receive (forced replies included). */
  requests: number;
  invalidSignatures: number;
}

interface RunningPeer {
  upstream: string;
  /** The hub's connection settings for the peer reached at `url` (the proxy's, or the sandbox's own). */
  settings: (url: string) => Record<string, unknown>;
  stop: () => Promise<void>;
  receiver?: () => ReceiverReport;
}

async function startPeer(kind: string): Promise<RunningPeer> {
  const log = silentLogger();
  if (kind === 'etd') {
    const s = await EtdSandbox.start({ port: 0, apiKey: ETD_PEER_KEY, log });
    return { upstream: s.url, settings: (url) => ({ ...s.connectionSettings(), baseUrl: url }), stop: () => s.stop() };
  }
  if (kind === 'icasework') {
    const s = await new IcaseworkSandbox({ port: 0, account: 'caseway', keys: [{ ...ICASEWORK_PEER_KEY, allowedIps: ['127.0.0.1', '::1'] }], log }).start();
    return { upstream: s.apiUrl, settings: (url) => ({ ...s.connectionSettings(), baseUrl: url }), stop: () => s.stop() };
  }
  if (kind === 'webhook') {
    const s = await WebhookSandbox.start({ port: 0, receiverSecret: newSecret(), log });
    return {
      upstream: s.url,
      settings: (url) => ({ url: `${url}/receive`, secret: s.receiverSecret, timeoutMs: WEBHOOK_TIMEOUT_MS }),
      stop: () => s.stop(),
      receiver: () => {
        const requests = s.requests();
        return {
          stored: s.deliveries().map((d) => ({ webhookId: d.webhookId, arrivals: d.count, token: JSON.stringify(d.body).match(TOKEN_PATTERN)?.[0] })),
          requests: requests.length,
          invalidSignatures: requests.filter((r) => !r.verified).length,
        };
      },
    };
  }
  throw new Error(`peer-main: unknown peer "${kind}" (etd, icasework or webhook)`);
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

/** Where the records come from: the fault proxy in front of the peer, or (direct) the peer's own server observed. */
interface Recording {
  /** Where the hub reaches the peer. */
  url: string;
  records: ProxyRecord[];
  /** The fault proxy, when there is one (/plan, /down). */
  proxy?: FaultProxy;
  stop: () => Promise<void>;
}

async function recording(peer: RunningPeer, direct: boolean): Promise<Recording> {
  if (direct) {
    const recorder = new PeerRecorder(Number(new URL(peer.upstream).port)).start();
    return { url: peer.upstream, records: recorder.records, stop: async () => recorder.stop() };
  }
  const proxy = await new FaultProxy(peer.upstream).start();
  return { url: proxy.url, records: proxy.records, proxy, stop: () => proxy.stop() };
}

const NO_PROXY = 'direct mode has no fault proxy: start the peer without --direct to inject faults';

async function main(): Promise<void> {
  const direct = process.argv.slice(3).includes('--direct');
  const peer = await startPeer(process.argv[2] ?? '');
  const rec = await recording(peer, direct);
  const control = http.createServer((req, res) => {
    const reply = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    void (async () => {
      try {
        if (req.method === 'POST' && req.url === '/plan') {
          if (!rec.proxy) return reply(409, { error: NO_PROXY });
          rec.proxy.setPlan((await readJson(req)) as FaultPlan);
          return reply(200, { ok: true });
        }
        if (req.method === 'POST' && req.url === '/down') {
          if (!rec.proxy) return reply(409, { error: NO_PROXY });
          const { ms } = (await readJson(req)) as { ms?: number };
          await rec.proxy.down(ms ?? 60000);
          return reply(200, { ok: true });
        }
        if (req.method === 'GET' && req.url === '/records') return reply(200, rec.records);
        if (req.method === 'GET' && req.url === '/receiver' && peer.receiver) return reply(200, peer.receiver());
        if (req.method === 'POST' && req.url === '/clear') {
          rec.records.length = 0;
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
  const stop = () => void Promise.all([rec.stop(), peer.stop(), closeHttpServer(control)]).then(() => process.exit(0));
  // Before the line that says this peer is up: whoever reads it may stop it at once.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write(`${JSON.stringify({ url: rec.url, controlUrl, settings: peer.settings(rec.url), direct })}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`peer-main: ${String(err)}\n`);
  process.exit(1);
});
