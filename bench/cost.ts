/**
 * What one case costs on the real path, in units a busy machine does not distort: CPU milliseconds of the hub
 * process per case, Redis's own CPU milliseconds per case (it shares the machine's cores) and Redis commands (and
 * transactions, scripts) per case, for `POST /etd/application` into one
 * `caseway start` delivering to the iCasework and IIZUKA peers (the same setup as bench/real-path.ts). Wall-clock
 * figures are printed too, for what they are worth on a shared machine. Used to compare before/after a change:
 *   npx tsc -p tsconfig.build.json && bash scripts/node24.sh node dist/bench/cost.js
 *   COST_CASES=2000 COST_CONNECTIONS=50 COST_CPU_PROF=/tmp/prof   (a --cpu-prof of the hub process, optional)
 *   COST_DELIVERY_CONCURRENCY=64   (the route's delivery concurrency, as `npm run bench` sets it)
 *   COST_HUB_ARGS="--workers 0"   (extra `caseway` flags; CPU is summed over the hub process and its delivery processes)
 *   COST_TARGETS=icasework   (the same route to iCasework alone: one delivery per case)
 *   COST_RATE=200   (post at that many applications per second in all, spread evenly as the bench's steady line does,
 *                    instead of as fast as answered)
 *   COST_PEER_PROXY=1   (the peers behind the counting proxy, as before 2026-11-30; default: called directly, the calls
 *                        recorded in the peer process)
 *   COST_MEMORY=1   (also Redis memory at rest once every case is delivered: MEMORY USAGE of every key, summed by key
 *                    shape, per case stored: what to size Redis by)
 *   COST_MONITOR=1   (also tallies the measured run's commands by command and key shape, from MONITOR: Lua's own
 *                     commands included; slows Redis, so its CPU figures are not comparable)
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { dayOf } from '../src/core/store/stats-store';
import { keyShape, redisCpuMs, resetSlowlog, slowlogSummary } from './lib/redis-shapes';
import { waitedForCpuMs, wakeUps, freePort, loadApplications, paceApplications, hubConfig, newHubEnv, percentile, startHub, startPeer, startRedis, stopChild, waitFor, watchCount } from './lib/harness';

const CASES = Number(process.env.COST_CASES ?? 2000);
const CONNECTIONS = Number(process.env.COST_CONNECTIONS ?? 50);
/** The route's delivery concurrency (COST_DELIVERY_CONCURRENCY; 64 as in `npm run bench`). */
const DELIVERY_CONCURRENCY = Number(process.env.COST_DELIVERY_CONCURRENCY ?? 64);
const ROUTE = 'etd-applications';
/** Applications posted and delivered before the measured run (not measured; their keys count in COST_MEMORY). */
const WARM_UP = 300;
/** COST_TARGETS=icasework: the ETD route to iCasework alone (one delivery per case) instead of iCasework + IIZUKA. */
const TARGETS = process.env.COST_TARGETS === 'icasework' ? 'icasework' : 'both';
const PER_CASE = TARGETS === 'icasework' ? 1 : 2;
/** The peers without the forwarding proxy (no extra HTTP hop); COST_PEER_PROXY=1 puts it back. */
const DIRECT = { direct: process.env.COST_PEER_PROXY !== '1' };
/** COST_RATE=200: the measured run posts at that many applications per second in all, as the bench's steady line does. */
const RATE = process.env.COST_RATE ? Number(process.env.COST_RATE) : undefined;

/** utime + stime of a process, ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** The hub process and the delivery processes `caseway start` forked (Linux: /proc/<pid>/task/<pid>/children). */
function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    // gone, or not Linux
  }
  return [pid, ...children.flatMap(processTree)];
}

/** Write and read system calls of a process so far (/proc/<pid>/io syscw, syscr): socket writes are most of them. */
function syscalls(pid: number): { writes: number; reads: number; bytesWritten: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
  return { writes: field('syscw'), reads: field('syscr'), bytesWritten: field('wchar') };
}

async function commandStats(r: Redis): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await r.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (m) out.set(m[1], Number(m[2]));
  }
  return out;
}


