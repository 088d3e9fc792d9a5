/**
 * A delivery that stalls more often than hub.worker.maxStalledCount allows (1, the default: two crashes are too many) is failed by
 * BullMQ itself, without the processor running. It is a dead letter like any other: the case's trace says `dead`
 * with the code DELIVERY_STALLED, the route's dead-letter counter counts it, and a replay delivers it. Before, such a
 * job sat in the failed set while its case showed in flight for ever and the counters said no dead letter.
 */
import type { Job } from 'bullmq';
import { deliveryQueueName } from '../../src/core/queues';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { dayOf } from '../../src/core/store/stats-store';
import { crashBed, crashBedYaml } from '../helpers/crash-bed';
import { eventually } from '../helpers/hub';

const YAML = crashBedYaml('stally', ', maxStalledCount: 1');
const TOTAL = 6;

describe('a delivery stalled out (maxStalledCount exceeded)', () => {
  const bed = crashBed(YAML);
  const worker = bed.worker;

  it('is a recorded dead letter (trace, counter) that a replay delivers; a delivery that did not stall is not one', async () => {
    const t = bed.hub();
    const events = Array.from({ length: TOTAL }, (_, i) => ({ eventId: `s-${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `s-${i}` }, parties: [] } }));
    await t.hub.intake.ingest('inbox', 'inbox', events);
    const sink = new RedisConnectionState(t.redis, t.prefix, 'sink');
    const started = () => t.redis.scard(`${t.prefix}state:sink:started`);
    const queue = t.hub.runtime.queues.get(deliveryQueueName('sink'));

    /** Starts a worker and kills it outright once `inHand` holds (it has those deliveries under way). */
    const crashWhen = async (inHand: () => Promise<boolean>, what: string) => {
      const victim = worker();
      try {
        await eventually(inHand, 15000, what);
      } finally {
        victim.child.kill('SIGKILL');
      }
      await victim.exited;
    };
    // A job taken over once, now in a worker's hands (its lock held): killing that worker stalls it a second time.
    const retakenInHand = async () => {
      for (const job of await queue.getJobs(['active'])) {
        if (job.stalledCounter >= 1 && (await t.redis.exists(`${queue.toKey(job.id ?? '')}:lock`))) return true;
      }
      return false;
    };
    await crashWhen(async () => (await started()) >= 2, 'deliveries under way');
    await crashWhen(retakenInHand, 'a delivery taken over after the first crash, under way again');

    const rescuer = worker();
    try {
      // Every job ends: delivered by the rescuer, or failed by BullMQ for stalling.
      const settled = await eventually(async () => {
        const c = await queue.getJobCounts('completed', 'failed');
        return c.completed + c.failed === TOTAL ? c : undefined;
      }, 30000, 'every job completed or failed');
      expect(settled.failed).toBeGreaterThan(0); // the victim had deliveries in hand
      const failed = (await queue.getJobs(['failed'])) as Array<Job<{ hubId: string }>>;
      for (const job of failed) expect(job.failedReason).toBe('job stalled more than allowable limit');

      // Each stalled-out case: one `dead` entry with the code, recorded by the rescuer.
      await eventually(async () => {
        const traces = await Promise.all(failed.map((j) => t.hub.runtime.traces.read(j.data.hubId)));
        return traces.every((tr) => tr.some((e) => e.stage === 'dead'));
      }, 15000, 'the stalled-out deliveries traced as dead');
      for (const job of failed) {
        const dead = (await t.hub.runtime.traces.read(job.data.hubId)).filter((e) => e.stage === 'dead');
        expect(dead).toHaveLength(1);
        expect(dead[0]).toMatchObject({ route: 'stally', connection: 'sink', deliveryId: job.id, error: { code: 'DELIVERY_STALLED', retryable: false } });
      }
      // The negative: a delivery that completed has no dead entry.
      const completed = (await queue.getJobs(['completed'])) as Array<Job<{ hubId: string }>>;
      for (const job of completed) expect((await t.hub.runtime.traces.read(job.data.hubId)).some((e) => e.stage === 'dead')).toBe(false);
      const stats = await t.hub.runtime.stats.read(dayOf(new Date()), 'stally');
      expect(stats.dead).toBe(failed.length);

      // A dead letter like any other: retried, it is delivered. (Exactly-once across a crash is worker-crash.test.ts's
      // subject; here the victim may have been killed after the peer call, so a count is not asserted.)
      for (const job of failed) await job.retry('failed');
      await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === TOTAL, 30000, 'every case delivered after the replay');
    } finally {
      rescuer.child.kill('SIGTERM');
      await rescuer.exited;
    }
  }, 120000);
});
