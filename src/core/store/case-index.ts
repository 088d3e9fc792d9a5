/**
 * The case index behind the ops case history: one Redis sorted set per UTC day (score = intake time in ms, member =
 * hub id), written in the intake's own transaction. It is bounded twice: each day keeps at most MAX_PER_DAY cases
 * (the oldest are trimmed) and expires with the retention of cases and traces, so it never outgrows them.
 * Status, route and origin are not copied here: the case history reads them from the case's meta and trace.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { Keys } from './keys';
import { dayOf } from './stats-store';

export const MAX_PER_DAY = 100_000;

export function caseIndexKey(keys: Keys, day: string): string {
  return `${keys.prefix}case-index:${day}`;
}

/** Adds a newly received case to its day's index (in the caller's transaction). */
export function indexCase(tx: ChainableCommander, where: { keys: Keys; retentionSeconds: number }, hubId: string, at: Date): void {
  indexCases(tx, where, [hubId], at);
}

/** Several cases received at one instant (one intake group): one ZADD, one trim, one expiry. */
export function indexCases(tx: ChainableCommander, where: { keys: Keys; retentionSeconds: number }, hubIds: string[], at: Date): void {
  if (hubIds.length === 0) return;
  const key = caseIndexKey(where.keys, dayOf(at));
  const score = at.getTime();
  tx.zadd(key, ...hubIds.flatMap((id) => [score, id]));
  tx.zremrangebyrank(key, 0, -(MAX_PER_DAY + 1));
  tx.expire(key, where.retentionSeconds + 86400);
}

export interface IndexedCase {
  hubId: string;
  at: string;
}

/** One day's cases between two instants, newest first, from `offset`, at most `count`. */
export async function readCaseIndex(redis: Redis, keys: Keys, day: string, fromMs: number, toMs: number, offset: number, count: number): Promise<IndexedCase[]> {
  const raw = await redis.zrevrangebyscore(caseIndexKey(keys, day), toMs, fromMs, 'WITHSCORES', 'LIMIT', offset, count);
  const out: IndexedCase[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push({ hubId: raw[i], at: new Date(Number(raw[i + 1])).toISOString() });
  return out;
}
