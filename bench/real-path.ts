/**
 * The real path (`npm run bench`): `POST /etd/application` over HTTP with unique applications (autocannon, 50
 * connections) into the hub as a user starts it (one `caseway start`, then `caseway api` + N `caseway worker`), a
 * route to iCasework (createCase, signed HTTP) and IIZUKA (submitApplication), both sandbox peers as separate
 * processes on loopback, called directly (their calls recorded in the peer process), and a private Redis with AOF `everysec`; again for the same route to iCasework alone. In the same run: raw BullMQ (no-op jobs, bulk-added,
 * concurrency 100) on the same Redis, a steady-rate run, the old in-process intake figure (bench/pipeline.ts) and the
 * iSupport export line (bench/isupport-export.ts, ISUPPORT_BENCH_CASES=50000 cases of 20 members). Prints one table and writes it into docs/performance.md.
 *   BENCH_CASES=5000 BENCH_CONNECTIONS=50 BENCH_WORKERS=2 BENCH_STEADY_RATE=200 BENCH_STEADY_SECONDS=60 npm run bench
 *   BENCH_SKIP=steady,pipeline,isupport,split,icasework      leave parts out (icasework: the ETD → iCasework-only lines;
 *                                                   steady-both: the steady run of the default two-peer route only)
 *   BENCH_OUT=docs/performance.md                  where the "last run" section goes ('' for nowhere)
 *   BENCH_PEER_PROXY=1                             the peers behind the counting proxy instead (the extra hop of before 2026-11-30)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { dayOf } from '../src/core/store/stats-store';
import {
  application,
  FORM_KEY,
  freePort,
  hubConfig,
  loadApplications,
  paceApplications,
  gitHead,
  gitLine,
  httpJson,
  machine,
  newHubEnv,
  peakRssMb,
  percentile,
  ROOT,
  sleep,
  startHub,
  startPeer,
  withPrivateRedis,
  stopChild,
  tally,
  failureReasons,
  outputMarks,
  waitFor,
  waitedForCpuMs,
  watchCount,
  type HubProcess,
  type Peer,
  type PrivateRedis,
} from './lib/harness';
import type { ProxyRecord } from './lib/fault-proxy';
import { redisCpuMs, resetSlowlog, slowlogSummary } from './lib/redis-shapes';

const CASES = Number(process.env.BENCH_CASES ?? 5000);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 2);
const DELIVERY_CONCURRENCY = Number(process.env.BENCH_DELIVERY_CONCURRENCY ?? 64);
const STEADY_RATE = Number(process.env.BENCH_STEADY_RATE ?? 200);
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 60);
const RAW_JOBS = Number(process.env.BENCH_RAW_JOBS ?? 50000);
const SKIP = new Set((process.env.BENCH_SKIP ?? '').split(',').map((s) => s.trim()));
const ROUTE = 'etd-applications';
/** The peers without the forwarding proxy (no extra HTTP hop): the calls are recorded in the peer process. */
const DIRECT = { direct: process.env.BENCH_PEER_PROXY !== '1' };
/** Deliveries per case: the default route has two targets (iCasework, IIZUKA); the iCasework-only line one. */
const targetCount = (targets: 'both' | 'icasework') => (targets === 'icasework' ? 1 : 2);
const TARGET_COUNT = targetCount('both');

interface Row {
  label: string;
  ackedPerS?: number;
  p50?: number;
  p95?: number;
  p99?: number;
  deliveredPerS?: number;
  calls?: string;
  rss?: string;
  ratio?: number;
  note?: string;
}

const fmt = (n: number | undefined, digits = 0) => (n === undefined || Number.isNaN(n) ? '' : n.toFixed(digits));
const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

async function deliveredCount(redis: Redis, prefix: string): Promise<number> {
  return Number((await redis.hget(`${prefix}stats:${dayOf(new Date())}:${ROUTE}`, 'delivered')) ?? 0);
}

function rssOf(hubs: HubProcess[], peers: Peer[]): string {
  const parts = hubs.map((h) => `${h.role} ${fmt(h.peakRssMb())}`);
  parts.push(...peers.map((p) => `${p.kind === 'etd' ? 'IIZUKA' : 'iCW'} peer ${fmt(peakRssMb(p.child.pid))}`));
  return parts.join(', ');
}

