/**
 * Upgrading a Redis that ran BullMQ 5: a paused queue kept its jobs in a `<queue>:paused` list, which BullMQ 6 reads only
 * inside `resume()`. The hub's start-up migration (migrateLegacyPausedLists) moves them into `wait`, so they count as
 * waiting while the queue stays paused and are delivered once it is resumed. Real Redis; the v5 layout is written by hand.
 */
import axios from 'axios';
import { Queue, QueueKeys } from 'bullmq';
import { Redis } from 'ioredis';
import { migrateLegacyPausedLists } from '../../src/core/queues';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { queueCounts } from '../../src/ops/overview';
import { eventually, startTestHub } from '../helpers/hub';
import { quietRedis, REDIS_URL, testRedis } from '../helpers/redis';

const YAML = `
connections:
  inbox: { adapter: recorder }
  alpha: { adapter: recorder, delivery: { attempts: 3, backoffMs: 50 } }
routes:
  - name: straight
    from: { connection: inbox, source: inbox }
    to:
      - { connection: alpha, action: record }
`;

describe('a BullMQ 5 paused list at start-up', () => {
  it('counts the job as waiting while the queue stays paused, and delivers it after resume', async () => {
    // A hub on 6 takes a case while its delivery queue is paused: the job waits in `wait`.
    const dataKey = PayloadCipher.generateKey(); // both hubs read the same encrypted case
    const first = await startTestHub({ yaml: YAML, dataKey });
    const prefix = first.prefix;
    await first.hub.runtime.queues.get('deliver.alpha').pause();
    const { data } = await axios.post(`${first.baseUrl}/recorder/inbox`, {
      eventId: 'e-legacy',
      case: { type: 'complaint', source: { system: 'recorder', id: 'src-legacy' }, parties: [{ roles: ['customer'], person: { surname: 'Zyxwvutsrq' } }] },
    });
    const hubId = data.results[0].hubId as string;
    await first.stopKeepingState();

    // Rewrite it the way BullMQ 5 kept a paused queue: its pause script renamed `wait` to `paused` and set meta.paused
    // (the job hash itself is the same in 5 and 6: storeJob.lua did not change). No marker: 5's pause deleted it.
    const raw = quietRedis(new Redis(REDIS_URL));
    const k = new QueueKeys(`${prefix}q`).getKeys('deliver.alpha');
    const ids = await raw.lrange(k.wait, 0, -1);
    expect(ids).toHaveLength(1);
    await raw.rename(k.wait, k.paused);
    await raw.hset(k.meta, 'paused', '1', 'version', 'bullmq:5.81.5');
    await raw.del(k.marker);
    // BullMQ 6 on its own does not see the job until someone resumes the queue (the hazard the migration answers).
    const bare = new Queue('deliver.alpha', { connection: raw, prefix: `${prefix}q` });
    expect(await bare.getJobCounts('waiting')).toEqual({ waiting: 0 });
    expect(await bare.isPaused()).toBe(true);
    await bare.close();

    const second = await startTestHub({ yaml: YAML, prefix, dataKey });
    try {
      const alpha = new RedisConnectionState(second.redis, prefix, 'alpha');
      const delivered = async () => Object.values(await alpha.hashGetAll('deliveries')).map((v) => JSON.parse(v) as { hubId: string });
      const queue = second.hub.runtime.queues.get('deliver.alpha');
      expect(await raw.exists(k.paused)).toBe(0);
      expect(await queue.isPaused()).toBe(true);
      const overview = (await queueCounts(second.hub)).find((q) => q.name === 'deliver.alpha');
      expect(overview).toMatchObject({ paused: true, backlog: 1, counts: { waiting: 1 } });
      expect(await queue.getJobState(ids[0])).toBe('waiting');
      expect(await delivered()).toEqual([]);

      await queue.resume();
      await eventually(async () => (await delivered()).length > 0, 10000, 'the delivery after resume');
      expect((await delivered()).map((d) => d.hubId)).toEqual([hubId]);
      expect(await queue.getJobState(ids[0])).toBe('completed');
    } finally {
      raw.disconnect();
      await second.stop();
    }
  });

  it('puts the old ids at the consuming end of wait in order, batch by batch, keeps the paused flag, and runs again to no effect', async () => {
    const { redis, prefix, cleanup } = testRedis();
    try {
      const qp = `${prefix}q`;
      const keys = new QueueKeys(qp);
      const a = keys.getKeys('deliver.a');
      const b = keys.getKeys('deliver.b');
      const c = keys.getKeys('deliver.c');
      // BullMQ adds at the head (LPUSH) and workers take from the tail: j1 is the oldest job.
      await redis.lpush(a.paused, 'j1', 'j2', 'j3', 'j4', 'j5');
      await redis.lpush(a.wait, 'n1', 'n2'); // added since, by BullMQ 6 (a is not paused)
      await redis.lpush(b.paused, 'p1', 'p2');
      await redis.hset(b.meta, 'paused', '1');
      await redis.set(c.paused, 'not a list');

      const moved = await migrateLegacyPausedLists(redis, qp, ['deliver.a', 'deliver.b', 'deliver.c'], 2);
      expect([...moved]).toEqual([
        ['deliver.a', 5],
        ['deliver.b', 2],
      ]);
      // In the order workers will take them (tail first): the old jobs, oldest first, then the newer ones.
      expect((await redis.lrange(a.wait, 0, -1)).reverse()).toEqual(['j1', 'j2', 'j3', 'j4', 'j5', 'n1', 'n2']);
      expect((await redis.lrange(b.wait, 0, -1)).reverse()).toEqual(['p1', 'p2']);
      expect(await redis.exists(a.paused, b.paused)).toBe(0);
      // a runs: its workers are woken. b stays paused: no marker until it is resumed.
      expect(await redis.zscore(a.marker, '0')).toBe('0');
      expect(await redis.hget(b.meta, 'paused')).toBe('1');
      expect(await redis.exists(b.marker)).toBe(0);
      // Anything else under that name is not BullMQ 5's list: left alone.
      expect(await redis.get(c.paused)).toBe('not a list');
      expect(await redis.exists(c.wait)).toBe(0);

      expect((await migrateLegacyPausedLists(redis, qp, ['deliver.a', 'deliver.b', 'deliver.c'])).size).toBe(0);
      expect(await redis.llen(a.wait)).toBe(7);
      expect(await redis.llen(b.wait)).toBe(2);
    } finally {
      await cleanup();
    }
  });
});
