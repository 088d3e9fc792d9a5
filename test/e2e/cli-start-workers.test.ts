/**
 * `caseway start` on more than one core: the api in the process started, delivery in `--workers` child processes
 * (`caseway worker` forked over IPC), supervised. Real processes, real Redis; every wait is for a condition.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { HUB_NODE_FLAGS, withHubNodeFlags } from '../../src/cli/node-flags';
import { resolveOptions } from '../../src/cli/options';
import { workerArgs, workerProcessCount } from '../../src/cli/run-hub';
import { defaultWorkerProcesses } from '../../src/cli/supervisor';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { deliveryQueueName } from '../../src/core/queues';
import { deleteKeysWithPrefix } from '../../src/core/redis';
import { Keys } from '../../src/core/store/keys';
import { CLI_TIMEOUT_MS, cliSetup, processAlive, runCaseway, spawnCaseway, type CliProcess } from '../helpers/cli';
import { eventually } from '../helpers/hub';
import { quietRedis, REDIS_URL } from '../helpers/redis';

const YAML = `
hub:
  shutdownTimeoutMs: 15000
  worker: { lockDurationMs: 1500, stalledIntervalMs: 1000 }
connections:
  inbox: { adapter: recorder }
  sink:
    adapter: recorder
    settings: { delayMs: 300 }
    delivery: { concurrency: 3, attempts: 3, backoffMs: 100 }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

/** A safety net for a loaded machine (a Node process may take many seconds to start), not a measurement. */
const START_MS = CLI_TIMEOUT_MS;

const alive = processAlive;

