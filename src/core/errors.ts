/**
 * Typed errors. Each carries what an operator needs to act: which route, case, connection and peer,
 * and whether trying again can help. Messages and details must never contain personal data.
 */
export interface ErrorContext {
  route?: string;
  hubId?: string;
  connection?: string;
  peer?: string;
  action?: string;
  /** HTTP status the peer answered with, if any. */
  status?: number;
  /** The peer's own error code (e.g. iCasework X-Application-Error-Code). */
  peerCode?: string;
  /** Per-field validation errors: field path -> message (never the field's value). */
  fieldErrors?: Array<Record<string, string>>;
  [key: string]: unknown;
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

  /** A log- and trace-safe view: message, code, retryable and context (no stack, no cause bodies). */
  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retryable: this.retryable, ...this.context };
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

/** A message safe to log or show: the error's own message for Caseway errors, its class name otherwise. */
export function safeMessage(err: unknown): string {
  if (err instanceof CasewayError) return err.message;
  if (err instanceof Error) return err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message;
  return String(err);
}
