/* Generated from adapters/platform121/configuration-schema.json by `npm run gen:types`. Do not edit. */

/**
 * One connection is one program of one 121-service. Secrets come from config as ${ENV_VAR}.
 */
export interface Platform121Settings {
  /**
   * Root of the 121-service, e.g. https://121.example.org (the adapter adds the /api prefix).
   */
  baseUrl: string;
  /**
   * The 121 program this connection reads and writes.
   */
  programId: number;
  /**
   * 121 user (an e-mail address); needs a program assignment.
   */
  username: string;
  password: string;
  /**
   * Default programFspConfigurationName for new registrations (e.g. ironBank, Intersolve-visa).
   */
  programFspConfigurationName?: string;
  /**
   * Canonical path -> 121 attribute name, e.g. {"person.fullName": "fullName", "person.attributes.house": "house", "contacts.whatsapp": "whatsappPhoneNumber"}. Replaces the default {"person.fullName": "fullName"}.
   */
  attributeMapping?: {
    [k: string]: string;
  };
  /**
   * 121 attribute -> value sent on create when the case has no value for it (e.g. a required dropdown).
   */
  attributeDefaults?: {
    [k: string]: string | number | boolean;
  };
  /**
   * Client-side limits per connection (121 throttles per client IP: 3000 requests and 30 logins per minute by default).
   */
  throttle?: {
    requestsPerMinute?: number;
    loginsPerMinute?: number;
  };
  /**
   * Rows per import POST.
   */
  batchSize?: number;
  /**
   * How long the micro-batcher collects deliveries before posting.
   */
  batchWaitMs?: number;
  /**
   * How long setStatus polls registration events for the asynchronous change.
   */
  statusConfirmTimeoutMs?: number;
  statusConfirmIntervalMs?: number;
  /**
   * Per-request timeout.
   */
  timeoutMs?: number;
  /**
   * Largest reply body accepted, in bytes. A larger reply is aborted while it streams in and the call fails permanently (REPLY_TOO_LARGE, "reply too large"); it is not retried. Raise it for very large registration exports.
   */
  maxResponseBytes?: number;
  /**
   * Timeout of an import POST (121 saves row by row; its own server timeout is 10 min).
   */
  importTimeoutMs?: number;
  /**
   * In-client retries on 429, 5xx and timeouts before the hub's own retry takes over.
   */
  maxRetries?: number;
  retryBaseDelayMs?: number;
  /**
   * Prefix of referenceIds derived from hub ids.
   */
  referenceIdPrefix?: string;
  /**
   * reason sent with PATCH /registrations/{referenceId}.
   */
  updateReason?: string;
  /**
   * Read only by the sandbox peer (statusApplyDelayMs, throttle, tokenTtlSeconds, seed); ignored by the adapter.
   */
  sandbox?: {};
}
