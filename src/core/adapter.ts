/**
 * The one interface every peer adapter implements. An adapter lives in adapters/<name>/ and default-exports
 * `defineAdapter({...})` from its index.ts; the hub discovers it there, so adding a peer touches no core file.
 */
import type { Router } from 'express';
import type { FromSchema, JSONSchema } from 'json-schema-to-ts';
import type { Logger } from './logger';
import type { CanonicalCase, CrossReference } from './model/canonical.generated';

/** A JSON Schema object (ajv draft-07). */
export type JsonSchema = Record<string, unknown>;

/**
 * Marks an action or source whose options schema is not known to the type system: the hub's registry holds every
 * definition in this erased form, with options as `Record<string, unknown>`. An adapter never writes it.
 */
declare const untypedOptions: unique symbol;
export type UntypedOptions = typeof untypedOptions;

/**
 * The type of the options an action or source receives, derived from its options schema (json-schema-to-ts), the same
 * schema ajv validates the config with: one source. Write the schema `as const` and pass `typeof schema` as the
 * definition's second type argument. Properties with a `default` stay optional (ajv does not fill defaults in).
 * A schema json-schema-to-ts cannot read gives `never`, so a definition never quietly falls back to untyped options.
 */
export type OptionsOf<Schema> = [Schema] extends [UntypedOptions]
  ? Record<string, unknown>
  : Schema extends JSONSchema
    ? FromSchema<Schema, { keepDefaultedPropertiesOptional: true }>
    : never;

/**
 * A schema in the registry's erased form. The optional brand keeps an untyped definition out of an adapter's
 * `actions`/`sources` (AnyActionDefinition), where only const schemas, and so typed options, are accepted.
 */
export type UntypedSchema = JsonSchema & { readonly [untypedOptions]?: true };

/** What a definition's optionsSchema is: the const schema itself, or any schema in the registry's erased form. */
export type OptionsSchemaOf<Schema> = [Schema] extends [UntypedOptions] ? UntypedSchema : Schema;

/** What an adapter's `actions`/`sources` records accept as an options schema: a const one, never the erased form. */
export type AdapterOptionsSchema = ConstOptionsSchema & { readonly [untypedOptions]?: never };

/** The constraint for an options schema written `as const` (use with `satisfies`). */
export type ConstOptionsSchema = JSONSchema;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface ConnectionInfo<S> {
  /** The connection's name in config (e.g. "crm"). */
  name: string;
  /** The adapter's name (e.g. "crm"). */
  adapter: string;
  /** Settings after ${ENV} substitution, validated against the adapter's settingsSchema. */
  settings: S;
  /** Folder of the config file, for files an adapter keeps beside it (e.g. mapping expressions). */
  configDir?: string;
}

/**
 * Durable key/value state for one connection, kept in Redis under the connection's own prefix:
 * poll cursors, seen-sets, file ledgers. Survives restarts; shared by every worker process.
 */
export interface ConnectionState {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, ttlSeconds?: number): Promise<void>;
  /** Sets only if absent; true when this call set it. */
  setIfAbsent(key: string, value: string, ttlSeconds?: number): Promise<boolean>;
  del(key: string): Promise<void>;
  getJson<T>(key: string): Promise<T | null>;
  setJson(key: string, value: unknown, ttlSeconds?: number): Promise<void>;
  /** Atomically adds to a counter and returns the new value. */
  increment(key: string, by?: number): Promise<number>;
  /** Adds members to a set; returns how many were new. */
  addToSet(key: string, members: string[]): Promise<number>;
  /** Returns for each member whether it is in the set. */
  areMembers(key: string, members: string[]): Promise<boolean[]>;
  hashSet(key: string, field: string, value: string): Promise<void>;
  hashGet(key: string, field: string): Promise<string | null>;
  hashGetAll(key: string): Promise<Record<string, string>>;
  /**
   * A best-effort mutual-exclusion lock across processes; returns a release function, or null if held elsewhere. It is
   * a lease: renewed every ttlMs / 3 while held, so it lasts as long as its holder's work; ttlMs bounds only how long a
   * holder that died keeps it. A release that Redis does not answer (unavailable) rejects and is sent again in the background until Redis takes it
   * or the lock has expired; so is the release of a take that failed that way (Redis may have set the lock): a Redis
   * restart does not leave the lock held by nobody for its whole TTL.
   */
  lock(key: string, ttlMs: number): Promise<(() => Promise<void>) | null>;
}

/** Counters an adapter reports about its peer; the hub turns them into Prometheus metrics. */
export interface PeerMetrics {
  /** One HTTP (or SFTP/SMTP) exchange with the peer and how it ended. */
  peerResponse(operation: string, status: number | string, seconds: number): void;
}

export interface AdapterContext<S> {
  connection: ConnectionInfo<S>;
  /** A child logger bound to the connection. Never pass personal data to it. */
  log: Logger;
  state: ConnectionState;
  metrics: PeerMetrics;
}

