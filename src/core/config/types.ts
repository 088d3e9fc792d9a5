import type { Filter } from '../routing/filter';
import type { Mapping } from '../routing/mapping';

export interface DeliverySettings {
  concurrency?: number;
  attempts?: number;
  backoffMs?: number;
  rateLimit?: { max: number; durationMs: number };
}

export interface SourceSettings {
  everyMs?: number;
  enabled?: boolean;
  options?: Record<string, unknown>;
}

export interface ConnectionConfig {
  adapter: string;
  description?: string;
  sandbox?: boolean;
  settings?: Record<string, unknown>;
  sources?: Record<string, SourceSettings>;
  delivery?: DeliverySettings;
}

export interface TargetConfig {
  id?: string;
  connection: string;
  action: string;
  options?: Record<string, unknown>;
  filter?: Filter;
  mapping?: Mapping;
}

export interface RouteConfig {
  name: string;
  description?: string;
  enabled?: boolean;
  from: { connection: string; source: string };
  filter?: Filter;
  to: TargetConfig[];
}

export interface HubSettings {
  name?: string;
  dataKey?: string;
  publicUrl?: string;
  retentionDays?: number;
  referenceRetentionDays?: number;
  defaults?: DeliverySettings;
  worker?: { lockDurationMs?: number; stalledIntervalMs?: number; maxStalledCount?: number };
  /** SIGTERM/SIGINT end within this long (default 30000), Redis reachable or not. */
  shutdownTimeoutMs?: number;
  redis?: HubRedisSettings;
}

export interface HubRedisSettings {
  /** Sentinel nodes ("host:port"); with `name`, the primary is found through them. */
  sentinels?: string[];
  name?: string;
  sentinelPassword?: string;
  /** Intake acknowledges only once its writes reached this many replicas (Redis WAIT). */
  minReplicas?: number;
  minReplicasTimeoutMs?: number;
}

export interface CasewayConfig {
  version?: 1;
  hub?: HubSettings;
  ops?: Record<string, unknown>;
  connections: Record<string, ConnectionConfig>;
  routes: RouteConfig[];
}

/** A validated config plus where it came from. Targets always have an id after loading. */
export type ResolvedTarget = TargetConfig & { id: string };
export type ResolvedRoute = Omit<RouteConfig, 'to'> & { to: ResolvedTarget[] };

export interface LoadedConfig extends Omit<CasewayConfig, 'routes'> {
  file: string;
  routes: ResolvedRoute[];
}