function callsPerCase(records: ProxyRecord[], tokens: string[]): Record<string, number> {
  const byOp = new Map<string, number>();
  for (const r of records) byOp.set(r.op, (byOp.get(r.op) ?? 0) + 1);
  return Object.fromEntries([...byOp].map(([op, n]) => [op, n / Math.max(1, tokens.length)]));
}

function describeCalls(icw: ProxyRecord[], etd: ProxyRecord[], tokens: string[]): string {
  const c = callsPerCase(icw, tokens);
  const total = Object.values(c).reduce((a, b) => a + b, 0);
  const e = Object.values(callsPerCase(etd, tokens)).reduce((a, b) => a + b, 0);
  return `iCW ${total.toFixed(2)} (${Object.entries(c)
    .map(([op, n]) => `${op} ${n.toFixed(2)}`)
    .join(', ')}); IIZUKA ${e.toFixed(2)}`;
}

async function measureHub(label: string, redis: PrivateRedis, topology: 'start' | 'split', run: number, targets: 'both' | 'icasework' = 'both', startArgs: string[] = []): Promise<Row> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-bench-hub-'));
  const [icasework, iizuka] = await Promise.all([startPeer('icasework', DIRECT), startPeer('etd', DIRECT)]);
  const prefix = `cwb${run}:`;
  const env = newHubEnv(dir, hubConfig(icasework, iizuka, { deliveryConcurrency: DELIVERY_CONCURRENCY, attempts: 8, backoffMs: 1000, targets }), redis.url, prefix);
  const perCase = targetCount(targets);
  const port = await freePort();
  const hubs: HubProcess[] = [];
  const r = new Redis(redis.url);
  try {
    hubs.push(await startHub(env, topology === 'start' ? 'start' : 'api', port, topology === 'start' ? startArgs : []));
    if (topology === 'split') hubs.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startHub(env, 'worker', 0)))));
    const url = `http://127.0.0.1:${port}`;
    // Warm-up (JIT, connections, Redis scripts), then clear what the peers saw.
    const warm = await loadApplications(url, CONNECTIONS, run + 900, 500);
    await waitFor(async () => (await deliveredCount(r, prefix)) >= warm.acked * perCase, 120000, 'warm-up delivery');
    await Promise.all([httpJson('POST', `${icasework.controlUrl}/clear`), httpJson('POST', `${iizuka.controlUrl}/clear`)]);
    const base = await deliveredCount(r, prefix);
    const marks = outputMarks(hubs);
    log(`${label}: posting ${CASES} unique applications over ${CONNECTIONS} connections`);
    const started = Date.now();
    const watch = watchCount(async () => (await deliveredCount(r, prefix)) - base);
    const result = await loadApplications(url, CONNECTIONS, run, CASES);
    await waitFor(async () => (await deliveredCount(r, prefix)) - base >= result.acked * perCase, 600000, 'delivery of every acknowledged case', 50);
    watch.stop();
    const e2eSeconds = (Math.min(watch.reachedAt(result.acked * perCase) ?? Date.now(), Date.now()) - started) / 1000;
    const [icw, etd] = await Promise.all([icasework.records(), iizuka.records()]);
    const tokens = Array.from({ length: CASES }, (_, i) => application(run, i).token);
    const t = tally(tokens.slice(0, result.acked), icw, etd, targets === 'both');
    return {
      label,
      ackedPerS: result.acked / result.seconds,
      p50: percentile(result.latencies, 50),
      p95: percentile(result.latencies, 95),
      p99: percentile(result.latencies, 99),
      deliveredPerS: result.acked / e2eSeconds,
      calls: describeCalls(icw, etd, tokens),
      rss: rssOf(hubs, [icasework, iizuka]),
      note: `${result.acked} acked, ${result.errors} errors; delivered ${t.delivered}, lost ${t.lost}, dup iCW ${t.dupIcwCases}, dup IIZUKA ${t.dupIizuka}; failed delivery attempts: ${failureReasons(hubs, marks)}`,
    };
  } finally {
    r.disconnect();
    await Promise.all(hubs.map((h) => stopChild(h.child)));
    await Promise.all([stopChild(icasework.child), stopChild(iizuka.child)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Raw BullMQ on the same Redis: no-op jobs, bulk-added, one worker at concurrency 100; jobs/s from first add to last done. */
async function rawBullmq(redis: PrivateRedis): Promise<Row> {
  const connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const workerConnection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const prefix = 'rawbench';
  const queue = new Queue('noop', { connection, prefix });
  let done = 0;
  const worker = new Worker('noop', async () => undefined, { connection: workerConnection, prefix, concurrency: 100, removeOnComplete: { count: 0 } });
  worker.on('completed', () => (done += 1));
  await worker.waitUntilReady();
  const started = Date.now();
  for (let i = 0; i < RAW_JOBS; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, RAW_JOBS - i) }, (_, j) => ({ name: 'noop', data: { i: i + j } })));
  }
  await waitFor(async () => done >= RAW_JOBS, 600000, 'raw BullMQ jobs', 20);
  const seconds = (Date.now() - started) / 1000;
  await worker.close();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  connection.disconnect();
  workerConnection.disconnect();
  return { label: `raw BullMQ (${RAW_JOBS} no-op jobs, addBulk 1000, concurrency 100)`, deliveredPerS: RAW_JOBS / seconds, rss: `bench process ${fmt(peakRssMb(process.pid))}` };
}