describe('caseway start with delivery processes', () => {
  const cli = cliSetup(YAML);
  const redis = quietRedis(new Redis(REDIS_URL));
  const tag = `cwtest-procs-${Math.random().toString(36).slice(2, 8)}`;
  const started: CliProcess[] = [];
  let n = 0;

  const startHub = (workers: string) => {
    const prefix = `${tag}-${n++}:`;
    const p = spawnCaseway(cli, prefix, ['--insecure-open-api', '--log-level', 'warn', '--workers', workers, 'start']);
    started.push(p);
    return { ...p, prefix };
  };
  const runningOrShow = async (p: CliProcess) => {
    await eventually(async () => /Caseway is running/.test(p.output()) || p.child.exitCode !== null, START_MS, 'the hub to start').catch((e: Error) => {
      throw new Error(`${e.message}\n--- hub output ---\n${p.output()}`);
    });
    if (!/Caseway is running/.test(p.output())) throw new Error(`the hub exited ${p.child.exitCode}\n--- hub output ---\n${p.output()}`);
    return /API\s+(http:\/\/\S+)/.exec(p.output())![1];
  };
  const exitsCleanly = async (p: CliProcess) => {
    const code = await p.exited;
    if (code !== 0) throw new Error(`the hub exited with ${code}\n--- hub output ---\n${p.output()}`);
  };
  const metrics = (url: string) => fetch(`${url}/metrics`).then((r) => r.text());
  /** Worker pids as /metrics reports them (caseway_process_info{role="worker"}). */
  const workerPids = async (url: string) => [...(await metrics(url)).matchAll(/^caseway_process_info\{host="[^"]*",role="worker",version="[^"]*",pid="(\d+)"\} 1$/gm)].map((m) => Number(m[1])).sort();
  const metric = (text: string, line: RegExp) => Number(new RegExp(`^${line.source} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  const post = async (url: string, ids: string[]) => {
    const res = await fetch(`${url}/recorder/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(ids.map((id) => ({ eventId: id, case: { type: 'complaint', source: { system: 'recorder', id }, parties: [] } }))) });
    expect(res.status).toBe(200);
  };
  const sinkOf = (prefix: string) => new RedisConnectionState(redis, prefix, 'sink');

  afterAll(async () => {
    for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    for (let i = 0; i < n; i++) await deleteKeysWithPrefix(redis, `${tag}-${i}:`);
    redis.disconnect();
    cli.cleanup();
  });

  it('runs N delivery processes, restarts one killed outright, delivers everything exactly once, and stops them all on SIGTERM', async () => {
    const hub = startHub('2');
    const url = await runningOrShow(hub);
    expect(hub.output()).toContain('Caseway is running (api + 2 worker processes)');
    const first = await eventually(async () => {
      const pids = await workerPids(url);
      return pids.length === 2 && pids;
    }, START_MS, 'two worker processes in /metrics');
    expect(first).not.toContain(hub.child.pid);
    // Each worker runs with the hub's V8 flags (src/cli/node-flags.ts); the test's own process was started without them.
    for (const pid of first) expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining([...HUB_NODE_FLAGS]));
    expect(readFileSync(`/proc/${hub.child.pid}/cmdline`, 'utf8').split('\0')).not.toEqual(expect.arrayContaining([...HUB_NODE_FLAGS]));
    const before = await metrics(url);
    expect(before).toMatch(new RegExp(`^caseway_process_info\\{host="[^"]*",role="api",version="[^"]*",pid="${hub.child.pid}"\\} 1$`, 'm'));
    expect(metric(before, /caseway_worker_processes\{state="ready"\}/)).toBe(2);
    expect(metric(before, /caseway_worker_process_restarts_total/)).toBe(0);

    // Posted before the crash; one worker is killed with deliveries of its own under way.
    const sink = sinkOf(hub.prefix);
    await post(url, Array.from({ length: 12 }, (_, i) => `before-${i}`));
    await eventually(async () => (await redis.scard(`${hub.prefix}state:sink:started`)) >= 4, START_MS, 'deliveries under way');
    process.kill(first[0], 'SIGKILL');
    const after = await eventually(async () => {
      const pids = await workerPids(url);
      return pids.length === 2 && !pids.includes(first[0]) && pids;
    }, START_MS, 'the killed worker to be replaced');
    expect(after).toContain(first[1]);
    expect(metric(await metrics(url), /caseway_worker_process_restarts_total/)).toBe(1);
    expect(hub.output()).toMatch(/worker process exited unexpectedly; restarting it/);
    await post(url, Array.from({ length: 12 }, (_, i) => `after-${i}`));

    await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === 24, START_MS, 'all 24 delivered');
    for (const id of Object.keys(await sink.hashGetAll('deliveries'))) expect({ id, count: await sink.get(`count:${id}`) }).toEqual({ id, count: '1' });
    // The api's /metrics counts the deliveries its workers made (the killed one's count went with it).
    expect(metric(await metrics(url), /caseway_deliveries_total\{route="main",connection="sink",outcome="delivered"\}/)).toBeGreaterThan(0);

    // SIGTERM with deliveries in flight: the workers finish them, everything exits 0, nothing is lost.
    await post(url, Array.from({ length: 12 }, (_, i) => `last-${i}`));
    await eventually(async () => (await redis.scard(`${hub.prefix}state:sink:started`)) > 24, START_MS, 'the last deliveries under way');
    hub.child.kill('SIGTERM');
    await exitsCleanly(hub);
    for (const pid of after) expect({ pid, alive: alive(pid) }).toEqual({ pid, alive: false });
    const startedIds = await redis.smembers(`${hub.prefix}state:sink:started`);
    const delivered = Object.keys(await sink.hashGetAll('deliveries'));
    expect(delivered.sort()).toEqual(startedIds.sort()); // every delivery begun was finished
    const queue = new Queue(deliveryQueueName('sink'), { connection: redis, prefix: new Keys(hub.prefix).queuePrefix });
    const counts = await queue.getJobCounts('active', 'failed', 'completed', 'waiting', 'delayed', 'prioritized');
    await queue.close();
    expect({ active: counts.active, failed: counts.failed }).toEqual({ active: 0, failed: 0 });
    expect(counts.completed).toBe(delivered.length);
    expect(counts.completed + counts.waiting + counts.delayed + counts.prioritized).toBe(36);
  }, 8 * START_MS);

  it('leaves no worker running when the parent is killed outright', async () => {
    const hub = startHub('1');
    const url = await runningOrShow(hub);
    expect(hub.output()).toContain('Caseway is running (api + 1 worker process)');
    const [worker] = await eventually(async () => {
      const pids = await workerPids(url);
      return pids.length === 1 && pids;
    }, START_MS, 'one worker process');
    hub.child.kill('SIGKILL');
    await hub.exited;
    await eventually(async () => !alive(worker), START_MS, 'the orphaned worker to stop itself');
    expect(hub.output()).toMatch(/the caseway start that ran this worker has gone/);
  }, 3 * START_MS);

  it('--workers 0 keeps api and delivery in one process', async () => {
    const hub = startHub('0');
    const url = await runningOrShow(hub);
    expect(hub.output()).toContain('Caseway is running (api + workers)');
    const text = await metrics(url);
    expect(text).toMatch(new RegExp(`^caseway_process_info\\{host="[^"]*",role="start",version="[^"]*",pid="${hub.child.pid}"\\} 1$`, 'm'));
    expect(text).not.toContain('role="worker"');
    expect(text).not.toContain('caseway_worker_processes');
    await post(url, ['solo-1', 'solo-2']);
    await eventually(async () => Object.keys(await sinkOf(hub.prefix).hashGetAll('deliveries')).length === 2, START_MS, 'both delivered by the one process');
    hub.child.kill('SIGTERM');
    await exitsCleanly(hub);
  }, 3 * START_MS);

  it('refuses a bad --workers or CASEWAY_WORKERS on one line with exit 2, before anything starts', async () => {
    const prefix = `${tag}-bad:`;
    const bad = runCaseway(cli, prefix, ['--workers', 'abc', 'start']);
    expect({ status: bad.status, stderr: bad.stderr.trim() }).toEqual({ status: 2, stderr: 'caseway: --workers must be auto or a whole number from 0 (api and delivery in one process) to 64, not "abc"' });
    expect(runCaseway(cli, prefix, ['--workers', '65', 'start']).status).toBe(2);
    expect(runCaseway(cli, prefix, ['--workers', '-1', 'start']).status).toBe(2);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    expect(() => resolveOptions({}, { CASEWAY_WORKERS: 'two' })).toThrow('CASEWAY_WORKERS must be auto or a whole number');
  });

  it('a sandbox run stays one process, whatever --workers says', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-sandbox-workers-'));
    const config = path.join(dir, 'caseway.yaml');
    writeFileSync(config, YAML.replace('inbox: { adapter: recorder }', 'inbox: { adapter: recorder, sandbox: true }'));
    const local = { ...cli, configFile: config };
    const prefix = `${tag}-${n++}:`;
    const hub = spawnCaseway(local, prefix, ['--log-level', 'warn', '--workers', '2', 'start']);
    started.push(hub);
    try {
      await runningOrShow(hub);
      expect(hub.output()).toContain('Caseway is running (api + workers)');
      expect(hub.output()).toContain('caseway: a sandbox run is one process (its sandbox peers run in it); --workers 2 is not used.');
      hub.child.kill('SIGTERM');
      await exitsCleanly(hub);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 3 * START_MS);
});

