/**
 * Everything the engine's parts share for one running hub: the validated config, the adapters behind each
 * connection, the stores and queues. Built once by Hub, read by intake, workers, pollers and the HTTP layer.
 */
import type { Redis } from 'ioredis';
import type { AdapterContext, RegisteredAdapter } from './adapter';
import type { ConnectionConfig, DeliverySettings, LoadedConfig, ResolvedRoute, ResolvedTarget } from './config/types';
import type { DetailHasher } from './errors';
import type { Logger } from './logger';
import type { HubMetrics } from './metrics';
import type { QueueSet } from './queues';
import type { CaseStore } from './store/case-store';
import type { Keys } from './store/keys';
import type { StatsStore } from './store/stats-store';
import type { StampWriter } from './store/stamps';
import type { TraceStore } from './store/trace-store';
import type { EchoStore } from './store/echo-store';
import type { ViewStore } from './store/view-store';

export interface ConnectionRuntime {
  name: string;
  config: ConnectionConfig;
  adapter: RegisteredAdapter;
  ctx: AdapterContext<unknown>;
  delivery: DeliverySettings;
}

export type { ResolvedRoute, ResolvedTarget };

export interface HubRuntime {
  config: LoadedConfig;
  /** Commands: fails fast while Redis is unreachable. */
  redis: Redis;
  /** For BullMQ workers only: waits for Redis to return. */
  workerRedis: Redis;
  /** For the hub's BullMQ queues (fails fast like `redis`): BullMQ's scripts live here, not on `redis`. */
  queueRedis: Redis;
  keys: Keys;
  cases: CaseStore;
  /** Each system's view of a case, merged on read. */
  views: ViewStore;
  /** What deliveries sent, to recognise a peer's echo. */
  echoes: EchoStore;
  traces: TraceStore;
  /** Keyed hash of peer error free text (key derived from the data key) for the safe error views the engine writes. */
  detailHasher: DetailHasher;
  stats: StatsStore;
  /** lastActivity / health.lastSuccess: at most one write per field and interval, the latest by a trailing write. */
  stamps: StampWriter;
  queues: QueueSet;
  metrics: HubMetrics;
  log: Logger;
  connections: Map<string, ConnectionRuntime>;
  retentionSeconds: number;
}

export function connectionOf(rt: HubRuntime, name: string): ConnectionRuntime {
  const conn = rt.connections.get(name);
  if (!conn) throw new Error(`connection "${name}" is not configured`);
  return conn;
}

export function findRoute(rt: HubRuntime, name: string): ResolvedRoute | undefined {
  return rt.config.routes.find((r) => r.name === name);
}

export function findTarget(route: ResolvedRoute, id: string): ResolvedTarget | undefined {
  return route.to.find((t) => t.id === id);
}

/** Systems whose ids the hub can look a case up by: every adapter in use plus the generic ones adapters emit. */
export function knownSystems(rt: HubRuntime): string[] {
  const names = new Set<string>(['hub', 'external']);
  for (const conn of rt.connections.values()) names.add(conn.adapter.name);
  return [...names];
}