/** A steady rate into `caseway start`: ack p99 and intake → delivered (both peers acted) p99. */
async function steady(redis: PrivateRedis, run: number, targets: 'both' | 'icasework' = 'both'): Promise<Row> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-bench-steady-'));
  const [icasework, iizuka] = await Promise.all([startPeer('icasework', DIRECT), startPeer('etd', DIRECT)]);
  const prefix = `cwb${run}:`;
  const env = newHubEnv(dir, hubConfig(icasework, iizuka, { deliveryConcurrency: DELIVERY_CONCURRENCY, attempts: 8, backoffMs: 1000, targets }), redis.url, prefix);
  const port = await freePort();
  const hubs: HubProcess[] = [];
  const r = new Redis(redis.url);
  const perCase = targetCount(targets);
  try {
    hubs.push(await startHub(env, 'start', port));
    // Warmed up as the throughput lines are (a cold delivery process, still starting, holds the first seconds' jobs
    // ~1.5 s: that is start-up, not the steady state this line measures), then what the peers saw is cleared.
    const warm = await loadApplications(`http://127.0.0.1:${port}`, CONNECTIONS, run + 900, 500);
    await waitFor(async () => (await deliveredCount(r, prefix)) >= warm.acked * perCase, 120000, 'warm-up delivery');
    await Promise.all([httpJson('POST', `${icasework.controlUrl}/clear`), httpJson('POST', `${iizuka.controlUrl}/clear`)]);
    const base = await deliveredCount(r, prefix);
    const tailBefore = await hubTail(port);
    const marks = outputMarks(hubs);
    const redisBefore = await redisReading(r, redis.pid());
    const total = STEADY_RATE * STEADY_SECONDS;
    log(`steady: ${STEADY_RATE} applications/s for ${STEADY_SECONDS} s into caseway start`);
    const started = Date.now();
    const load = await paceApplications(`http://127.0.0.1:${port}`, run, total, STEADY_RATE);
    const { sentAt, latencies: sorted } = load;
    await waitFor(async () => (await deliveredCount(r, prefix)) - base >= load.acked * perCase, 600000, 'steady delivery', 50);
    const [icw, etd] = await Promise.all([icasework.records(), iizuka.records()]);
    const caseToken = new Map<string, string>();
    for (const rec of icw) if (rec.op === 'createcase' && rec.token && rec.caseId) caseToken.set(rec.caseId, rec.token);
    const deliveredAt = new Map<string, number>();
    for (const rec of [...icw, ...etd]) {
      const token = rec.token ?? (rec.caseId ? caseToken.get(rec.caseId) : undefined);
      if (token && rec.at && rec.status >= 200 && rec.status < 300) deliveredAt.set(token, Math.max(deliveredAt.get(token) ?? 0, rec.at));
    }
    const e2e = [...deliveredAt].map(([token, at]) => at - (sentAt.get(token) ?? at)).sort((a, b) => a - b);
    // What lengthens the tail: peer exchanges that did not succeed, and deliveries the hub retried (after a back-off).
    const failedCalls = new Map<string, number>();
    for (const rec of [...icw, ...etd]) if (!(rec.status >= 200 && rec.status < 300)) failedCalls.set(`${rec.op} ${rec.status}`, (failedCalls.get(`${rec.op} ${rec.status}`) ?? 0) + 1);
    const tail = `${tailBetween(tailBefore, await hubTail(port))}; failed delivery attempts: ${failureReasons(hubs, marks)}; ${await queueWait(r, prefix, started)}; ${await redisDuring(r, prefix, redisBefore)}`;
    return {
      label: `Caseway, steady ${STEADY_RATE}/s for ${STEADY_SECONDS} s (caseway start${targets === 'icasework' ? ', route ETD → iCasework only' : ''})`,
      ackedPerS: load.acked / ((Date.now() - started) / 1000),
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      rss: rssOf(hubs, [icasework, iizuka]),
      note:
        `intake→delivered p50 ${fmt(percentile(e2e, 50))} ms, p99 ${fmt(percentile(e2e, 99))} ms; ${load.acked} acked, ${load.errors} failed; ` +
        `${tail}; peer calls not 2xx: ${[...failedCalls].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`,
    };
  } finally {
    r.disconnect();
    await Promise.all(hubs.map((h) => stopChild(h.child)));
    await Promise.all([stopChild(icasework.child), stopChild(iizuka.child)]);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface HubTail {
  retried: number;
  deliveries: number;
  deliveriesOver1s: number;
  peerCalls: number;
  peerCallsOver1s: number;
}

/**
 * From the hub's /metrics (the api process aggregates its delivery processes'): delivery attempts that ended
 * 'retrying', and how many deliveries and peer calls took over a second, of all; undefined if unreadable.
 */
async function hubTail(port: number): Promise<HubTail | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  if (!res?.ok) return undefined;
  const text = await res.text();
  const sum = (re: RegExp) => [...text.matchAll(re)].reduce((n, m) => n + Number(m[1]), 0);
  const count = (name: string) => sum(new RegExp(`^${name}_count(?:\\{[^}]*\\})? (\\d+)$`, 'gm'));
  const within1s = (name: string) => sum(new RegExp(`^${name}_bucket\\{[^}]*le="1"[^}]*\\} (\\d+)$`, 'gm'));
  const deliveries = count('caseway_delivery_duration_seconds');
  const peerCalls = count('caseway_peer_request_duration_seconds');
  return {
    retried: sum(/^caseway_deliveries_total\{[^}]*outcome="retrying"[^}]*\} (\d+)$/gm),
    deliveries,
    deliveriesOver1s: deliveries - within1s('caseway_delivery_duration_seconds'),
    peerCalls,
    peerCallsOver1s: peerCalls - within1s('caseway_peer_request_duration_seconds'),
  };
}

