/**
 * What one peer call costs the hub's process, CPU per call: the hub's peer client (axios, as createPeerHttp sets it
 * up for an adapter, with its keep-alive agents and interceptors) against a bare node:http request on an agent with
 * the same options, both posting the same form body (an iCasework createcase's size) to a loopback server in another
 * process that answers a createcase reply. Rounds alternate the two, so a shared host's drift falls on both; the
 * figure per round is process CPU (user + system) of this process divided by calls. The bed's peer calls are two a
 * case on the ETD -> iCasework route, so this is the part of the delivery process's CPU that the HTTP client takes.
 *   npm run build && bash scripts/node24.sh node dist/bench/peer-client.js
 *   PEER_CLIENT_CALLS=20000 PEER_CLIENT_ROUNDS=4 PEER_CLIENT_CONCURRENCY=32
 *   PEER_CLIENT_ONLY=axios|node, for the kinds whose name starts so (e.g. under valgrind --tool=callgrind, which
 *   counts instructions)
 * A third kind runs the same axios instance with a bare node:http adapter instead of axios's own, to split axios's
 * cost between its request path and its HTTP adapter.
 */
import { fork, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { Redis } from 'ioredis';
import { createAdapterContext } from '../src/core/context';
import { silentLogger } from '../src/core/logger';
import { AXIOS_KEEPALIVE_MS, IDLE_PEER_SOCKET_MS, closePeerHttp, createPeerHttp } from '../src/core/peer-http';

const CALLS = Number(process.env.PEER_CLIENT_CALLS ?? 20000);
const ROUNDS = Number(process.env.PEER_CLIENT_ROUNDS ?? 4);
const CONCURRENCY = Number(process.env.PEER_CLIENT_CONCURRENCY ?? 32);
const ONLY = process.env.PEER_CLIENT_ONLY;
const REPLY = '<?xml version="1.0" encoding="UTF-8"?><createcaseresponse><caseid>492233</caseid><team>INBOXIR</team></createcaseresponse>';
const FORM = new URLSearchParams({
  Type: 'EmergencyTravelDocument',
  Format: 'xml',
  db: 'caseway',
  RequestMethod: 'Online form',
  'Customer.Title': 'Mrs',
  'Customer.FirstName': 'Alice Mary',
  'Customer.Surname': 'Tkabcdefgh',
  'Customer.Address': '10 Test Street',
  'Customer.Town': 'Lisbon',
  'Customer.Country': 'Portugal',
  'Customer.Postcode': '1000-001',
  'Customer.Email': 'tkabcdefgh@example.org',
  'Customer.DateOfBirth': '1988-02-29',
  Details: 'Emergency Travel Document application received from the ETD web form',
  ExternalId: 'cw-0123456789abcdef',
  Key: 'key',
  Signature: '0123456789abcdef0123456789abcdef',
}).toString();
const CONTENT_TYPE = 'application/x-www-form-urlencoded; charset=UTF-8';

/** The loopback peer, in its own process so that its CPU is not counted. */
function serve(): void {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('Content-Type', 'text/xml;charset=UTF-8');
      res.end(REPLY);
    });
  });
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: (server.address() as AddressInfo).port }));
  process.on('disconnect', () => process.exit(0));
}

async function startPeer(): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(__filename, ['serve'], { stdio: 'inherit' });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) => reject(new Error(`peer exited (${code})`)));
  });
  return { child, port };
}

/** CPU microseconds per call of `call`, made `calls` times, CONCURRENCY at a time. */
async function cpuPerCall(call: () => Promise<unknown>, calls: number): Promise<number> {
  let next = 0;
  const started = process.cpuUsage();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < calls) await call();
    }),
  );
  const used = process.cpuUsage(started);
  return (used.user + used.system) / calls;
}

async function main(): Promise<void> {
  const { child, port } = await startPeer();
  const redis = new Redis({ lazyConnect: true });
  const ctx = createAdapterContext({ connection: { name: 'bench', adapter: 'bench', settings: {} }, redis, prefix: 'bench', log: silentLogger() });
  const peer = createPeerHttp(ctx, { baseURL: `http://127.0.0.1:${port}`, timeoutMs: 15000 });
  // As the iCasework client calls it: a form body, the reply kept as text.
  const viaPeerClient = () => peer.post<string>('/createcase', FORM, { responseType: 'text', transformResponse: [(data: unknown) => data], headers: { 'Content-Type': CONTENT_TYPE } });
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: AXIOS_KEEPALIVE_MS, scheduling: 'lifo', timeout: IDLE_PEER_SOCKET_MS });
  const viaHttp = () =>
    new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/createcase', method: 'POST', agent, headers: { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(FORM) } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(FORM);
    });
  // The same axios instance but with a bare node:http adapter in place of axios's own: splits axios's cost into its
  // request path (config merging, headers, transforms, interceptors) and its HTTP adapter. A stand-in for measuring,
  // not a usable adapter (no timeout, size bound, decompression or error mapping).
  const bareAdapter = (config: InternalAxiosRequestConfig): Promise<AxiosResponse> =>
    viaHttp().then((data) => ({ data, status: 200, statusText: 'OK', headers: {}, config }));
  const viaPeerClientBareAdapter = () =>
    peer.post<string>('/createcase', FORM, { adapter: bareAdapter, responseType: 'text', transformResponse: [(data: unknown) => data], headers: { 'Content-Type': CONTENT_TYPE } });
  const kinds: Array<[string, () => Promise<unknown>]> = [
    ['axios (createPeerHttp)', viaPeerClient],
    ['axios request path, bare node:http adapter', viaPeerClientBareAdapter],
    ['node:http', viaHttp],
  ];
  const chosen = kinds.filter(([name]) => !ONLY || name.startsWith(ONLY));
  for (const [, call] of chosen) await cpuPerCall(call, Math.min(CALLS, 2000)); // warm-up
  const figures = new Map<string, number[]>(chosen.map(([name]) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, call] of chosen) figures.get(name)?.push(await cpuPerCall(call, CALLS));
  }
  closePeerHttp(ctx);
  agent.destroy();
  redis.disconnect();
  child.disconnect();
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const out: Record<string, string> = { date: new Date().toISOString(), node: process.version, calls: String(CALLS), concurrency: String(CONCURRENCY) };
  for (const [name, xs] of figures) out[`${name}: CPU us per call, each round`] = xs.map((x) => x.toFixed(1)).join(' / ');
  for (const [name, xs] of figures) out[`${name}: median`] = median(xs).toFixed(1);
  console.log(JSON.stringify(out, null, 1));
}

if (process.argv[2] === 'serve') serve();
else
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
