/**
 * A worker process killed outright (SIGKILL) in the middle of deliveries: its jobs' locks lapse, another worker takes
 * them over, and every case reaches the peer exactly once (the in-flight ones had not reached it yet; the delivery
 * record and deterministic job ids stop anything finished from being sent again).
 */
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { deliveryQueueName } from '../../src/core/queues';
import { crashBed, crashBedYaml } from '../helpers/crash-bed';
import { eventually } from '../helpers/hub';

const YAML = crashBedYaml('crashy');
const TOTAL = 12;

describe('worker crash (SIGKILL)', () => {
  const bed = crashBed(YAML);
  const worker = bed.worker;

  it('loses nothing and delivers nothing twice when a worker is killed mid-delivery', async () => {
    const t = bed.hub();
    const events = Array.from({ length: TOTAL }, (_, i) => ({ eventId: `k-${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `k-${i}` }, parties: [] } }));
    await t.hub.intake.ingest('inbox', 'inbox', events);
    const sink = new RedisConnectionState(t.redis, t.prefix, 'sink');
    const started = () => t.redis.scard(`${t.prefix}state:sink:started`);

    const victim = worker();
    try {
      await eventually(async () => (await started()) >= 4, 15000, 'deliveries under way');
    } finally {
      // Killed on the way out too: a timeout above must not leave a worker running past the test.
      victim.child.kill('SIGKILL');
    }
    expect(await victim.exited).toBeNull();
    const deliveredAtCrash = Object.keys(await sink.hashGetAll('deliveries')).length;
    const startedAtCrash = await started();
    expect(deliveredAtCrash).toBeLessThan(startedAtCrash); // some deliveries were cut off mid-way

    const rescuer = worker();
    try {
      await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === TOTAL, 30000, 'every case delivered');
      const queue = t.hub.runtime.queues.get(deliveryQueueName('sink'));
      await eventually(async () => (await queue.getJobCounts('completed')).completed === TOTAL, 10000, 'every job completed');
      expect((await queue.getJobCounts('failed')).failed).toBe(0);
      for (const id of Object.keys(await sink.hashGetAll('deliveries'))) expect(await sink.get(`count:${id}`)).toBe('1');
    } finally {
      rescuer.child.kill('SIGTERM');
      await rescuer.exited;
    }
  }, 120000);
});