/** What happened between two readings of hubTail. */
function tailBetween(before: HubTail | undefined, after: HubTail | undefined): string {
  if (!before || !after) return 'hub metrics unreadable';
  const d = (k: keyof HubTail) => after[k] - before[k];
  return `deliveries retried ${d('retried')}; over 1 s: deliveries ${d('deliveriesOver1s')} of ${d('deliveries')}, peer calls ${d('peerCallsOver1s')} of ${d('peerCalls')}`;
}

/**
 * From the completed delivery jobs BullMQ keeps (5,000 per queue) added since `since`: how long jobs waited in the queue before a worker
 * took them (processedOn - timestamp) and how long processing took (finishedOn - processedOn), p50 / p99.
 */
async function queueWait(r: Redis, prefix: string, since: number): Promise<string> {
  const parts: string[] = [];
  for (const target of ['icasework', 'iizuka']) {
    const queue = `${prefix}q:deliver.${target}`;
    const ids = await r.zrange(`${queue}:completed`, 0, -1);
    if (!ids.length) continue;
    const pipe = r.pipeline();
    for (const id of ids) pipe.hmget(`${queue}:${id}`, 'timestamp', 'processedOn', 'finishedOn');
    const rows = ((await pipe.exec()) ?? []).map(([, v]) => (v as Array<string | null>).map(Number)).filter(([t]) => t >= since);
    const waited = rows.map(([t, p]) => p - t).sort((a, b) => a - b);
    const ran = rows.map(([, p, f]) => f - p).sort((a, b) => a - b);
    if (!rows.length) continue;
    parts.push(`${target} jobs (${rows.length}): queued p50 ${fmt(percentile(waited, 50))} / p99 ${fmt(percentile(waited, 99))} ms, processing p50 ${fmt(percentile(ran, 50))} / p99 ${fmt(percentile(ran, 99))} ms`);
  }
  return parts.join('; ') || 'no completed jobs kept';
}

