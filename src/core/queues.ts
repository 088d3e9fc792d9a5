import { Queue, QueueKeys, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { DeliverySettings } from './config/types';

export const POLL_QUEUE = 'poll';

export function deliveryQueueName(connection: string): string {
  return `deliver.${connection}`;
}

/** What a delivery job carries: references only; the case itself stays encrypted in the case store. */
export interface DeliveryJobData {
  hubId: string;
  payloadRef: string;
  route: string;
  target: string;
  eventKey: string;
  /** Day the case was received (YYYY-MM-DD), for reconciliation. */
  day: string;
}

export interface PollJobData {
  connection: string;
  source: string;
}

export const DEFAULT_DELIVERY: Required<Omit<DeliverySettings, 'rateLimit'>> = { concurrency: 8, attempts: 8, backoffMs: 1000 };

export function deliveryJobOptions(settings: DeliverySettings, deliveryId: string): JobsOptions {
  return {
    jobId: deliveryId,
    attempts: settings.attempts ?? DEFAULT_DELIVERY.attempts,
    backoff: { type: 'exponential', delay: settings.backoffMs ?? DEFAULT_DELIVERY.backoffMs },
    // The last 5,000 completed jobs per queue stay for the console (they carry references only, no case data). By
    // count alone: an age limit made every completion run one more ZREVRANGEBYSCORE over the completed set, and
    // nothing relies on completed jobs going after a day (the delivery record, not the job, stops a re-delivery).
    removeOnComplete: { count: 5000 },
    // Failed jobs are the dead letters: kept until replayed or discarded.
    removeOnFail: false,
  };
}

/** Opens (and caches) the BullMQ queues of one hub. All of them share one ioredis connection. */
export class QueueSet {
  private readonly queues = new Map<string, Queue>();

  /** `onError` receives every queue's errors (Redis outages): a queue without a listener would print them raw. */
  constructor(private readonly redis: Redis, private readonly prefix: string, private readonly onError: (err: Error) => void = () => undefined) {}

  /** The connection every queue of the set writes through (intake's WAIT must be sent on it too). */
  get connection(): Redis {
    return this.redis;
  }

  get(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.redis, prefix: this.prefix });
      queue.on('error', this.onError);
      this.queues.set(name, queue);
    }
    return queue;
  }

  /**
   * Adds jobs to one queue. A single job goes in with `add` (one EVALSHA); more go in with `addBulk` (one pipeline).
   * Both run BullMQ's same add script with the same job id, so adding again after a crash adds nothing twice either
   * way. `addBulk` of one job costs more: its ioredis pipeline copies every script defined on the connection (BullMQ
   * defines 64) each time it is built. At a low rate every intake flush carries one case, so that copy was paid per
   * case: ~50-100 µs more CPU per flush on the 2-vCPU EPYC host of 2026-12-02 (bench/queue-add.ts; docs/performance.md,
   * Round 17).
   */
  async addJobs(name: string, jobs: Array<{ name: string; data: DeliveryJobData; opts: JobsOptions }>): Promise<void> {
    if (jobs.length === 0) return;
    const queue = this.get(name);
    if (jobs.length === 1) await queue.add(jobs[0].name, jobs[0].data, jobs[0].opts);
    else await queue.addBulk(jobs);
  }

  all(): Queue[] {
    return [...this.queues.values()];
  }

  async close(force = false): Promise<void> {
    // Forced (shutdown past its deadline): drop the connections instead of waiting for Redis to answer.
    await Promise.all(this.all().map(async (q) => (force ? q.disconnect() : closeSettled(q))));
    this.queues.clear();
  }
}

/**
 * BullMQ 5 kept a paused queue's jobs in a `<queue>:paused` list; BullMQ 6 keeps them in `wait` (the meta `paused` flag
 * alone says paused) and reads the old list only inside `resume()`. On a Redis that ran 5, such jobs would stay out of
 * every count (overview, reconciliation, metrics) until an operator resumed the queue, and a list left behind on a queue
 * that is not paused would never be delivered. One batch per call: appends the list's ids at the end of `wait` workers
 * take from, in their order (the oldest is taken first; they are older than anything added since), as BullMQ 6's own
 * resume does; keeps the paused flag, and sets the marker that wakes workers when the queue runs. Answers
 * { moved, remaining }.
 *   KEYS: legacy paused list, wait, meta, marker. ARGV: batch size.
 */
