/**
 * Typed errors. Each carries what an operator needs to act: which route, case, connection and peer,
 * and whether trying again can help. Messages must never contain personal data.
 *
 * A peer may echo personal data in its errors (an error-info header, a 422 message
 * such as "Surname X (born ...)"). Adapters put the peer's own words only in `peerDetail` and in the messages of
 * `fieldErrors` (or `peerFields`); everything else in the context must be safe (ids, codes, statuses, paths).
 * `safeDetail()` (also what `toJSON()` gives, so logs and traces get it) keeps status, codes and field *paths*;
 * given the hub's `DetailHasher` it adds a keyed hash of the free text. `sensitiveDetail()` is the peer's free text,
 * which the engine keeps only encrypted.
 */
import { createHmac } from 'node:crypto';

/** What a peer said was wrong with one field: its path is safe to show; its message may echo personal data. */
export interface PeerFieldError {
  path: string;
  code?: string;
  message?: string;
}

export interface ErrorContext {
  route?: string;
  hubId?: string;
  connection?: string;
  peer?: string;
  action?: string;
  /** HTTP status the peer answered with, if any. */
  status?: number;
  /** The peer's own error code (e.g. an X-Application-Error-Code header). */
  peerCode?: string;
  /**
   * Per-field errors: field path -> message, or records naming the path as `path`, `field` or `column`. The paths are
   * shown; the messages are treated as the peer's free text (sensitive).
   */
  fieldErrors?: Array<Record<string, string>>;
  /** Per-field errors in the explicit shape (path safe, message sensitive). */
  peerFields?: PeerFieldError[];
  /** The peer's free text about the error (an error-info header, a message, a body): sensitive, kept encrypted. */
  peerDetail?: string;
  [key: string]: unknown;
}

/** The safe view of an error, written to logs, traces and dead letters. Never holds a peer's free text. */
export interface SafeErrorDetail {
  name: string;
  code: string;
  message: string;
  retryable: boolean;
  status?: number;
  peerCode?: string;
  route?: string;
  hubId?: string;
  connection?: string;
  peer?: string;
  action?: string;
  /** Paths of the fields the peer named (never their values or the peer's words about them). */
  fields?: string[];
  /** Error codes per field, where the peer gave codes. */
  fieldCodes?: string[];
  /**
   * HMAC-SHA-256 (first 16 hex digits) of the peer's free text, keyed from the hub's data key: equal errors hash alike
   * within one deployment without showing them. Only where the hub serialises the error with its `DetailHasher`.
   */
  detailHash?: string;
  /** True when the free text exists and the engine may have kept it encrypted for operators. */
  hasPeerDetail?: boolean;
  /** Other scalar context the adapter gave (ids, counts, codes). */
  [key: string]: string | number | boolean | string[] | undefined;
}

/** The peer's own words about an error: only ever stored encrypted and shown to operators. */
export interface SensitiveErrorDetail {
  peerDetail?: string;
  fields?: PeerFieldError[];
}

/** Context keys that hold the peer's free text, or structures; never copied into the safe view. */
const SENSITIVE_KEYS = new Set(['peerDetail', 'peerFields', 'fieldErrors', 'peerInfo', 'detail', 'body', 'headers']);
const MAX_SAFE_TEXT = 200;

/** The path a field-error record names: `path`, `field` or `column`, else its only key ({"a.b": "Required"}). */
function fieldPath(record: Record<string, string>): string {
  return record.path ?? record.field ?? record.column ?? Object.keys(record)[0] ?? '?';
}

function fieldsOf(context: ErrorContext): PeerFieldError[] {
  const out: PeerFieldError[] = [...(context.peerFields ?? [])];
  for (const record of context.fieldErrors ?? []) {
    const path = fieldPath(record);
    const { path: _p, field: _f, column: _c, code, ...rest } = record;
    const words = Object.entries(rest).map(([k, v]) => (k === path ? v : `${k}: ${v}`)).join('; ');
    out.push({ path, ...(code ? { code } : {}), ...(words ? { message: words } : {}) });
  }
  return out;
}