interface RedisReading {
  forks: number;
  aofRewrites: number;
  usedMb: number;
  keys: number;
  /** Redis's CPU so far (INFO cpu), and how long its threads waited for a CPU so far (schedstat), ms. */
  cpuMs: number;
  waitedMs: number;
  pid: number | undefined;
}

const infoField = (info: string, name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? NaN);

/** Redis's own state before a line; also resets its latency monitor (events of 10 ms or more) for the line. */
async function redisReading(r: Redis, pid: number | undefined): Promise<RedisReading> {
  await r.config('SET', 'latency-monitor-threshold', '10');
  await r.call('LATENCY', 'RESET');
  await resetSlowlog(r);
  const info = await r.info();
  const keys = await r.dbsize();
  return { forks: infoField(info, 'total_forks'), aofRewrites: infoField(info, 'aof_rewrites'), usedMb: infoField(info, 'used_memory') / 1048576, keys, cpuMs: redisCpuMs(info), waitedMs: waitedForCpuMs(pid), pid };
}

/**
 * What Redis itself did during a line: the dataset it held at the start, forks (AOF rewrites), its CPU and how long
 * it waited for one, the latency events of >= 10 ms its monitor saw (LATENCY LATEST: each event's worst) and its slow
 * log, so a slow tail can be told apart from the hub's own.
 */
async function redisDuring(r: Redis, prefix: string, before: RedisReading): Promise<string> {
  const info = await r.info();
  const events = ((await r.call('LATENCY', 'LATEST')) as Array<[string, number, number, number]>).map(([name, , , max]) => `${name} max ${max} ms`);
  await r.config('SET', 'latency-monitor-threshold', '0');
  const slow = await slowlogSummary(r, prefix);
  return (
    `Redis at the start: ${before.keys} keys, ${fmt(before.usedMb)} MB; during the line: ${infoField(info, 'aof_rewrites') - before.aofRewrites} AOF rewrite(s), ` +
    `${infoField(info, 'total_forks') - before.forks} fork(s), CPU ${fmt((redisCpuMs(info) - before.cpuMs) / 1000, 1)} s, waiting for a CPU ${fmt((waitedForCpuMs(before.pid) - before.waitedMs) / 1000, 1)} s; ` +
    `latency events >= 10 ms: ${events.join(', ') || 'none'}; ` +
    `commands of 10 ms or more (slow log): ${slow.join(', ') || 'none'}`
  );
}

/** The old in-process figure: bench/pipeline.ts (Intake.ingest() in batches of 500 to a sink adapter). */
function inProcess(redis: PrivateRedis): Row {
  const r = spawnSync(process.execPath, [path.join(__dirname, 'pipeline.js')], { env: { ...process.env, REDIS_URL: redis.url }, encoding: 'utf8', timeout: 600000 });
  const line = (r.stdout ?? '').trim();
  const m = line.match(/intake (\d+) cases\/s, end to end (\d+) cases\/s/);
  return {
    label: 'in-process intake (bench/pipeline.ts: Intake.ingest() batches of 500, sink adapter, no HTTP, no peer)',
    ackedPerS: m ? Number(m[1]) : undefined,
    deliveredPerS: m ? Number(m[2]) : undefined,
    note: m ? '' : `failed: ${(r.stderr ?? '').slice(0, 200)}`,
  };
}

/** The iSupport export line, from its own process (bench/isupport-export.ts), when it is built. */
function isupport(redis: PrivateRedis): Row[] {
  const script = path.join(__dirname, 'isupport-export.js');
  if (!existsSync(script)) return [];
  const r = spawnSync(process.execPath, [script], { env: { ...process.env, REDIS_URL: redis.url }, encoding: 'utf8', timeout: 1800000 });
  try {
    return JSON.parse((r.stdout ?? '').trim().split('\n').pop() ?? '') as Row[];
  } catch {
    return [{ label: 'iSupport export over SFTP', note: `failed: ${(r.stderr ?? '').slice(-300)}` }];
  }
}