/** What the hub hands an action: one case for one route target. `O` is the action's options type (see OptionsOf). */
export interface DeliveryRequest<O = Record<string, unknown>> {
  /** The canonical case after the route's mapping overrides. */
  case: CanonicalCase;
  hubId: string;
  action: string;
  /** The route target's action options from config, validated against the action's optionsSchema. */
  options: O;
  route: string;
  /** Deterministic per (route, target, source event): the same on every retry and replay. */
  deliveryId: string;
  /** 1 on the first try (BullMQ's count for this job; a replay may start it again at 1). */
  attempt: number;
  /**
   * How many earlier attempts of this deliveryId reached the adapter, in any process, replays included (the hub
   * records each start in Redis before calling the action). 0 proves the peer was never called for this delivery,
   * so an action may skip its "did an earlier attempt already do it?" look-up. Absent (dry runs, direct calls):
   * unknown, so an action must assume an earlier attempt may have acted.
   */
  earlierAttempts?: number;
  /** An earlier attempt ended with an uncertain outcome (timeout, reset or 5xx after a write): the peer may have acted. */
  earlierUncertain?: boolean;
  /** Every cross-reference known for the case, in all systems. */
  references: CrossReference[];
  /**
   * The route target's choice for a peer that already holds a case for this hub case (config `onExisting`):
   * 'update' (absent means this) the existing case, add the event to it as a 'note', or 'create-linked': create a
   * new case linked to the existing one, once per route.
   */
  onExisting?: 'update' | 'note' | 'create-linked';
}

/** Safe-to-trace facts about a peer reply: ids, statuses, counts. Never personal data. */
export type TraceSummary = Record<string, string | number | boolean | null>;

export interface DeliveryResult {
  /** New cross-references the peer assigned (e.g. the case id the peer gave it). */
  references?: CrossReference[];
  summary?: TraceSummary;
}

/**
 * One action of an adapter. `Schema` is `typeof` the action's `as const` options schema, so deliver() sees
 * `request.options` typed from it (OptionsOf); leave it out only in the hub's erased form.
 */
export interface ActionDefinition<S, Schema = UntypedOptions> {
  description: string;
  optionsSchema?: OptionsSchemaOf<Schema>;
  /** Delivers one case. Throw PeerError/PermanentError/RetryableError (src/core/errors) to fail. */
  deliver(request: DeliveryRequest<OptionsOf<Schema>>, ctx: AdapterContext<S>): Promise<DeliveryResult>;
  /** The request(s) deliver() would send for this case, without sending anything (for dry-run replay). */
  preview?(request: DeliveryRequest<OptionsOf<Schema>>, ctx: AdapterContext<S>): Promise<PeerRequestPreview[]>;
}

/** One request an action would make: method and path, and its body or parameters (may hold personal data). */
export interface PeerRequestPreview {
  operation: string;
  body: unknown;
}

/** One thing a source saw: a new or changed case. */
export interface SourceEvent {
  /** Stable id of this event at the source; the hub drops an event it has already accepted. */
  eventId: string;
  case: CanonicalCase;
}

export interface EmitResult {
  eventId: string;
  hubId: string;
  /** True when the hub had already accepted this event earlier. */
  duplicate: boolean;
}

/** Resolves only once every event is durably stored and queued: only then may a source acknowledge or move on. */
export type Emit = (events: SourceEvent[]) => Promise<EmitResult[]>;

/** A source the hub polls. `Schema` as for ActionDefinition: `typeof` its `as const` options schema. */
export interface PollSourceDefinition<S, Schema = UntypedOptions> {
  kind: 'poll';
  description: string;
  optionsSchema?: OptionsSchemaOf<Schema>;
  defaultIntervalMs: number;
  /** Called on schedule by one worker at a time (the hub holds a lock). */
  poll(ctx: AdapterContext<S>, emit: Emit, options: OptionsOf<Schema>): Promise<PollOutcome | void>;
}

export interface PollOutcome {
  emitted: number;
  /** Seconds between the newest item seen at the peer and now, for the poller-lag metric. */
  lagSeconds?: number;
}

/** How a webhook endpoint looks from outside, for the hub's OpenAPI document (the same schemas the adapter validates with). */
export interface WebhookApiDoc {
  /** Content type of the request body (default application/json). */
  requestContentType?: string;
  requestSchema?: JsonSchema;
  /** By HTTP status: what the endpoint answers, with the body's schema when it has one. */
  responses?: Record<string, { description: string; schema?: JsonSchema }>;
  /** How callers authenticate, in words (e.g. "API key in X-API-Key"). */
  authentication?: string;
  /**
   * The same as an OpenAPI security scheme, published in /openapi.json under `schemeName` (default: the adapter's
   * name + "ApiKey") and required on the endpoint.
   */
  securityScheme?: { type: 'apiKey'; in: 'header' | 'query' | 'cookie'; name: string; description?: string; schemeName?: string };
  /** Worked examples: a request body and what the endpoint answers to it. */
  examples?: Record<string, { summary: string; request: unknown; status: number; response: unknown }>;
}

