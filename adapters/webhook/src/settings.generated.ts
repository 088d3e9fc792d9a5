/* Generated from adapters/webhook/configuration-schema.json by `npm run gen:types`. Do not edit. */

/**
 * Outbound settings reach any HTTP receiver (action post); the inbound block configures Caseway's own POST /webhooks/<connection> endpoint (source receive). Both sides sign per Standard Webhooks. Secrets may be given as ${ENV_VAR}.
 */
export interface WebhookSettings {
  /**
   * Outbound: where action post delivers. Use HTTPS outside a local sandbox.
   */
  url?: string;
  /**
   * Outbound: the signing secret, "whsec_" + base64 of 24 to 64 random bytes, shared with the receiver. E.g. ${WEBHOOK_SECRET}.
   */
  secret?: string;
  /**
   * Outbound: the HTTP method.
   */
  method?: 'POST' | 'PUT' | 'PATCH';
  /**
   * Outbound: extra headers on every delivery (e.g. {"Authorization": "Bearer ${TOKEN}"}). Content-Type and the webhook-* headers are always the adapter's.
   */
  headers?: {
    [k: string]: string;
  };
  /**
   * Outbound: time allowed for one exchange, reply body included, before it counts as a (retryable) timeout.
   */
  timeoutMs?: number;
  /**
   * Outbound: a reply body larger than this is aborted and the delivery fails permanently.
   */
  maxResponseBytes?: number;
  /**
   * Outbound: a Retry-After up to this long is waited out within the attempt, then the delivery is tried once more; a longer one fails the attempt (retryable) and the queue's back-off applies.
   */
  maxRetryAfterMs?: number;
  /**
   * Caseway as the receiver: POST /webhooks/<connection> (source receive).
   */
  inbound?: {
    /**
     * Endpoint path (default /webhooks/<connection>); the source option path wins over it.
     */
    path?: string;
    /**
     * Accepted signing secrets (whsec_...); give two while rotating. Without any, every call is refused (401).
     */
    secrets?: string[];
    /**
     * How far webhook-timestamp may be from the hub's clock, either way.
     */
    toleranceSeconds?: number;
    /**
     * Largest accepted body; larger ones answer 413.
     */
    bodyLimitBytes?: number;
  };
}