const MOVE_LEGACY_PAUSED = `
if redis.call('TYPE', KEYS[1]).ok ~= 'list' then return {0, 0} end
local moved
if redis.call('EXISTS', KEYS[2]) == 0 then
  moved = redis.call('LLEN', KEYS[1])
  redis.call('RENAME', KEYS[1], KEYS[2])
else
  local ids = redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
  redis.call('RPUSH', KEYS[2], unpack(ids))
  redis.call('LTRIM', KEYS[1], #ids, -1)
  moved = #ids
end
if redis.call('HEXISTS', KEYS[3], 'paused') == 0 then redis.call('ZADD', KEYS[4], 0, '0') end
return {moved, redis.call('LLEN', KEYS[1])}`;

/**
 * The start-up migration for a Redis that ran BullMQ 5 (see MOVE_LEGACY_PAUSED): idempotent (no legacy list, nothing
 * done) and safe when several processes start at once (each batch is one script). Answers the ids moved per queue.
 */
export async function migrateLegacyPausedLists(redis: Redis, prefix: string, names: Iterable<string>, batch = 5000): Promise<Map<string, number>> {
  const keys = new QueueKeys(prefix);
  const out = new Map<string, number>();
  for (const name of names) {
    const k = keys.getKeys(name);
    let total = 0;
    for (;;) {
      const [moved, remaining] = (await redis.eval(MOVE_LEGACY_PAUSED, 4, k.paused, k.wait, k.meta, k.marker, batch)) as [number, number];
      total += moved;
      if (remaining === 0) break;
    }
    if (total > 0) out.set(name, total);
  }
  return out;
}

/**
 * Closes a queue or worker once its connection has finished initialising (waiting at most `ms`). BullMQ (5, and still
 * 6.7 in RedisConnection.close), closing a *shared* connection that is still initialising, drops every listener first;
 * when the initialisation then fails ("Connection is closed", as the hub's own Redis connection goes next) it is
 * emitted with no listener left and ends the process with a raw stack trace instead of a clean exit.
 */
export async function closeSettled(x: { waitUntilReady(): Promise<unknown>; close(): Promise<void> }, ms = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([x.waitUntilReady().then(noop, noop), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
  await x.close();
}

function noop(): void {}

/**
 * How often workers look for jobs whose lock lapsed, unless hub.worker.stalledIntervalMs says otherwise: 5 s, where
 * BullMQ's own default is 30 s. The check moves only a job whose lock is gone (a lock lasts lockDuration, 30 s, and
 * is renewed every half of that while its worker runs it), so checking more often takes no running job away; it
 * shortens the wait of a job no worker runs any more (its worker died, or Redis ran its fetch and the reply was lost
 * in a restart) from up to lockDuration + 2 checks (~90 s) to ~lockDuration + 5 s. The cost is one short script per
 * queue every 5 s (a `stalled-check` key lets one worker of all run it per interval).
 */
export const DEFAULT_STALLED_INTERVAL_MS = 5000;

/** Lock and stall settings shared by every worker of a hub (config hub.worker; BullMQ's defaults otherwise, but the stall check's). */
export function workerTakeover(config: { hub?: { worker?: { lockDurationMs?: number; stalledIntervalMs?: number; maxStalledCount?: number } } }): {
  lockDuration?: number;
  stalledInterval: number;
  maxStalledCount?: number;
} {
  const w = config.hub?.worker ?? {};
  // Only what is set: an explicit undefined would replace BullMQ's own default.
  return {
    ...(w.lockDurationMs !== undefined ? { lockDuration: w.lockDurationMs } : {}),
    stalledInterval: w.stalledIntervalMs ?? DEFAULT_STALLED_INTERVAL_MS,
    ...(w.maxStalledCount !== undefined ? { maxStalledCount: w.maxStalledCount } : {}),
  };
}