/** A source that receives HTTP calls. `Schema` as for ActionDefinition: `typeof` its `as const` options schema. */
export interface WebhookSourceDefinition<S, Schema = UntypedOptions> {
  kind: 'webhook';
  description: string;
  optionsSchema?: OptionsSchemaOf<Schema>;
  api?: WebhookApiDoc;
  /** Registers the source's HTTP endpoints (full paths, e.g. POST /intake/application) on the hub's API router. */
  mount(router: Router, ctx: AdapterContext<S>, emit: Emit, options: OptionsOf<Schema>): void;
}

export type SourceDefinition<S, Schema = UntypedOptions> = PollSourceDefinition<S, Schema> | WebhookSourceDefinition<S, Schema>;

/** A running sandbox peer on loopback. */
export interface SandboxHandle {
  /** Human-readable endpoints, printed at start-up (e.g. { api: "http://127.0.0.1:4010" }). */
  urls: Record<string, string>;
  /** Connection settings that reach this sandbox; merged under the connection's own settings. */
  settings: Record<string, unknown>;
  stop(): Promise<void>;
}

export interface SandboxOptions {
  host: string;
  /** 0 or absent: any free port. */
  port?: number;
  log: Logger;
  /** The connection's own settings (e.g. credentials the sandbox should accept). */
  settings: Record<string, unknown>;
  /** Folder the sandbox may use for files (SFTP roots etc.). */
  workDir: string;
}

export interface SandboxDefinition {
  description: string;
  start(options: SandboxOptions): Promise<SandboxHandle>;
}

/** What the hub tells an adapter when a delivery to one of its connections lands in dead letters. */
export interface DeadLetterInfo {
  route: string;
  hubId: string;
  action: string;
  deliveryId: string;
  error: { message: string; code: string; retryable: boolean };
}

/**
 * Any action of an adapter whatever its options schema: what an adapter's `actions` record holds. (An action typed
 * for its own options takes only those, so the record cannot promise more than `never` about them.)
 */
export interface AnyActionDefinition<S> {
  description: string;
  /** A const schema (json-schema-to-ts can read it): an action typed `ActionDefinition<S>` alone has none, so it cannot be listed. */
  optionsSchema?: AdapterOptionsSchema;
  deliver(request: DeliveryRequest<never>, ctx: AdapterContext<S>): Promise<DeliveryResult>;
  preview?(request: DeliveryRequest<never>, ctx: AdapterContext<S>): Promise<PeerRequestPreview[]>;
}

/** Any source of an adapter whatever its options schema (see AnyActionDefinition). */
export type AnySourceDefinition<S> =
  | (Omit<PollSourceDefinition<S>, 'poll' | 'optionsSchema'> & { optionsSchema?: AdapterOptionsSchema; poll(ctx: AdapterContext<S>, emit: Emit, options: never): Promise<PollOutcome | void> })
  | (Omit<WebhookSourceDefinition<S>, 'mount' | 'optionsSchema'> & { optionsSchema?: AdapterOptionsSchema; mount(router: Router, ctx: AdapterContext<S>, emit: Emit, options: never): void });

export interface Adapter<S> {
  /** Must equal the folder name under adapters/. */
  name: string;
  title: string;
  /** JSON Schema of the connection settings (the adapter's configuration-schema.json). */
  settingsSchema: JsonSchema;
  actions: Record<string, AnyActionDefinition<S>>;
  sources: Record<string, AnySourceDefinition<S>>;
  sandbox?: SandboxDefinition;
  /** Throws when the peer cannot be reached; used by /readyz. */
  checkHealth?(ctx: AdapterContext<S>): Promise<void>;
  /** Called once when a delivery to this adapter's connection lands in dead letters (e.g. to mail an operator). */
  onDeadLetter?(info: DeadLetterInfo, ctx: AdapterContext<S>): Promise<void>;
  /** Releases clients, timers, sockets held for a connection. */
  close?(ctx: AdapterContext<S>): Promise<void>;
}

/**
 * The type-erased form the hub's registry holds: settings and options as the config gave them (ajv has validated both
 * against the adapter's schemas before any of them reaches the adapter).
 */
export type RegisteredAdapter = Omit<Adapter<unknown>, 'actions' | 'sources'> & {
  actions: Record<string, ActionDefinition<unknown>>;
  sources: Record<string, SourceDefinition<unknown>>;
};

export function defineAdapter<S>(adapter: Adapter<S>): RegisteredAdapter {
  return adapter as unknown as RegisteredAdapter;
}
