/**
 * SIGTERM with deliveries in flight: a real worker process (`caseway worker`) finishes what it started, takes
 * nothing new and exits 0; nothing is lost, and a second worker delivers the rest exactly once.
 */
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { deliveryQueueName } from '../../src/core/queues';
import { cliSetup, spawnCaseway } from '../helpers/cli';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';

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
const TOTAL = 12;

describe('graceful shutdown', () => {
  let t: TestHub;
  const cli = cliSetup(YAML);
  const startWorker = () => spawnCaseway(cli, t.prefix, ['--log-level', 'warn', 'worker']);

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, roles: { api: false, workers: false }, dataKey: cli.dataKey });
  });
  afterAll(async () => {
    await t.stop();
    cli.cleanup();
  });

  it('finishes in-flight jobs on SIGTERM, loses none, and another worker delivers the rest once', async () => {
    const events = Array.from({ length: TOTAL }, (_, i) => ({ eventId: `ev-${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `c-${i}` }, parties: [] } }));
    await t.hub.intake.ingest('inbox', 'inbox', events);
    const sink = new RedisConnectionState(t.redis, t.prefix, 'sink');
    const queue = t.hub.runtime.queues.get(deliveryQueueName('sink'));

    const first = startWorker();
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

    const second = startWorker();
    await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === TOTAL, 20000, 'all deliveries');
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    const all = Object.keys(await sink.hashGetAll('deliveries'));
    for (const id of all) expect(await sink.get(`count:${id}`)).toBe('1');
  }, 120000);
});
