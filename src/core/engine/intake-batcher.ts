/**
 * Group commit for intake: concurrent callers of one (connection, source) share one flush, so the Redis round trips
 * of intake (event keys, claim, views and echo records, the transaction, the queue adds, the accept marks) are paid
 * once per group instead of once per request. A group is whatever arrived while the event loop was busy: the first
 * caller schedules a flush for the end of the current turn (setImmediate), and callers arriving while `maxInFlight`
 * flushes are running wait for the next one. An idle hub therefore adds no delay; a busy one gets larger groups.
 *
 * Guarantees, per caller: its promise settles only after the flush that carried its events has settled (nothing is
 * acknowledged before its case is stored and queued); it gets the results of its own events, in its own order; a
 * flush that Redis did not take fails every caller in it with that retryable error (nothing was acknowledged, each
 * may retry); a flush that fails any other way is replayed caller by caller, so one bad event fails only the request
 * that sent it. Replays are safe because intake is idempotent (same event keys, same hub ids, same job ids).
 */
import { StoreUnavailableError } from '../store/replies';

export interface BatcherOptions {
  /** Flushes of one key that may run at once (default 4: later groups are built while earlier ones wait on Redis). */
  maxInFlight?: number;
  /** Most items in one flush; a larger group is split (default 1000). */
  maxItems?: number;
  /**
   * Errors that belong to the whole flush (default: Redis did not take it, StoreUnavailableError): every caller gets
   * them. Any other error may be one caller's doing, so the group is replayed caller by caller.
   */
  sharedFailure?: (err: unknown) => boolean;
}

interface Waiting<I, R> {
  items: I[];
  resolve(results: R[]): void;
  reject(err: unknown): void;
}

interface Lane<I, R> {
  waiting: Array<Waiting<I, R>>;
  inFlight: number;
  scheduled: boolean;
}

export class GroupCommit<I, R> {
  private readonly lanes = new Map<string, Lane<I, R>>();
  private readonly maxInFlight: number;
  private readonly maxItems: number;
  private readonly sharedFailure: (err: unknown) => boolean;

  /** `flush(key, items)` must answer one result per item, in order, or throw for all of them. */
  constructor(private readonly flush: (key: string, items: I[]) => Promise<R[]>, options: BatcherOptions = {}) {
    this.maxInFlight = Math.max(1, options.maxInFlight ?? 4);
    this.maxItems = Math.max(1, options.maxItems ?? 1000);
    this.sharedFailure = options.sharedFailure ?? ((err) => err instanceof StoreUnavailableError);
  }

  /** Queues `items` under `key`; resolves to their results once the flush that carries them has succeeded. */
  submit(key: string, items: I[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<R[]>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = { waiting: [], inFlight: 0, scheduled: false };
        this.lanes.set(key, lane);
      }
      lane.waiting.push({ items, resolve, reject });
      this.schedule(key, lane);
    });
  }

  private schedule(key: string, lane: Lane<I, R>): void {
    if (lane.scheduled || lane.inFlight >= this.maxInFlight || lane.waiting.length === 0) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      this.run(key, lane);
    });
  }

  private run(key: string, lane: Lane<I, R>): void {
    while (lane.inFlight < this.maxInFlight && lane.waiting.length) {
      const group: Array<Waiting<I, R>> = [];
      let size = 0;
      while (lane.waiting.length && (group.length === 0 || size + lane.waiting[0].items.length <= this.maxItems)) {
        const next = lane.waiting.shift()!;
        group.push(next);
        size += next.items.length;
      }
      lane.inFlight += 1;
      void this.commit(key, group).finally(() => {
        lane.inFlight -= 1;
        if (lane.inFlight === 0 && lane.waiting.length === 0) this.lanes.delete(key);
        else this.schedule(key, lane);
      });
    }
  }

  private async checkedFlush(key: string, items: I[]): Promise<R[]> {
    const results = await this.flush(key, items);
    if (results.length !== items.length) throw new Error(`group commit: ${results.length} results for ${items.length} items`);
    return results;
  }

  private async commit(key: string, group: Array<Waiting<I, R>>): Promise<void> {
    let results: R[];
    try {
      results = await this.checkedFlush(key, group.flatMap((w) => w.items));
    } catch (err) {
      if (group.length === 1 || this.sharedFailure(err)) {
        for (const w of group) w.reject(err);
        return;
      }
      // A permanent failure may be one caller's bad event: each caller on its own, so only that one fails.
      await Promise.all(group.map((w) => this.checkedFlush(key, w.items).then(w.resolve, w.reject)));
      return;
    }
    let offset = 0;
    for (const w of group) {
      w.resolve(results.slice(offset, offset + w.items.length));
      offset += w.items.length;
    }
  }
}
