/** Connection settings of a webhook connection, and the defaults the adapter fills in. */

export interface InboundSettings {
  /** Endpoint path on the hub's API router (default /webhooks/<connection>); the source option `path` wins. */
  path?: string;
  /** Secrets ("whsec_" + base64) whose signatures are accepted; more than one while a secret is being rotated. */
  secrets?: string[];
  /** How far webhook-timestamp may be from the hub's clock, in seconds (default 300). */
  toleranceSeconds?: number;
  /** Largest accepted body in bytes (default 1 MB); larger ones answer 413. */
  bodyLimitBytes?: number;
}

export interface WebhookSettings {
  /** Outbound: where action `post` delivers. */
  url?: string;
  /** Outbound: the signing secret ("whsec_" + base64 of 24 to 64 random bytes). */
  secret?: string;
  method?: 'POST' | 'PUT' | 'PATCH';
  /** Outbound: extra headers on every delivery (e.g. an Authorization header). */
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Outbound: a reply body larger than this aborts the delivery as a permanent error (default 10 MB). */
  maxResponseBytes?: number;
  /** Outbound: the longest Retry-After (ms) waited for inside one attempt before handing the wait to the queue. */
  maxRetryAfterMs?: number;
  inbound?: InboundSettings;
}

export const ADAPTER = 'webhook';
export const DEFAULT_TIMEOUT_MS = 15000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 30000;
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export function inboundPath(connection: string, settings: WebhookSettings, options: Record<string, unknown>): string {
  const fromOptions = typeof options.path === 'string' && options.path ? options.path : undefined;
  return fromOptions ?? settings.inbound?.path ?? `/webhooks/${encodeURIComponent(connection)}`;
}