/**
 * A keyed one-way fingerprint of a peer's free text: HMAC-SHA-256, first 16 hex digits. An unkeyed hash of a short
 * text (a surname, a birth date) gives the text back to anyone who hashes guesses; with a key only the deployment that
 * holds it can compare. The hub derives the key from its data key (`PayloadCipher.detailHasher()`), so equal texts
 * hash alike across its processes and restarts, and differently under another key. There is no unkeyed fallback:
 * without a hasher an error's safe view has no hash at all.
 */
export class DetailHasher {
  readonly #key: Buffer;

  constructor(key: Uint8Array) {
    if (key.length < 32) throw new Error('a detail-hash key must be at least 32 bytes');
    this.#key = Buffer.from(key);
  }

  hash(text: string): string {
    return createHmac('sha256', this.#key).update(text, 'utf8').digest('hex').slice(0, 16);
  }
}

export class CasewayError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(message: string, opts: { code: string; retryable: boolean; context?: ErrorContext; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.retryable = opts.retryable;
    this.context = opts.context ?? {};
  }

  /**
   * The log-, trace- and dead-letter-safe view: status, codes, field paths, scalar ids, and with `hasher` a keyed hash
   * of the free text (`toJSON()` has no key, so it gives no hash, only `hasPeerDetail`).
   */
  safeDetail(hasher?: DetailHasher): SafeErrorDetail {
    const out: SafeErrorDetail = { name: this.name, code: this.code, message: this.message, retryable: this.retryable };
    for (const [key, value] of Object.entries(this.context)) {
      if (SENSITIVE_KEYS.has(key) || value === undefined || value === null) continue;
      if (typeof value === 'number' || typeof value === 'boolean') out[key] = value;
      else if (typeof value === 'string') out[key] = value.slice(0, MAX_SAFE_TEXT);
    }
    const sensitive = this.sensitiveDetail();
    if (sensitive?.fields?.length) {
      out.fields = sensitive.fields.map((f) => f.path.slice(0, MAX_SAFE_TEXT));
      const codes = sensitive.fields.map((f) => f.code).filter((c): c is string => Boolean(c));
      if (codes.length) out.fieldCodes = codes;
    }
    if (sensitive) {
      if (hasher) out.detailHash = hasher.hash(JSON.stringify(sensitive));
      out.hasPeerDetail = true;
    }
    return out;
  }

  /** The peer's free text (error info, per-field messages), or undefined when it said nothing beyond codes. */
  sensitiveDetail(): SensitiveErrorDetail | undefined {
    const fields = fieldsOf(this.context);
    const peerDetail = this.context.peerDetail ?? (typeof this.context.peerInfo === 'string' ? this.context.peerInfo : undefined);
    if (!peerDetail && !fields.some((f) => f.message)) return undefined;
    return { ...(peerDetail ? { peerDetail } : {}), ...(fields.length ? { fields } : {}) };
  }

  /** What JSON.stringify (and so every log line) gets: the safe view, without a hash (no key here). */
  toJSON(): SafeErrorDetail {
    return this.safeDetail();
  }
}

/** Trying again may succeed: network faults, timeouts, 5xx, 429. */
export class RetryableError extends CasewayError {
  constructor(message: string, context?: ErrorContext, cause?: unknown) {
    super(message, { code: 'RETRYABLE', retryable: true, context, cause });
  }
}

/** Trying again cannot succeed without a change (data or config): 4xx validation errors, refused input. */
export class PermanentError extends CasewayError {
  constructor(message: string, context?: ErrorContext, cause?: unknown) {
    super(message, { code: 'PERMANENT', retryable: false, context, cause });
  }
}

/**
 * An adapter emitted a case that schemas/canonical-case.schema.json refuses: a bug in the adapter, refused at intake
 * before anything of its batch is stored or queued. Names the adapter, connection, source, event and the paths (never
 * the values: they may be personal data).
 */
export class InvalidCanonicalCaseError extends PermanentError {
  override readonly code = 'INVALID_CANONICAL_CASE';
  constructor(
    readonly adapter: string,
    readonly source: string,
    readonly problems: Array<{ eventId: string; path: string; reason: string }>,
    context: ErrorContext,
  ) {
    const first = problems[0];
    super(
      `adapter "${adapter}" (connection "${context.connection}", source "${source}") emitted an invalid canonical case: event ${first.eventId}, ${first.path || '/'} ${first.reason}${problems.length > 1 ? ` (and ${problems.length - 1} more)` : ''}; nothing of this batch was accepted`,
      { ...context, peer: adapter, source, fieldErrors: problems.map((p) => ({ path: p.path || '/', error: p.reason, eventId: p.eventId })) },
    );
  }
}

/** An error answered by (or while talking to) a peer system. */
export class PeerError extends CasewayError {
  readonly status?: number;
  constructor(message: string, opts: { retryable: boolean; status?: number; context?: ErrorContext; code?: string; cause?: unknown }) {
    super(message, {
      code: opts.code ?? (opts.retryable ? 'PEER_RETRYABLE' : 'PEER_REJECTED'),
      retryable: opts.retryable,
      context: { ...opts.context, status: opts.status ?? opts.context?.status },
      cause: opts.cause,
    });
    this.status = opts.status;
  }
}

/** Configuration that cannot be used: names the file, the path inside it and the reason. */
export class ConfigError extends CasewayError {
  readonly file: string;
  readonly path: string;
  readonly reason: string;
  constructor(file: string, path: string, reason: string) {
    super(`${file}: ${path || '/'}: ${reason}`, { code: 'CONFIG', retryable: false, context: { file, path } });
    this.file = file;
    this.path = path;
    this.reason = reason;
  }
}

/** Several config problems found at once; the message lists every one, one per line. */
export class ConfigErrors extends CasewayError {
  readonly errors: ConfigError[];
  constructor(errors: ConfigError[]) {
    super(errors.map((e) => e.message).join('\n'), { code: 'CONFIG', retryable: false });
    this.errors = errors;
  }
}

/** Input that failed validation (e.g. an inbound application); carries every field error at once. */
export class ValidationError extends CasewayError {
  constructor(message: string, fieldErrors: Array<Record<string, string>>, context?: ErrorContext) {
    super(message, { code: 'VALIDATION', retryable: false, context: { ...context, fieldErrors } });
  }
  get fieldErrors(): Array<Record<string, string>> {
    return this.context.fieldErrors ?? [];
  }
}

/** HTTP statuses worth retrying: timeouts, throttling and server faults. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/**
 * Caseway errors say whether they are retryable; so may any error with a boolean `retryable` property (an adapter
 * written in plain JavaScript need not import the core). Anything else (bugs, network) is retried, bounded by the
 * attempt limit.
 */
export function isRetryable(err: unknown): boolean {
  if (err instanceof CasewayError) return err.retryable;
  if (typeof err === 'object' && err !== null && typeof (err as { retryable?: unknown }).retryable === 'boolean') {
    return (err as { retryable: boolean }).retryable;
  }
  return true;
}

/**
 * A message safe to log or show: the error's own message for Caseway errors (written never to hold a value); for
 * anything else its class and message with double-quoted text masked, because library messages quote their input
 * (JSON.parse: `Unexpected token 'J', "Jane Doe, 12 High St" is not valid JSON`).
 */
export function safeMessage(err: unknown): string {
  if (err instanceof CasewayError) return err.message;
  const message = err instanceof Error ? (err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message) : String(err);
  return message.replace(/"(?:[^"\\]|\\.)*"?/g, '"…"');
}

/**
 * The safe view of any error: a Caseway error's own (with a keyed hash of its free text when `hasher` is given), else
 * its class and message (errors from libraries, bugs).
 */
export function safeErrorDetail(err: unknown, hasher?: DetailHasher): SafeErrorDetail {
  if (err instanceof CasewayError) return err.safeDetail(hasher);
  return { name: err instanceof Error ? err.name : 'Error', code: 'ERROR', message: safeMessage(err), retryable: isRetryable(err) };
}

/** The peer's free text of any error, if it is a Caseway error that has some. */
export function sensitiveErrorDetail(err: unknown): SensitiveErrorDetail | undefined {
  return err instanceof CasewayError ? err.sensitiveDetail() : undefined;
}