function table(rows: Row[]): string {
  const head = '| | acked/s | ack p50 / p95 / p99 ms | delivered/s end to end | ratio to raw BullMQ | calls per case at each peer | peak RSS MB | notes |';
  return [
    head,
    `|${'---|'.repeat(8)}`,
    ...rows.map((r) => `| ${r.label} | ${fmt(r.ackedPerS)} | ${r.p50 === undefined ? '' : `${fmt(r.p50)} / ${fmt(r.p95)} / ${fmt(r.p99)}`} | ${fmt(r.deliveredPerS)} | ${fmt(r.ratio, 3)} | ${r.calls ?? ''} | ${r.rss ?? ''} | ${r.note ?? ''} |`),
  ].join('\n');
}

const BEGIN = '<!-- bench:last-run:begin -->';
const END = '<!-- bench:last-run:end -->';

function writeDoc(section: string): void {
  const out = process.env.BENCH_OUT ?? path.join(ROOT, 'docs/performance.md');
  if (!out) return;
  const current = existsSync(out) ? readFileSync(out, 'utf8') : `# Performance\n\n${BEGIN}\n${END}\n`;
  const next = current.includes(BEGIN) ? current.replace(new RegExp(`${BEGIN}[\\s\\S]*${END}`), `${BEGIN}\n${section}\n${END}`) : `${current}\n${BEGIN}\n${section}\n${END}\n`;
  writeFileSync(out, next);
  log(`results written to ${path.relative(process.cwd(), out)}`);
}

async function main(): Promise<void> {
  const when = new Date();
  // Read now: the build under test is what was checked out when the run began, not when it ended.
  const head = gitHead();
  const rows: Row[] = [];
  await withPrivateRedis('bench', async (redis) => {
    const run = (when.getTime() % 1000) * 10;
    const cores = os.availableParallelism();
    rows.push(await measureHub(`Caseway, one \`caseway start\` (default: ${cores > 1 ? `api + ${cores - 1} delivery process${cores > 2 ? 'es' : ''} on ${cores} cores` : 'one process'})`, redis, 'start', run + 1));
    // The same in one process (what `caseway start` was before it forked delivery processes).
    if (!SKIP.has('single') && cores > 1) rows.push(await measureHub('Caseway, one `caseway start --workers 0` (one process)', redis, 'start', run + 5, 'both', ['--workers', '0']));
    // Issue 13's Done-when names this route: ETD → iCasework alone (createCase with its default idempotency checks).
    if (!SKIP.has('icasework')) {
      rows.push(await measureHub('Caseway, one `caseway start`, route ETD → iCasework only (createCase, default idempotency checks; one delivery per case)', redis, 'start', run + 4, 'icasework'));
    }
    if (!SKIP.has('split')) rows.push(await measureHub(`Caseway, \`caseway api\` + ${WORKERS} \`caseway worker\``, redis, 'split', run + 2));
    log('raw BullMQ');
    const raw = await rawBullmq(redis);
    for (const r of rows) if (r.deliveredPerS) r.ratio = r.deliveredPerS / raw.deliveredPerS!;
    rows.push(raw);
    if (!SKIP.has('steady') && !SKIP.has('steady-both')) rows.push(await steady(redis, run + 3));
    if (!SKIP.has('steady') && !SKIP.has('icasework')) rows.push(await steady(redis, run + 6, 'icasework'));
    if (!SKIP.has('pipeline')) {
      log('in-process intake (bench/pipeline.ts)');
      rows.push(inProcess(redis));
    }
    if (!SKIP.has('isupport')) {
      log('iSupport export over SFTP');
      rows.push(...isupport(redis));
    }
  });
  const redisVersion = spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').slice(0, 3).join(' ');
  const command = `BENCH_CASES=${CASES} BENCH_CONNECTIONS=${CONNECTIONS} BENCH_WORKERS=${WORKERS} BENCH_DELIVERY_CONCURRENCY=${DELIVERY_CONCURRENCY} BENCH_STEADY_RATE=${STEADY_RATE} BENCH_STEADY_SECONDS=${STEADY_SECONDS}${process.env.BENCH_SKIP ? ` BENCH_SKIP=${process.env.BENCH_SKIP}` : ''} npm run bench`;
  const section = [`### Last run`, '', `- Date: ${when.toISOString()}`, `- Machine: ${machine()}; ${redisVersion} (AOF, appendfsync everysec)`, `- Command: \`${command}\``, `- Git: ${gitLine(head)}`, '', table(rows), ''].join('\n');
  process.stdout.write(`\n${table(rows)}\n`);
  writeDoc(section);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
