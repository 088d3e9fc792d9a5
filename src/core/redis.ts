import { Redis, type RedisOptions } from 'ioredis';
import type { HubRedisSettings } from './config/types';
import { CasewayError, safeMessage } from './errors';
import type { Logger } from './logger';

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

export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*)@/, '//***@');
}

const SENTINEL_SCHEMES = new Set(['redis+sentinel:', 'rediss+sentinel:']);

function hostPort(text: string, defaultPort: number): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?(?::(\d{1,5}))?$/.exec(text.trim());
  if (!match || !match[1]) throw new CasewayError(`not a host[:port]: "${text}"`, { code: 'REDIS_URL', retryable: false });
  return { host: match[1], port: match[2] ? Number(match[2]) : defaultPort };
}

/**
 * ioredis options for a Redis URL: `redis://…` / `rediss://…` as ioredis reads them, or
 * `redis+sentinel://[user:password@]host:port,host:port/<master name>[/<db>]` for a Sentinel-managed primary.
 * Config keys hub.redis.sentinels + name select Sentinel too (the URL then gives only password and db).
 */
export function redisOptionsFor(url: string, settings: HubRedisSettings = {}): RedisOptions {
  const scheme = /^[a-z+]+:/i.exec(url)?.[0].toLowerCase() ?? '';
  let options: RedisOptions;
  if (SENTINEL_SCHEMES.has(scheme)) {
    const rest = url.slice(scheme.length).replace(/^\/\//, '');
    const at = rest.lastIndexOf('@', rest.indexOf('/') < 0 ? rest.length : rest.indexOf('/'));
    const auth = at >= 0 ? rest.slice(0, at) : '';
    const afterAuth = at >= 0 ? rest.slice(at + 1) : rest;
    const slash = afterAuth.indexOf('/');
    const hosts = (slash < 0 ? afterAuth : afterAuth.slice(0, slash)).split(',').filter(Boolean);
    const [name, db] = (slash < 0 ? '' : afterAuth.slice(slash + 1)).split('?')[0].split('/');
    if (!hosts.length || !name) {
      throw new CasewayError(`${redactUrl(url)}: a Sentinel URL reads redis+sentinel://host:port[,host:port...]/<master name>[/<db>]`, { code: 'REDIS_URL', retryable: false });
    }
    const colon = auth.indexOf(':');
    const username = colon >= 0 ? decodeURIComponent(auth.slice(0, colon)) : '';
    const password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : decodeURIComponent(auth);
    options = {
      sentinels: hosts.map((h) => hostPort(h, 26379)),
      name: decodeURIComponent(name),
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(db ? { db: Number(db) } : {}),
      ...(scheme === 'rediss+sentinel:' ? { tls: {}, sentinelTLS: {}, enableTLSForSentinelMode: true } : {}),
    };
  } else {
    const parsed = new URL(url);
    options = {
      host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: parsed.port ? Number(parsed.port) : 6379,
      ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
      ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
      ...(parsed.pathname.length > 1 ? { db: Number(parsed.pathname.slice(1)) } : {}),
      ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    };
  }
  if (settings.sentinels?.length) {
    if (!settings.name) throw new CasewayError('hub.redis.sentinels needs hub.redis.name (the Sentinel master group)', { code: 'REDIS_URL', retryable: false });
    const { host: _host, port: _port, ...rest } = options;
    options = { ...rest, sentinels: settings.sentinels.map((h) => hostPort(h, 26379)), name: settings.name };
  }
  if (options.sentinels && settings.sentinelPassword) options.sentinelPassword = settings.sentinelPassword;
  return options;
}

/** Opens a connection usable by BullMQ and checks it before the hub relies on it. */
export async function connectRedis(url: string, connectionName = 'caseway', settings: HubRedisSettings = {}): Promise<Redis> {
  const safeUrl = redactUrl(url);
  const base = redisOptionsFor(url, settings);
  const probe = new Redis({ ...base, lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null, sentinelRetryStrategy: () => null, connectionName });
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
  // Auto-pipelining: the commands every concurrent caller (deliveries, intake groups, adapters' state) issues within
  // one event-loop turn leave in one socket write, not one write each; each keeps its own reply and its own error, and
  // a MULTI/EXEC still goes out whole. Nothing on this connection blocks (no BZPOPMIN, no XREAD BLOCK).
  return new Redis({ ...base, maxRetriesPerRequest: 3, connectionName, enableAutoPipelining: true });
}

/**
 * A script (EVAL/EVALSHA) that a replica refused with READONLY: ioredis reconnects (through the Sentinels, when the
 * hub uses them, so to the new primary) and sends it again. A script answered READONLY did nothing (its first write
 * failed, and it is atomic), so sending it again is safe. Other commands are not sent again: a write refused while
 * queued in a MULTI gets its READONLY at top level too, and sending it alone would break the transaction.
 */
export function resendReadonlyScripts(err: Error & { command?: { name?: string } }): 2 | false {
  const name = err.command?.name?.toLowerCase();
  return err.message.startsWith('READONLY') && (name === 'evalsha' || name === 'eval') ? 2 : false;
}

/**
 * The connection BullMQ workers need: they wait for Redis to come back instead of failing (maxRetriesPerRequest null).
 * No auto-pipelining: BullMQ duplicates it for its blocking BZPOPMIN, which must not sit in a shared pipeline.
 * BullMQ retries its own scripts only on a closed connection; a READONLY (the primary demoted during a failover, its
 * connections still open) made it give up on finishing or extending a job, which then sat active until its lock
 * lapsed and a stalled-job check took it over (30-90 s late, and a dead letter if it happened twice). Resent until the
 * server is a primary again (resendReadonlyScripts), the job finishes as soon as it can.
 */
export function workerConnection(redis: Redis): Redis {
  return redis.duplicate({ maxRetriesPerRequest: null, connectionName: 'caseway-worker', enableAutoPipelining: false, reconnectOnError: resendReadonlyScripts });
}

/**
 * The connection the hub's BullMQ queues share (adds from intake, counts for the console). BullMQ defines its ~50 Lua
 * scripts on the connection it is given, and ioredis copies every defined script onto each pipeline and MULTI made on
 * that connection; kept apart, the store connection's many small transactions and auto-pipelined batches stay cheap.
 * It reports to the same `commands` watch as the store connection (both fail fast; an operator sees one line per outage).
 */
export function queueConnection(redis: Redis): Redis {
  return redis.duplicate({ connectionName: 'caseway-queues', enableAutoPipelining: false });
}

/** Still-down lines repeat this often while a connection stays down. */
export const STILL_DOWN_EVERY_MS = 30_000;

/**
 * The state of one Redis connection as the operator sees it: one JSON line when it goes down, one every 30 s while it
 * stays down, one when it is back. Errors from ioredis, BullMQ queues and workers all feed it; none reach stderr.
 */
export class ConnectionWatch {
  private state: 'up' | 'down' = 'up';
  private downSince = 0;
  private lastLine = 0;
  /** Connections of this role that reported down and are not ready again (one role may use several connections). */
  private readonly downSources = new Set<object>();

  constructor(private readonly log: Logger, readonly name: string, private readonly repeatMs = STILL_DOWN_EVERY_MS) {}

  get isDown(): boolean {
    return this.state === 'down';
  }

  /** `source`: the connection that failed, when known; the role is back only once every such connection is ready. */
  down(err: unknown, source?: object): void {
    if (source) this.downSources.add(source);
    const now = Date.now();
    const reason = (err as NodeJS.ErrnoException | undefined)?.code ?? safeMessage(err);
    if (this.state === 'up') {
      this.state = 'down';
      this.downSince = now;
      this.lastLine = now;
      this.log.warn({ redisConnection: this.name, redisState: 'down', reason }, 'redis connection down');
    } else if (now - this.lastLine >= this.repeatMs) {
      this.lastLine = now;
      this.log.warn({ redisConnection: this.name, redisState: 'still down', reason, downForSeconds: Math.round((now - this.downSince) / 1000) }, 'redis connection still down');
    }
  }

  up(source?: object): void {
    if (source) this.downSources.delete(source);
    if (this.downSources.size > 0) return;
    if (this.state === 'down') {
      this.log.info({ redisConnection: this.name, redisState: 'back', downForSeconds: Math.round((Date.now() - this.downSince) / 1000) }, 'redis connection back');
    }
    this.state = 'up';
  }
}

/**
 * Routes an ioredis connection's errors and reconnects into a watch (and so never to an unhandled 'error' event).
 * Several connections may share one watch (the store's and the queues' are both `commands`): it says back once all are.
 */
export function watchRedis(redis: Redis, watch: ConnectionWatch): Redis {
  redis.on('error', (err: unknown) => watch.down(err, redis));
  redis.on('ready', () => watch.up(redis));
  return redis;
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

/** A SCAN/KEYS pattern matching `text` literally (glob characters escaped). */
const globLiteral = (text: string): string => text.replace(/[*?[\]\\]/g, '\\$&');

/**
 * Every key under a prefix, a batch at a time (SCAN, never KEYS, so a large Redis is not blocked). The prefix is
 * matched literally: a prefix holding `*`, `?` or `[` does not reach other prefixes' keys.
 */
export async function* keysWithPrefix(redis: Redis, prefix: string, count = 1000): AsyncGenerator<string[]> {
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${globLiteral(prefix)}*`, 'COUNT', count);
    if (found.length) yield found;
    cursor = next;
  } while (cursor !== '0');
}

/** Deletes every key under a prefix, except those in `keep` (e.g. the instance lock of the hub doing the reset). */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string, keep: ReadonlySet<string> = new Set()): Promise<void> {
  for await (const batch of keysWithPrefix(redis, prefix)) {
    const doomed = batch.filter((key) => !keep.has(key));
    if (doomed.length) await redis.del(...doomed);
  }
}
