/**
 * "When did X last happen" hash fields (a route's `lastActivity`, a connection's `health.lastSuccess`), written by
 * this process at most once per interval per field instead of once per case or delivery.
 *
 * The first stamp of a field in an interval goes into the caller's transaction as before (one HSET); later ones in
 * the same interval are only remembered, and the latest of them is written once the interval is over (a trailing
 * write), and on `flush()` at graceful shutdown. So the field is at most one interval behind while work goes on and
 * exact once it settles. The trailing write only moves a stamp forward (a script compares the ISO times), so a
 * late trailing write cannot hide a newer stamp another process wrote meanwhile.
 *
 * These fields are for display and health only: no guarantee, reconciliation or idempotency check reads them.
 * `reset` makes the next stamp of a field go out at once (a connection's first success after a failure, so its
 * health does not show the failure for up to an interval longer than it lasted).
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { storeCall } from './replies';

/** HSET only if the field is absent or holds an earlier ISO time (same format, so string order is time order). */
const SET_IF_LATER = `local cur = redis.call('HGET', KEYS[1], ARGV[1])
if (not cur) or cur < ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) return 1 end
return 0`;

export const DEFAULT_STAMP_INTERVAL_MS = 1000;

interface Pending {
  key: string;
  field: string;
  value: string;
}

export class StampWriter {
  /** key + field → when this process last put the field into a transaction or a trailing write. */
  private readonly written = new Map<string, number>();
  private readonly pending = new Map<string, Pending>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private closed = false;

  constructor(private readonly redis: Redis, private readonly intervalMs = DEFAULT_STAMP_INTERVAL_MS) {}

  /** Stamps `field` of `key` with `value` (an ISO time): in `tx` now, or by the trailing write within the interval. */
  stamp(tx: ChainableCommander, key: string, field: string, value: string): void {
    const id = `${key}\n${field}`;
    const now = Date.now();
    const last = this.written.get(id);
    if (last === undefined || now - last >= this.intervalMs) {
      if (this.written.size > 10000) this.written.clear();
      this.written.set(id, now);
      this.pending.delete(id);
      tx.hset(key, field, value);
      return;
    }
    const before = this.pending.get(id);
    if (!before || before.value < value) this.pending.set(id, { key, field, value });
    this.schedule(last + this.intervalMs - now);
  }

  /** The next stamp of this field is written at once (and replaces any trailing one). */
  reset(key: string, field: string): void {
    this.written.delete(`${key}\n${field}`);
  }

  /** Writes every remembered stamp now (graceful shutdown; the timer calls it too). */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.flushing;
    if (this.pending.size === 0) return;
    const batch = [...this.pending.entries()];
    this.pending.clear();
    const now = Date.now();
    const pipe = this.redis.pipeline();
    for (const [id, p] of batch) {
      this.written.set(id, now);
      pipe.eval(SET_IF_LATER, 1, p.key, p.field, p.value);
    }
    this.flushing = storeCall('writing last-activity stamps', async () => {
      const replies = (await pipe.exec()) ?? [];
      const failed = replies.find(([err]) => err);
      if (replies.length !== batch.length || failed) throw failed?.[0] ?? new Error('no reply');
    }).catch((err: unknown) => {
      // Not written: keep them (unless a later stamp came meanwhile) for the next write.
      for (const [id, p] of batch) {
        const later = this.pending.get(id);
        if (!later || later.value < p.value) this.pending.set(id, p);
      }
      this.schedule(this.intervalMs);
      throw err;
    }).finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  /** Graceful shutdown: writes what is remembered; no timer is set after this. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private schedule(inMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush().catch(() => undefined);
    }, Math.max(0, inMs));
    this.timer.unref();
  }
}
