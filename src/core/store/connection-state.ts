import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { ConnectionState } from '../adapter';
import { isRedisUnavailable, storeCall } from './replies';
import { CachedScript } from './scripts';

const RELEASE_LOCK = new CachedScript(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end`);
/** Extends a lock its holder still holds (1), or answers 0 when it is gone or another's. */
const RENEW_LOCK = new CachedScript(`if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end`);

/** First wait before a lock release that met an unavailable Redis is sent again; doubled each time, up to the cap. */
const RELEASE_RETRY_FIRST_MS = 100;
const RELEASE_RETRY_MAX_MS = 2000;

/**
 * ConnectionState kept in Redis under `<prefix>state:<connection>:`. Every call that Redis does not answer fails with
 * the retryable StoreUnavailableError (a webhook adapter's idempotency claim, say, answers 503 on it, not 500).
 */
export class RedisConnectionState implements ConnectionState {
  private readonly base: string;
  private readonly redis: Redis;
  /** The connection itself, for the lock-release script (its NOSCRIPT answer is handled before storeCall sees it). */
  private readonly raw: Redis;
  private readonly connection: string;

  constructor(redis: Redis, prefix: string, connection: string) {
    this.base = `${prefix}state:${connection}:`;
    this.raw = redis;
    this.connection = connection;
    const where = { connection };
    // Every Redis call of this store goes through storeCall (one proxy, so no method can forget it).
    this.redis = new Proxy(redis, {
      get(target, property, receiver) {
        const value: unknown = Reflect.get(target, property, receiver);
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => storeCall(`connection state ${String(property)}`, () => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args), where);
      },
    });
  }

  private k(key: string): string {
    return this.base + key;
  }

  async get(key: string): Promise<string | null> {
    return this.redis.get(this.k(key));
  }

  async set(key: string, value: string, ttlSeconds?: number): Promise<void> {
    if (ttlSeconds) await this.redis.set(this.k(key), value, 'EX', ttlSeconds);
    else await this.redis.set(this.k(key), value);
  }

  async setIfAbsent(key: string, value: string, ttlSeconds?: number): Promise<boolean> {
    const reply = ttlSeconds
      ? await this.redis.set(this.k(key), value, 'EX', ttlSeconds, 'NX')
      : await this.redis.set(this.k(key), value, 'NX');
    return reply === 'OK';
  }

  async del(key: string): Promise<void> {
    await this.redis.del(this.k(key));
  }

  async getJson<T>(key: string): Promise<T | null> {
    const raw = await this.get(key);
    return raw === null ? null : (JSON.parse(raw) as T);
  }

  async setJson(key: string, value: unknown, ttlSeconds?: number): Promise<void> {
    await this.set(key, JSON.stringify(value), ttlSeconds);
  }

  async increment(key: string, by = 1): Promise<number> {
    return this.redis.incrby(this.k(key), by);
  }

  async addToSet(key: string, members: string[]): Promise<number> {
    if (members.length === 0) return 0;
    return this.redis.sadd(this.k(key), ...members);
  }

  async areMembers(key: string, members: string[]): Promise<boolean[]> {
    if (members.length === 0) return [];
    const replies = await this.redis.smismember(this.k(key), ...members);
    return replies.map((r) => r === 1);
  }

  async hashSet(key: string, field: string, value: string): Promise<void> {
    await this.redis.hset(this.k(key), field, value);
  }

  async hashGet(key: string, field: string): Promise<string | null> {
    return this.redis.hget(this.k(key), field);
  }

  async hashGetAll(key: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.k(key));
  }

  async lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null> {
    const token = randomUUID();
    const lockKey = this.k(`lock:${key}`);
    const expiresAt = Date.now() + ttlMs;
    // A call that met an unavailable Redis may have left this token in the key (a SET whose reply was lost, a release
    // not taken): it is released in the background until Redis takes it or the lock has expired anyway. Safe at any
    // time: the script deletes the key only while it still holds this token. The caller still gets the failure.
    const releasingLater = (err: unknown): unknown => {
      if (isRedisUnavailable(err)) this.releaseLater(lockKey, token, expiresAt, RELEASE_RETRY_FIRST_MS);
      return err;
    };
    let ok: string | null;
    try {
      ok = await this.redis.set(lockKey, token, 'PX', ttlMs, 'NX');
    } catch (err) {
      // Redis may have taken the SET and lost only its reply (it stopped right after): the lock would then be held,
      // by nobody, until its TTL. The caller never got it.
      throw releasingLater(err);
    }
    if (ok !== 'OK') {
      // Not taken, or taken by this very call: ioredis sends a command again after a reconnect when its reply never
      // came (a Redis restart), and the second SET NX finds the key the first one set. Holding its own token, the
      // caller holds the lock; anything else is another holder's.
      let holder: string | null;
      try {
        holder = await this.redis.get(lockKey);
      } catch (err) {
        throw releasingLater(err);
      }
      if (holder !== token) return null;
    }
    const renewal = this.renewWhileHeld(lockKey, token, ttlMs);
    return async () => {
      clearInterval(renewal);
      try {
        await storeCall('connection state lock release', () => RELEASE_LOCK.run(this.raw, [lockKey], [token]), { connection: this.connection });
      } catch (err) {
        // The holder is done with the lock whatever happens next; a release Redis did not take (down, restarting,
        // failing over) would keep every other process out until the lock's TTL (the iCasework create lock: 60 s
        // of a case's deliveries waiting after a 2 s Redis restart).
        throw releasingLater(err);
      }
    };
  }

  /**
   * A lease, not a timer: while its holder runs, the lock's TTL is set back to ttlMs every third of it, so work that
   * outlasts the TTL (a poll reading a large export over a slow link) keeps others out to its end. The TTL only bounds
   * how long a holder that died (SIGKILL, a lost host) keeps the lock. A renewal Redis does not answer is tried again at
   * the next tick; one that finds the lock gone or another's stops renewing (the holder's release is then a no-op).
   */
  private renewWhileHeld(lockKey: string, token: string, ttlMs: number): NodeJS.Timeout {
    const timer = setInterval(() => {
      if (this.raw.status === 'end') {
        clearInterval(timer);
        return;
      }
      RENEW_LOCK.run(this.raw, [lockKey], [token, String(ttlMs)]).then(
        (renewed) => {
          if (Number(renewed) !== 1) clearInterval(timer);
        },
        () => undefined,
      );
    }, Math.max(1, Math.floor(ttlMs / 3)));
    // unref: a lock never holds a process open.
    timer.unref();
    return timer;
  }

  private releaseLater(lockKey: string, token: string, expiresAt: number, delayMs: number): void {
    if (Date.now() + delayMs >= expiresAt) return;
    // unref: a pending retry never holds a process open; a connection closed on purpose ends the retries.
    setTimeout(() => {
      if (this.raw.status === 'end') return;
      RELEASE_LOCK.run(this.raw, [lockKey], [token]).catch((err: unknown) => {
        if (isRedisUnavailable(err)) this.releaseLater(lockKey, token, expiresAt, Math.min(delayMs * 2, RELEASE_RETRY_MAX_MS));
      });
    }, delayMs).unref();
  }
}