/** Bytes Redis has read from and written to its clients so far (INFO stats). */
async function redisNetBytes(r: Redis): Promise<{ input: number; output: number }> {
  const info = await r.info('stats');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { input: field('total_net_input_bytes'), output: field('total_net_output_bytes') };
}

/**
 * COST_MEMORY: Redis memory by key shape (MEMORY USAGE, exact: SAMPLES 0), per case stored (the warm-up's cases
 * included). Queue keys are bounded (BullMQ keeps a set number of completed jobs), the per-case keys grow with retention.
 */
async function memoryAtRest(r: Redis, prefix: string, casesStored: number): Promise<{ casesStored: number; usedMemoryPerCase: string; keysBytesPerCase: string; byShape: string[] }> {
  const total = new Map<string, { keys: number; bytes: number }>();
  let cursor = '0';
  do {
    const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    const pipe = r.pipeline();
    for (const key of keys) pipe.memory('USAGE', key, 'SAMPLES', 0);
    const replies = (await pipe.exec()) ?? [];
    keys.forEach((key, i) => {
      const shape = keyShape(key, prefix);
      const t = total.get(shape) ?? { keys: 0, bytes: 0 };
      t.keys += 1;
      t.bytes += Number(replies[i]?.[1] ?? 0);
      total.set(shape, t);
    });
  } while (cursor !== '0');
  const used = Number(/used_memory:(\d+)/.exec(await r.info('memory'))?.[1] ?? 0);
  const sum = [...total.values()].reduce((a, t) => a + t.bytes, 0);
  return {
    casesStored,
    usedMemoryPerCase: (used / casesStored).toFixed(0),
    keysBytesPerCase: (sum / casesStored).toFixed(0),
    byShape: [...total].sort((a, b) => b[1].bytes - a[1].bytes).filter(([, t]) => t.bytes / casesStored >= 20).map(([k, t]) => `${(t.bytes / casesStored).toFixed(0)} B/case ${k} (${t.keys} keys)`),
  };
}

