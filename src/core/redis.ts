import { Redis } from 'ioredis';
import { CasewayError } from './errors';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class RedisUnavailableError extends CasewayError {
  constructor(readonly url: string, reason: string) {
    super(`Redis is not reachable at ${url} (${reason})`, { code: 'REDIS_UNAVAILABLE', retryable: true });
  }
}

export class RedisPolicyError extends CasewayError {
  constructor(readonly url: string, policy: string) {
    super(
      `Redis at ${url} has maxmemory-policy "${policy}"; Caseway needs "noeviction" so queued cases are never evicted (run: redis-cli config set maxmemory-policy noeviction, and set it in redis.conf)`,
      { code: 'REDIS_POLICY', retryable: false },
    );
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

/** Opens a connection usable by BullMQ and checks it before the hub relies on it. */
export async function connectRedis(url: string, connectionName = 'caseway'): Promise<Redis> {
  const safeUrl = redactUrl(url);
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null, connectionName });
  let lastError: NodeJS.ErrnoException | undefined;
  probe.on('error', (err: NodeJS.ErrnoException) => {
    lastError = err;
  });
  try {
    await probe.connect();
    await probe.ping();
    const policy = await readEvictionPolicy(probe);
    if (policy && policy !== 'noeviction') throw new RedisPolicyError(safeUrl, policy);
  } catch (err) {
    probe.disconnect();
    if (err instanceof CasewayError) throw err;
    const cause = lastError ?? (err as NodeJS.ErrnoException);
    throw new RedisUnavailableError(safeUrl, cause.code ?? cause.message);
  }
  probe.disconnect();
  // Commands (intake, stores, the API) fail after a few reconnect attempts instead of waiting for Redis forever, so
  // a caller gets an error it can retry rather than no answer. BullMQ workers get their own connection (workerConnection).
  return new Redis(url, { maxRetriesPerRequest: 3, connectionName });
}

/** The connection BullMQ workers need: they wait for Redis to come back instead of failing (maxRetriesPerRequest null). */
export function workerConnection(redis: Redis): Redis {
  return redis.duplicate({ maxRetriesPerRequest: null, connectionName: 'caseway-worker' });
}

async function readEvictionPolicy(redis: Redis): Promise<string | null> {
  try {
    const reply = (await redis.call('CONFIG', 'GET', 'maxmemory-policy')) as string[];
    if (reply?.[1]) return reply[1];
  } catch {
    // CONFIG is often disabled on managed Redis; INFO carries the same fact.
  }
  const info = await redis.info('memory');
  const match = /maxmemory_policy:(\S+)/.exec(info);
  return match ? match[1] : null;
}

/** Every key under a prefix, a batch at a time (SCAN, never KEYS, so a large Redis is not blocked). */
export async function* keysWithPrefix(redis: Redis, prefix: string, count = 1000): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', count);
    if (found.length) yield found;
    cursor = next;
  } while (cursor !== '0');
}

export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<void> {
  for await (const batch of keysWithPrefix(redis, prefix)) await redis.del(...batch);
}
