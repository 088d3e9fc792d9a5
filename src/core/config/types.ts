/**
 * The config file's types, generated from schemas/caseway-config.schema.json (config.generated.ts, `npm run gen:types`):
 * the schema ajv validates the file with is their one source. These names are the parts the hub uses.
 */
import type { CasewayConfig, Connection, Delivery, Route, Target } from './config.generated';

export type { CasewayConfig };
export type DeliverySettings = Delivery;
export type ConnectionConfig = Connection;
export type SourceSettings = NonNullable<Connection['sources']>[string];
export type TargetConfig = Target;
export type RouteConfig = Route;
export type HubSettings = NonNullable<CasewayConfig['hub']>;
export type HubRedisSettings = NonNullable<HubSettings['redis']>;
export type MergeSettings = NonNullable<HubSettings['merge']>;

/** How an incoming event finds its hub case (docs/canonical-model.md, "Joins"). */
export type JoinMode = NonNullable<SourceSettings['join']>;

/** What a target that already holds a case for the hub case does with a new event. */
export type OnExisting = NonNullable<Target['onExisting']>;

/** Per field group: does the originating system win, or the view that last said something about it. */
export type MergeRule = NonNullable<MergeSettings['status']>;

/** A validated config plus where it came from. Targets always have an id after loading. */
export type ResolvedTarget = TargetConfig & { id: string };
export type ResolvedRoute = Omit<RouteConfig, 'to'> & { to: ResolvedTarget[] };

export interface LoadedConfig extends Omit<CasewayConfig, 'routes'> {
  file: string;
  routes: ResolvedRoute[];
}
