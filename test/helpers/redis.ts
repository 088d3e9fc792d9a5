import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/core/redis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * A test's own Redis client: a lost connection shows as the failing command's rejection (which fails the test with
 * its message), never as ioredis's "Unhandled error event" stack trace on stderr.
 */
export function quietRedis(redis: Redis): Redis {
  redis.on('error', () => undefined);
  return redis;
}

/** A real Redis connection (never a mock) and a key prefix unique to the calling test file. */
export function testRedis(): { redis: Redis; prefix: string; cleanup: () => Promise<void> } {
  const redis = quietRedis(new Redis(REDIS_URL, { maxRetriesPerRequest: null }));
  const prefix = `cwtest:${randomUUID().slice(0, 8)}:`;
  return {
    redis,
    prefix,
    cleanup: async () => {
      await deleteKeysWithPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
