/**
 * How often the workers look for jobs whose lock lapsed (a worker died, or Redis ran a worker's fetch and the reply was
 * lost in a restart, so no worker runs the job): every 5 s unless hub.worker.stalledIntervalMs says otherwise, where
 * BullMQ's own default is 30 s. Read off Redis: each check sets the queue's `stalled-check` key for one interval
 * (SET ... PX <interval>), so its remaining time shows the interval the workers were given.
 */
import { DEFAULT_STALLED_INTERVAL_MS, deliveryQueueName, workerTakeover } from '../../src/core/queues';
import { INBOX_TO_SINK_YAML, eventually, startTestHub, type TestHub } from '../helpers/hub';

const yaml = (worker: string) => `${worker ? `hub:\n  worker: ${worker}\n` : ''}${INBOX_TO_SINK_YAML}`;

/** The remaining time of the delivery queue's stall-check key, once a check has set it. */
async function checkKeyTtl(t: TestHub): Promise<number> {
  const key = t.hub.runtime.queues.get(deliveryQueueName('sink')).toKey('stalled-check');
  return eventually(async () => {
    const ttl = await t.redis.pttl(key);
    return ttl > 0 ? ttl : undefined;
  }, 20000, 'a stalled-job check');
}

describe('the stalled-job check', () => {
  it('is given 5 s by default and the configured interval otherwise; the lock and stall count stay BullMQ\'s unless set', () => {
    expect(DEFAULT_STALLED_INTERVAL_MS).toBe(5000);
    expect(workerTakeover({})).toEqual({ stalledInterval: 5000 });
    expect(workerTakeover({ hub: { worker: { stalledIntervalMs: 30000 } } })).toEqual({ stalledInterval: 30000 });
    expect(workerTakeover({ hub: { worker: { lockDurationMs: 10000, maxStalledCount: 2 } } })).toEqual({ lockDuration: 10000, stalledInterval: 5000, maxStalledCount: 2 });
  });

  it('runs every 5 s in a hub with no hub.worker settings', async () => {
    const t = await startTestHub({ yaml: yaml('') });
    try {
      const ttl = await checkKeyTtl(t);
      expect(ttl).toBeLessThanOrEqual(DEFAULT_STALLED_INTERVAL_MS);
    } finally {
      await t.stop();
    }
  });

  it('runs at the configured interval when hub.worker.stalledIntervalMs is set', async () => {
    const t = await startTestHub({ yaml: yaml('{ stalledIntervalMs: 40000 }') });
    try {
      const ttl = await checkKeyTtl(t);
      expect(ttl).toBeGreaterThan(DEFAULT_STALLED_INTERVAL_MS);
      expect(ttl).toBeLessThanOrEqual(40000);
    } finally {
      await t.stop();
    }
  });
});
