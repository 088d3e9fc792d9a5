/**
 * What a failed delivery was sent with: the target's action, mapping and options as configured when it failed (no
 * case data). The dry run of a dead letter rebuilds the failed request from it and diffs it with the request a replay
 * would send under the configuration the hub runs with now. Kept as long as traces.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import { findRoute, findTarget, type HubRuntime } from '../runtime';
import type { Mapping } from '../routing/mapping';
import type { Keys } from './keys';

export interface FailedTarget {
  at: string;
  connection: string;
  action: string;
  mapping?: Mapping;
  options?: Record<string, unknown>;
}

function key(keys: Keys, deliveryId: string): string {
  return `${keys.prefix}failed-target:${deliveryId}`;
}

/** Records the target configuration of a failed attempt (in the failure's transaction). */
export function snapshotFailedTarget(tx: ChainableCommander, rt: HubRuntime, deliveryId: string, routeName: string, targetId: string): void {
  const route = findRoute(rt, routeName);
  const target = route ? findTarget(route, targetId) : undefined;
  if (!target || !deliveryId) return;
  const snapshot: FailedTarget = { at: new Date().toISOString(), connection: target.connection, action: target.action, mapping: target.mapping, options: target.options };
  tx.set(key(rt.keys, deliveryId), JSON.stringify(snapshot), 'EX', rt.retentionSeconds);
}

export async function readFailedTarget(redis: Redis, keys: Keys, deliveryId: string): Promise<FailedTarget | null> {
  const raw = await redis.get(key(keys, deliveryId));
  return raw ? (JSON.parse(raw) as FailedTarget) : null;
}