/** COST_MONITOR: counts of "command key-shape [lua]" per case (ids in keys replaced by *). */
async function monitorShapes(url: string, prefix: string): Promise<{ stop: (cases: number) => { commands: string[]; argumentBytes: string[] } }> {
  const client = new Redis(url);
  const m = await client.monitor();
  const counts = new Map<string, number>();
  const bytes = new Map<string, number>();
  m.on('monitor', (_time: string, args: string[], source: string) => {
    const [cmd, key] = args;
    const shape = keyShape(key ?? '', prefix);
    const name = `${cmd.toLowerCase()} ${shape}${source.includes('lua') ? ' [lua]' : ''}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
    // What the clients sent (a script's own commands cross no socket): arguments as MONITOR shows them.
    if (!source.includes('lua')) bytes.set(name, (bytes.get(name) ?? 0) + args.reduce((a, x) => a + Buffer.byteLength(x), 0));
  });
  return {
    stop: (cases: number) => {
      m.disconnect();
      client.disconnect();
      return {
        commands: [...counts].sort((a, b) => b[1] - a[1]).filter(([, v]) => v / cases >= 0.05).map(([k, v]) => `${(v / cases).toFixed(2)} ${k}`),
        argumentBytes: [...bytes].sort((a, b) => b[1] - a[1]).filter(([, v]) => v / cases >= 50).map(([k, v]) => `${(v / cases).toFixed(0)} ${k}`),
      };
    },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-cost-'));
  const redis = await startRedis(path.join(dir, 'redis'));
  const r = new Redis(redis.url);
  // Everything started is stopped, whatever failed: a hub that did not start used to leave Redis and the peers running.
  const children: ChildProcess[] = [];
  try {
    const peers = await Promise.allSettled([startPeer('icasework', DIRECT), startPeer('etd', DIRECT)]);
    for (const p of peers) if (p.status === 'fulfilled') children.push(p.value.child);
    const [icasework, iizuka] = peers.map((p) => {
      if (p.status === 'rejected') throw p.reason;
      return p.value;
    });
    const prefix = 'cost:';
    const env = newHubEnv(path.join(dir, 'hub'), hubConfig(icasework, iizuka, { deliveryConcurrency: DELIVERY_CONCURRENCY, attempts: 8, backoffMs: 1000, targets: TARGETS }), redis.url, prefix);
    const port = await freePort();
    const saved = process.env.NODE_OPTIONS;
    if (process.env.COST_CPU_PROF) process.env.NODE_OPTIONS = `${saved ?? ''} --cpu-prof --cpu-prof-dir=${process.env.COST_CPU_PROF}`.trim();
    const hub = await startHub(env, 'start', port, (process.env.COST_HUB_ARGS ?? '').split(/\s+/).filter(Boolean)).finally(() => {
      if (process.env.COST_CPU_PROF) process.env.NODE_OPTIONS = saved;
    });
    // The hub first: it stops before its peers and its Redis.
    children.unshift(hub.child);
    const delivered = async () => Number((await r.hget(`${prefix}stats:${dayOf(new Date())}:${ROUTE}`, 'delivered')) ?? 0);
    const url = `http://127.0.0.1:${port}`;
    await loadApplications(url, CONNECTIONS, 900, WARM_UP);
    await waitFor(async () => (await delivered()) >= WARM_UP * PER_CASE, 120000, 'warm-up');
    const pids = processTree(hub.child.pid!);
    const cpu0 = pids.map(cpuMs);
    const sys0 = pids.map(syscalls);
    const cmd0 = await commandStats(r);
    const monitor = process.env.COST_MONITOR ? await monitorShapes(redis.url, prefix) : undefined;
    const redisCpu0 = redisCpuMs(await r.info('cpu'));
    const peerPids = [icasework.child.pid, iizuka.child.pid].filter((p): p is number => p !== undefined);
    const peerCpu0 = peerPids.map(cpuMs);
    const waited = () => ({ hub: pids.reduce((a, pid) => a + waitedForCpuMs(pid), 0), redis: waitedForCpuMs(redis.pid()), peers: peerPids.reduce((a, pid) => a + waitedForCpuMs(pid), 0) });
    const waited0 = waited();
    const woken = () => ({ hub: pids.reduce((a, pid) => a + wakeUps(pid), 0), redis: wakeUps(redis.pid()), peers: peerPids.reduce((a, pid) => a + wakeUps(pid), 0) });
    const woken0 = woken();
    const ownCpu0 = process.cpuUsage();
    const net0 = await redisNetBytes(r);
    await resetSlowlog(r);
    const base = await delivered();
    const started = Date.now();
    const watch = watchCount(async () => (await delivered()) - base);
    const load = RATE ? await paceApplications(url, 1, CASES, RATE) : await loadApplications(url, CONNECTIONS, 1, CASES);
    await waitFor(async () => (await delivered()) - base >= PER_CASE * CASES, 600000, 'delivery', 50);
    watch.stop();
    const seconds = (Math.min(watch.reachedAt(PER_CASE * CASES) ?? Date.now(), Date.now()) - started) / 1000;
    const cpuEach = pids.map((pid, i) => cpuMs(pid) - cpu0[i]);
    const cpu = cpuEach.reduce((a, b) => a + b, 0);
    const sys1 = pids.map(syscalls);
    const sysEach = (k: 'writes' | 'reads' | 'bytesWritten') => sys1.map((s, i) => s[k] - sys0[i][k]);
    const sysDelta = (k: 'writes' | 'reads' | 'bytesWritten') => sysEach(k).reduce((a, b) => a + b, 0);
    const cmd1 = await commandStats(r);
    const redisCpu = redisCpuMs(await r.info('cpu')) - redisCpu0;
    const peerCpu = peerPids.reduce((a, pid, i) => a + cpuMs(pid) - peerCpu0[i], 0);
    const waited1 = waited();
    const woken1 = woken();
    const ownUsage = process.cpuUsage(ownCpu0);
    const ownCpu = (ownUsage.user + ownUsage.system) / 1000;
    const net1 = await redisNetBytes(r);
    const slow = await slowlogSummary(r, prefix);
    const delta = new Map([...cmd1].map(([k, v]) => [k, v - (cmd0.get(k) ?? 0)]));
    const total = [...delta.values()].reduce((a, b) => a + b, 0);
    const per = (k: string) => ((delta.get(k) ?? 0) / CASES).toFixed(2);
    const top = [...delta].sort((a, b) => b[1] - a[1]).filter(([, v]) => v / CASES >= 0.05).map(([k, v]) => `${k} ${(v / CASES).toFixed(2)}`);
    const shapes = monitor?.stop(CASES);
    const memory = process.env.COST_MEMORY ? await memoryAtRest(r, prefix, WARM_UP + CASES) : undefined;
    console.log(
      JSON.stringify(
        {
          cases: CASES,
          targets: TARGETS,
          peers: DIRECT.direct ? 'direct (calls recorded in the peer process)' : 'behind the counting proxy',
          connections: CONNECTIONS,
          ...(RATE ? { ratePerS: RATE } : {}),
          deliveryConcurrency: DELIVERY_CONCURRENCY,
          loadAverage: os.loadavg().map((l) => l.toFixed(1)).join(' '),
          hubProcesses: pids.length,
          hubCpuMsPerCase: (cpu / CASES).toFixed(2),
          hubCpuMsPerCaseEach: cpuEach.map((c) => (c / CASES).toFixed(2)).join(' + '),
          hubWriteSyscallsPerCase: (sysDelta('writes') / CASES).toFixed(1),
          hubWriteSyscallsPerCaseEach: sysEach('writes').map((w) => (w / CASES).toFixed(1)).join(' + '),
          hubBytesWrittenPerCase: (sysDelta('bytesWritten') / CASES).toFixed(0),
          hubBytesWrittenPerCaseEach: sysEach('bytesWritten').map((w) => (w / CASES).toFixed(0)).join(' + '),
          hubReadSyscallsPerCase: (sysDelta('reads') / CASES).toFixed(1),
          redisCpuMsPerCase: (redisCpu / CASES).toFixed(2),
          // The rest of the bed on the same cores: the two peers (each with its counting proxy under COST_PEER_PROXY=1),
          // and this process (autocannon posting the applications, the polls of the delivered counter).
          peersCpuMsPerCase: (peerCpu / CASES).toFixed(2),
          loadGeneratorCpuMsPerCase: (ownCpu / CASES).toFixed(2),
          bedCpuMsPerCase: ((cpu + redisCpu + peerCpu + ownCpu) / CASES).toFixed(2),
          // Time runnable but waiting for a CPU (schedstat), ms per case: what sharing two cores costs each in latency.
          waitedForCpuMsPerCase: `hub ${((waited1.hub - waited0.hub) / CASES).toFixed(2)}, Redis ${((waited1.redis - waited0.redis) / CASES).toFixed(2)}, peers ${((waited1.peers - waited0.peers) / CASES).toFixed(2)}`,
          // Times each went to sleep and was woken (voluntary context switches, all threads), per case: what a low rate
          // multiplies, and what a virtual machine charges for (docs/performance.md, Round 17).
          wakeUpsPerCase: `hub ${((woken1.hub - woken0.hub) / CASES).toFixed(1)}, Redis ${((woken1.redis - woken0.redis) / CASES).toFixed(1)}, peers ${((woken1.peers - woken0.peers) / CASES).toFixed(1)}`,
          redisBytesInOutPerCase: `${((net1.input - net0.input) / CASES).toFixed(0)} / ${((net1.output - net0.output) / CASES).toFixed(0)}`,
          redisCommandsPerCase: (total / CASES).toFixed(1),
          execPerCase: per('exec'),
          evalshaPerCase: per('evalsha'),
          topCommandsPerCase: top.join(', '),
          ackedPerS: (CASES / load.seconds).toFixed(0),
          deliveredPerS: (CASES / seconds).toFixed(0),
          ackP50P99: `${Math.round(percentile(load.latencies, 50))} / ${Math.round(percentile(load.latencies, 99))}`,
          errors: load.errors,
          // Commands of 10 ms or more during the measured run (Redis's slow log): a slow one holds up every client.
          slowCommands: slow.join(', ') || 'none',
          ...(shapes ? { byShape: shapes } : {}),
          ...(memory ? { memoryAtRest: memory } : {}),
        },
        null,
        1,
      ),
    );
  } finally {
    r.disconnect();
    if (children.length) await stopChild(children[0]);
    await Promise.all(children.slice(1).map((c) => stopChild(c)));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
