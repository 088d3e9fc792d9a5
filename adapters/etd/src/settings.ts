/** Connection settings of an ETD connection, and the defaults the adapter fills in. */

export interface ApiKeySetting {
  /** A label for logs and metrics (never the key itself). */
  name: string;
  key: string;
  /** When given, calls with this key are accepted only from these addresses (IPv4/IPv6, or CIDR ranges). */
  allowIps?: string[];
}

export interface ValidationPatterns {
  postcode?: string;
  email?: string;
  phone?: string;
  passportNumber?: string;
}

/** Tunables for the rules the spec leaves TBD. Both the inbound endpoint and the sandbox peer apply them. */
export interface ValidationSettings {
  /** Replaces the default title list (Mr, Mrs, Miss, Ms, Mx, Dr). */
  titles?: string[];
  /** Added to the title list. */
  extraTitles?: string[];
  /** Match title, reason, transport modes and y/n case-insensitively (the spec's own example sends "stolen", "car"). */
  caseInsensitiveEnums?: boolean;
  /** What to do with properties the spec does not define: reject them (422 Invalid format) or keep them. */
  unknownFields?: 'reject' | 'keep';
  /** Regular expressions (JavaScript syntax, anchor them yourself) for the spec's named but undefined regexes. */
  patterns?: ValidationPatterns;
  /** Maximum lengths by dotted field path without indexes, e.g. {"appDetails.forenames": 50}. */
  maxLengths?: Record<string, number>;
}

export interface InboundSettings {
  /** Path of the intake endpoint on the hub's API router; the source option `path` wins over it. */
  path?: string;
  apiKeys?: ApiKeySetting[];
  /** Header that carries the API key (default X-API-Key). */
  apiKeyHeader?: string;
  /** Accept calls without an API key (local demos only). A wrong key is still refused. */
  allowUnauthenticated?: boolean;
  /** Largest accepted body in bytes (default 102400); larger bodies answer 413. */
  bodyLimitBytes?: number;
  /** How long an Idempotency-Key is remembered, in seconds (default 86400): a retry within it gets the same answer. */
  idempotencyKeyTtlSeconds?: number;
  validation?: ValidationSettings;
}

export interface EtdSettings {
  /** Outbound: the case manager's API root; applications go to baseUrl + "/application". */
  baseUrl?: string;
  timeoutMs?: number;
  /** Outbound: extra headers on every call (e.g. an Authorization header), since the spec leaves them TBD. */
  headers?: Record<string, string>;
  /** Outbound: an API key sent in apiKeyHeader. */
  apiKey?: string;
  apiKeyHeader?: string;
  /** Outbound: largest reply body accepted, in bytes (default 10 MB); a larger one fails permanently. */
  maxResponseBytes?: number;
  inbound?: InboundSettings;
}

export const DEFAULT_INBOUND_PATH = '/etd/application';
export const DEFAULT_API_KEY_HEADER = 'X-API-Key';
export const DEFAULT_BODY_LIMIT_BYTES = 102400;
export const DEFAULT_TIMEOUT_MS = 15000;
export const DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS = 86400;

export function inboundPath(settings: EtdSettings, options: Record<string, unknown>): string {
  const fromOptions = typeof options.path === 'string' && options.path ? options.path : undefined;
  return fromOptions ?? settings.inbound?.path ?? DEFAULT_INBOUND_PATH;
}
