/**
 * Per route and day counters for reconciliation. A case that reaches a route is `received`; it then ends as
 * `filtered`, `deduplicated`, `echo` (the peer repeating what the hub delivered to it) or `routed`. Each routed case creates one delivery per target (`deliveries`), and each
 * delivery ends as `delivered`, `targetFiltered` or `dead`; until then it is in flight. Outcomes count on the day the
 * case was received, so a day balances once its deliveries finish.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { Keys } from './keys';
import type { StampWriter } from './stamps';

export const STAT_FIELDS = ['received', 'filtered', 'deduplicated', 'echo', 'routed', 'deliveries', 'targetFiltered', 'delivered', 'failedAttempts', 'dead', 'replayed', 'discarded'] as const;
export type StatField = (typeof STAT_FIELDS)[number];
export type RouteDayStats = Record<StatField, number> & { lastActivity?: string };

export function dayOf(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export class StatsStore {
  /** (day, route) keys this process has already given an expiry and listed; they need it once, not per increment. */
  private readonly registered = new Set<string>();

  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly ttlSeconds: number, private readonly stamps: StampWriter) {}

  increment(tx: ChainableCommander, day: string, route: string, field: StatField, by = 1): void {
    this.incrementMany(tx, day, route, new Map([[field, by]]));
  }

  /** Several counters of one route and day, with one lastActivity stamp (intake sums a whole group's counts first). The counters are written in the caller's transaction, with the change they count: reconciliation balances them against the queues. */
  incrementMany(tx: ChainableCommander, day: string, route: string, counts: ReadonlyMap<StatField, number>): void {
    if (counts.size === 0) return;
    const key = this.keys.stats(day, route);
    for (const [field, by] of counts) tx.hincrby(key, field, by);
    // Display only (nothing reconciles on it): at most one write per route, day and second from this process.
    this.stamps.stamp(tx, key, 'lastActivity', new Date().toISOString());
    if (!this.registered.has(key)) {
      if (this.registered.size > 10000) this.registered.clear();
      this.registered.add(key);
      tx.expire(key, this.ttlSeconds);
      tx.zadd(this.keys.statsDays(), Number(day.replace(/-/g, '')), day);
    }
  }

  async read(day: string, route: string): Promise<RouteDayStats> {
    const raw = await this.redis.hgetall(this.keys.stats(day, route));
    const out = { lastActivity: raw.lastActivity } as RouteDayStats;
    for (const f of STAT_FIELDS) out[f] = Number(raw[f] ?? 0);
    return out;
  }

  async days(limit = 30): Promise<string[]> {
    return this.redis.zrevrange(this.keys.statsDays(), 0, limit - 1);
  }
}

/** Counts of one day summed in memory, written with one HINCRBY per (route, field) into the caller's transaction. */
export class StatsTally {
  private readonly counts = new Map<string, Map<StatField, number>>();

  constructor(private readonly stats: StatsStore, private readonly day: string) {}

  add(route: string, field: StatField, by = 1): void {
    let fields = this.counts.get(route);
    if (!fields) {
      fields = new Map();
      this.counts.set(route, fields);
    }
    fields.set(field, (fields.get(field) ?? 0) + by);
  }

  writeTo(tx: ChainableCommander): void {
    for (const [route, fields] of this.counts) this.stats.incrementMany(tx, this.day, route, fields);
  }
}
