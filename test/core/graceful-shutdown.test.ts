/**
 * SIGTERM with deliveries in flight: a real worker process (`caseway worker`) finishes what it started, takes
 * nothing new and exits 0; nothing is lost, and a second worker delivers the rest exactly once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { deliveryQueueName } from '../../src/core/queues';
import { FIXTURE_ADAPTER_DIR, eventually, startTestHub, type TestHub } from '../helpers/hub';
import { REDIS_URL } from '../helpers/redis';

const YAML = `
connections:
  inbox: { adapter: recorder }
  sink:
    adapter: recorder
    settings: { delayMs: 400 }
    delivery: { concurrency: 3, attempts: 3, backoffMs: 100 }
routes:
  - name: slow
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;
const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');
const TOTAL = 12;

function startWorker(configFile: string, prefix: string, dataKey: string): { child: ChildProcess; exited: Promise<number | null>; output: () => string } {
  let output = '';
  const child = spawn(process.execPath, [CLI, '--config', configFile, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--prefix', prefix, '--redis', REDIS_URL, '--log-level', 'warn', 'worker'], {
    env: { ...process.env, CASEWAY_DATA_KEY: dataKey, PORT: '0', HOST: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

describe('graceful shutdown', () => {
  let t: TestHub;
  const dataKey = PayloadCipher.generateKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-sigterm-'));
  const configFile = path.join(dir, 'caseway.yaml');
  writeFileSync(configFile, YAML);

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, roles: { api: false, workers: false }, dataKey });
  });
  afterAll(async () => t.stop());

  it('finishes in-flight jobs on SIGTERM, loses none, and another worker delivers the rest once', async () => {
    const events = Array.from({ length: TOTAL }, (_, i) => ({ eventId: `ev-${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `c-${i}` }, parties: [] } }));
    await t.hub.intake.ingest('inbox', 'inbox', events);
    const sink = new RedisConnectionState(t.redis, t.prefix, 'sink');
    const queue = t.hub.runtime.queues.get(deliveryQueueName('sink'));

    const first = startWorker(configFile, t.prefix, dataKey);
    await eventually(async () => (await t.redis.scard(`${t.prefix}state:sink:started`)) >= 2, 15000, 'deliveries to start');
    // A worker process serves probes and its own metrics.
    const probes = /Probes\s+(http:\/\/\S+)/.exec(first.output())?.[1];
    expect(probes).toBeDefined();
    const metrics = await fetch(`${probes}/metrics`).then((r) => r.text());
    expect(metrics).toContain('caseway_deliveries_total');
    expect((await fetch(`${probes}/healthz`)).status).toBe(200);
    first.child.kill('SIGTERM');
    const code = await first.exited;
    expect({ code, output: first.output() }).toMatchObject({ code: 0 });

    const started = await t.redis.smembers(`${t.prefix}state:sink:started`);
    const deliveredAfterFirst = Object.keys(await sink.hashGetAll('deliveries'));
    // Everything the worker started, it finished; it stopped taking new work.
    expect(deliveredAfterFirst.sort()).toEqual(started.sort());
    expect(deliveredAfterFirst.length).toBeLessThan(TOTAL);
    const counts = await queue.getJobCounts('active', 'failed', 'completed', 'waiting', 'delayed', 'prioritized');
    expect(counts.active).toBe(0);
    expect(counts.failed).toBe(0);
    expect(counts.completed + counts.waiting + counts.delayed + counts.prioritized).toBe(TOTAL);

    const second = startWorker(configFile, t.prefix, dataKey);
    await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === TOTAL, 20000, 'all deliveries');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const all = Object.keys(await sink.hashGetAll('deliveries'));
    for (const id of all) expect(await sink.get(`count:${id}`)).toBe('1');
  }, 60000);
});
