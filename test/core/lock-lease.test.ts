/**
 * A connection-state lock is a lease: its holder renews it while it runs, so work that outlasts the TTL (a poll of a
 * large iSupport export over a slow link, past the poll lock's 60 s) is not joined by a second holder; the TTL bounds
 * only how long a holder that died keeps it. Real Redis; every wait is for a condition.
 */
import { Redis } from 'ioredis';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually } from '../helpers/hub';
import { quietRedis, REDIS_URL, testRedis } from '../helpers/redis';

jest.setTimeout(60000);

/** Long enough that a loaded machine's timer delays (a renewal runs every TTL / 3) do not lose the lease. */
const TTL_MS = 3000;

describe('a connection-state lock held past its TTL', () => {
  const { redis, prefix, cleanup } = testRedis();
  afterAll(cleanup);
  const key = (name: string) => `${prefix}state:c:lock:${name}`;

  it('stays with a live holder until it releases it, and is free at once after', async () => {
    const holder = new RedisConnectionState(redis, prefix, 'c');
    const other = new RedisConnectionState(redis, prefix, 'c');
    const release = await holder.lock('poll:export', TTL_MS);
    expect(release).not.toBeNull();
    const takenAt = Date.now();
    // Three TTLs later (without renewal it expired after one) it is still the holder's, and nobody else gets it.
    await eventually(async () => Date.now() - takenAt > 3 * TTL_MS, 4 * TTL_MS + 30000, 'three TTLs to pass');
    expect(await redis.pttl(key('poll:export'))).toBeGreaterThan(0);
    expect(await other.lock('poll:export', TTL_MS)).toBeNull();
    await release!();
    const next = await other.lock('poll:export', TTL_MS);
    expect(next).not.toBeNull();
    await next!();
  });

  it('is given up by a holder that is gone: no renewal, the lock expires after its TTL', async () => {
    const gone = quietRedis(new Redis(REDIS_URL));
    const holder = new RedisConnectionState(gone, prefix, 'c');
    expect(await holder.lock('poll:gone', TTL_MS)).not.toBeNull();
    gone.disconnect(); // the holder's process as Redis sees it after a SIGKILL: no more renewals
    await eventually(async () => (await redis.exists(key('poll:gone'))) === 0, TTL_MS + 30000, 'the lock to expire');
    const other = new RedisConnectionState(redis, prefix, 'c');
    const release = await other.lock('poll:gone', TTL_MS);
    expect(release).not.toBeNull();
    await release!();
  });

  it("never extends a lock that has become another holder's", async () => {
    const holder = new RedisConnectionState(redis, prefix, 'c');
    const release = await holder.lock('poll:taken', TTL_MS);
    expect(release).not.toBeNull();
    // The lock is lost (deleted, as by an operator) and taken by another with a TTL of its own: the first holder's
    // renewals must not keep the other's lock alive.
    // Its TTL outlasts the first holder's next renewals (every TTL_MS / 3), which must leave it alone.
    await redis.set(key('poll:taken'), 'another-token', 'PX', 2 * TTL_MS);
    await eventually(async () => (await redis.exists(key('poll:taken'))) === 0, 2 * TTL_MS + 30000, "the other holder's lock to expire");
    await release!(); // a no-op: the lock is not this holder's any more
    expect(await redis.exists(key('poll:taken'))).toBe(0);
  });
});
