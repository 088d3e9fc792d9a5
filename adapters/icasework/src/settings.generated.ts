/* Generated from adapters/icasework/configuration-schema.json by `npm run gen:types`. Do not edit. */

/**
 * iCasework connection settings
 */
export interface IcaseworkSettings {
  /**
   * Which URL shape the account uses. legacy: {baseUrl}/services/{account}/{op}; subdomain: {baseUrl}/{op} with baseUrl https://{account}.icasework.com (current production); db: {baseUrl}/{op}?db={account} (current UAT).
   */
  urlStyle?: 'legacy' | 'subdomain' | 'db';
  /**
   * Scheme and host (no trailing slash). {account} is replaced by the account. Defaults: legacy https://portal.icasework.com, subdomain https://{account}.icasework.com, db https://uat.icasework.com.
   */
  baseUrl?: string;
  /**
   * The iCasework account / database id (the {account} of the URL, or the db parameter).
   */
  account?: string;
  /**
   * Host that serves getreport. Defaults: subdomain https://{account}reports.icasework.com; legacy and db the baseUrl.
   */
  reportsBaseUrl?: string;
  /**
   * signature: Key + Signature parameters (MD5 of signed parameter + UTC date + secret). oauth2: JWT-bearer token from /token, sent as Authorization: Bearer.
   */
  authMode?: 'signature' | 'oauth2';
  /**
   * API key.
   */
  key: string;
  /**
   * Secret key (use ${ENV_VAR}).
   */
  secret: string;
  /**
   * OAuth2 token URL; also the JWT aud claim. Default: {baseUrl}/token (plus ?db={account} for urlStyle db).
   */
  tokenUrl?: string;
  /**
   * Fetch a new bearer token this many seconds before the cached one expires.
   */
  tokenRefreshSkewSeconds?: number;
  /**
   * Reply format asked for with the Format parameter.
   */
  format?: 'xml' | 'json';
  /**
   * Per operation, the parameters whose value is signed (the first one present in the call is used; an empty list signs date + secret only). Overrides the built-in table.
   */
  signedParameters?: {
    [k: string]: string[];
  };
  /**
   * Per-request timeout.
   */
  timeoutMs?: number;
  /**
   * How many times a read (getcasedetails, getreport, token) is retried inside one call after a 5xx or timeout. Writes are never retried inside a call; the hub retries the delivery.
   */
  readRetries?: number;
  retryBaseDelayMs?: number;
  /**
   * X-Application-Error-Code values to treat as retryable (all others are permanent).
   */
  retryableErrorCodes?: string[];
  /**
   * Largest reply body accepted, in bytes. A larger reply is aborted while it streams in and the call fails permanently (REPLY_TOO_LARGE, "reply too large"); it is not retried.
   */
  maxResponseBytes?: number;
  /**
   * If set, checkHealth runs this getreport; otherwise it checks that the host answers (and, for oauth2, that a token can be obtained).
   */
  healthReportId?: string;
}
