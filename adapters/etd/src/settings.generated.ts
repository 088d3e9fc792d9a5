/* Generated from adapters/etd/configuration-schema.json by `npm run gen:types`. Do not edit. */

/**
 * Outbound settings reach an IIZUKA Case Manager (action submitApplication); the inbound block configures Caseway's own Case Manager endpoint (source application). Secrets may be given as ${ENV_VAR}.
 */
export interface EtdSettings {
  /**
   * Outbound: the case manager's API root; applications are posted to baseUrl + /application. The spec requires HTTPS in production.
   */
  baseUrl?: string;
  /**
   * Outbound: time allowed for one call before it counts as a (retryable) timeout.
   */
  timeoutMs?: number;
  /**
   * Outbound: extra headers on every call (the spec's required headers and authentication are TBD), e.g. {"Authorization": "Bearer ${IIZUKA_TOKEN}"}. Accept and Content-Type are always the spec's.
   */
  headers?: {
    [k: string]: string;
  };
  /**
   * Outbound: an API key sent in apiKeyHeader. The sandbox requires this key when it is set (and makes one up when it is not).
   */
  apiKey?: string;
  /**
   * Outbound: the header that carries apiKey.
   */
  apiKeyHeader?: string;
  /**
   * Outbound: largest reply body accepted, in bytes. A larger reply is aborted while it streams in and the delivery fails permanently (REPLY_TOO_LARGE, "reply too large"); it is not retried.
   */
  maxResponseBytes?: number;
  /**
   * Outbound: the name passportDetails' 'issued in the UK' y/n is sent under. The spec's 2015-05-27 version spells it passwordIssuedInUK (renamed passportIssuedInUK on 2015-07-03); a peer built on that version needs the old name. The value goes out under this name only, whichever name the case came in with.
   */
  passportIssuedInUKField?: 'passportIssuedInUK' | 'passwordIssuedInUK';
  /**
   * Caseway as the Case Manager: the POST /etd/application endpoint the ETD web form calls.
   */
  inbound?: {
    /**
     * Endpoint path; the source option `path` wins over it.
     */
    path?: string;
    /**
     * Accepted API keys. Without any (and without allowUnauthenticated) every call is refused with 401.
     */
    apiKeys?: {
      /**
       * A label for logs (never the key).
       */
      name: string;
      /**
       * The secret, e.g. ${ETD_FORM_API_KEY}.
       */
      key: string;
      /**
       * Addresses or CIDR ranges (IPv4/IPv6) this key may call from; absent: any address. A known key from elsewhere gets 403.
       */
      allowIps?: string[];
    }[];
    /**
     * The header the API key comes in.
     */
    apiKeyHeader?: string;
    /**
     * Accept calls that carry no API key (local demos only). A wrong key is still refused.
     */
    allowUnauthenticated?: boolean;
    /**
     * Largest accepted body; larger ones answer 413.
     */
    bodyLimitBytes?: number;
    /**
     * How long an Idempotency-Key header (IETF httpapi draft) is remembered per API key: a repeat with the same key and body within it gets the first answer; the same key with another body gets 422; a repeat while the first is still being stored gets 409.
     */
    idempotencyKeyTtlSeconds?: number;
    /**
     * How long a request holds its Idempotency-Key while it stores the application: a repeat meanwhile gets 409. A claim whose request died with its process (or could not free it) lapses after this, and the repeat is then processed (the content digest still files one application).
     */
    idempotencyInFlightSeconds?: number;
    /**
     * Tunables for what the spec leaves TBD. The sandbox peer applies the same block.
     */
    validation?: {
      /**
       * Replaces the default title list [Mr, Mrs, Miss, Ms, Mx, Dr].
       */
      titles?: string[];
      /**
       * Added to the title list (e.g. ["Sir", "Rev"]).
       */
      extraTitles?: string[];
      /**
       * Match title, reason, transport modes and y/n without regard to case (the spec's example sends "stolen" and "car").
       */
      caseInsensitiveEnums?: boolean;
      /**
       * Properties the spec does not define: reject (422 Invalid format) or keep them (they travel in extensions.etd).
       */
      unknownFields?: 'reject' | 'keep';
      /**
       * JavaScript regular expressions (anchor them) for the spec's undefined 'Postcode Regex', 'Email Regex', 'Passport Regex', and phone numbers. Empty strings always pass; Required is checked separately.
       */
      patterns?: {
        postcode?: string;
        email?: string;
        phone?: string;
        passportNumber?: string;
      };
      /**
       * Fields of the representative block that must be given (a missing or "" one answers Required). The spec (2016 revision) gives the block no field list; each name must be one the block declares in schemas/etd-application.schema.json (our guesses; another name stops the connection at start-up). Default none: the block is accepted with any of them, and properties it does not declare follow unknownFields.
       */
      representativeRequired?: string[];
      /**
       * Maximum lengths by dotted field path without indexes, e.g. {"appDetails.forenames": 50, "appDetails.other.surname": 50}. For a list (transitCountries) it is the maximum number of items.
       */
      maxLengths?: {
        [k: string]: number;
      };
    };
  };
}