describe('how many delivery processes caseway start forks', () => {
  const opts = (raw: Parameters<typeof resolveOptions>[0] = {}, env: NodeJS.ProcessEnv = {}) => resolveOptions(raw, env);

  it('one per core beyond the first by default, none on one core; a sandbox run none', () => {
    expect(defaultWorkerProcesses(1)).toBe(0);
    expect(defaultWorkerProcesses(2)).toBe(1);
    expect(defaultWorkerProcesses(8)).toBe(7);
    expect(workerProcessCount(opts(), false, 2)).toBe(1);
    expect(workerProcessCount(opts(), false, 1)).toBe(0);
    expect(workerProcessCount(opts({ workers: 'auto' }), false, 4)).toBe(3);
    expect(workerProcessCount(opts({ workers: '3' }), false, 1)).toBe(3);
    expect(workerProcessCount(opts({}, { CASEWAY_WORKERS: '0' }), false, 8)).toBe(0);
    expect(workerProcessCount(opts({ workers: '2' }, { CASEWAY_WORKERS: '5' }), false, 8)).toBe(2);
    expect(workerProcessCount(opts({ workers: '2' }), true, 8)).toBe(0);
  });

  it('children get the hub\'s V8 flags after the parent\'s own, unless the operator set the same flag', () => {
    expect(HUB_NODE_FLAGS).toEqual(['--max-semi-space-size=16']);
    expect(withHubNodeFlags([], '')).toEqual(['--max-semi-space-size=16']);
    expect(withHubNodeFlags(['--enable-source-maps'], '--trace-warnings')).toEqual(['--enable-source-maps', '--max-semi-space-size=16']);
    // The operator's value wins, on the command line (either spelling) or in NODE_OPTIONS.
    expect(withHubNodeFlags(['--max-semi-space-size=64'], '')).toEqual(['--max-semi-space-size=64']);
    expect(withHubNodeFlags(['--max_semi_space_size=8'], '')).toEqual(['--max_semi_space_size=8']);
    expect(withHubNodeFlags([], '--inspect --max-semi-space-size=32')).toEqual([]);
  });

  it('children get the resolved settings: the Redis actually used, the prefix, extra adapter folders', () => {
    const o = opts({ config: 'x/caseway.yaml', adapterDir: ['extra'], logLevel: 'warn', sandbox: 'false' });
    expect(workerArgs(o, 'redis://127.0.0.1:7000', 'p:')).toEqual([
      '--config', path.resolve('x/caseway.yaml'), '--redis', 'redis://127.0.0.1:7000', '--sandbox', 'false', '--prefix', 'p:', '--adapter-dir', path.resolve('extra'), '--log-level', 'warn', 'worker',
    ]);
    expect(workerArgs(opts(), 'redis://r:1', undefined)).not.toContain('--prefix');
  });
});
