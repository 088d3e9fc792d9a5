import type { Filter } from '../routing/filter';
import type { Mapping } from '../routing/mapping';

export interface DeliverySettings {
  concurrency?: number;
  attempts?: number;
  backoffMs?: number;
  rateLimit?: { max: number; durationMs: number };
}

/** How an incoming event finds its hub case (docs/canonical-model.md, "Joins"). */
export type JoinMode = 'own-id' | 'references';

/** What a target that already holds a case for the hub case does with a new event. */
export type OnExisting = 'update' | 'note' | 'create-linked';

/** Per field group: does the originating system win, or the view that last said something about it. */
export type MergeRule = 'origin' | 'latest';
export interface MergeSettings {
  status?: MergeRule;
  parties?: MergeRule;
  details?: MergeRule;
  extensions?: MergeRule;
}

export interface SourceSettings {
  everyMs?: number;
  enabled?: boolean;
  options?: Record<string, unknown>;
  join?: JoinMode;
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
  onExisting?: OnExisting;
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
  merge?: MergeSettings;
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
