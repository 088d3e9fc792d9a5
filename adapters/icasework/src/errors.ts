/**
 * iCasework's error conventions as typed errors:
 * - HTTP 400 with X-Application-Error-Code / X-Application-Error-Info and an HTML body (never XML/JSON):
 *   IcaseworkApplicationError, permanent unless its code is listed in retryableErrorCodes. A 400 without the headers
 *   (unknown Type, unknown case id) is the same error without a code.
 * - HTTP 200 with an empty body (wrong db): IcaseworkEmptyReplyError, permanent: it is a configuration fault.
 * - A body that cannot be decoded or is unsafe (DOCTYPE/ENTITY): IcaseworkReplyError, permanent.
 * - 5xx, 408, 429 and transport faults: retryable (peer-http / unexpectedStatus).
 * Messages name the operation and the code, never a parameter value or a body. The X-Application-Error-Info text may
 * echo personal data: no property of the error holds it; it leaves the error only through sensitiveDetail(), which
 * the engine keeps encrypted for operators.
 */
import type { AdapterContext, SensitiveErrorDetail } from 'caseway/core';
import { PeerError, isRetryableStatus } from 'caseway/core';

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The parameter names of the refused call that the peer's error text mentions: our own names, never a value. */
export function parametersNamed(info: string | undefined, sentNames: readonly string[]): string[] {
  if (!info) return [];
  return sentNames.filter((name) => new RegExp(`(?<![\\w.])${escapeRegExp(name)}(?![\\w.])`).test(info));
}

export class IcaseworkApplicationError extends PeerError {
  readonly applicationErrorCode?: string;
  /** Characters in the X-Application-Error-Info text (undefined when the peer sent none); its words are not kept here. */
  readonly applicationErrorInfoLength?: number;
  /** Parameters of the refused call that the info text names (names we sent, e.g. `Customer.Surname`). */
  readonly applicationErrorParameters: string[];
  readonly operation: string;
  /** The info as sent. Private: no enumerable property, JSON, message, stack or inspection shows it. */
  readonly #info?: string;

  constructor(opts: { connection: string; operation: string; status: number; code?: string; info?: string; retryable: boolean; sentNames?: readonly string[] }) {
    const parameters = parametersNamed(opts.info, opts.sentNames ?? []);
    super(
      `icasework: ${opts.operation} refused with HTTP ${opts.status}${opts.code ? ` (X-Application-Error-Code ${opts.code})` : ' (no application error code)'}`,
      {
        retryable: opts.retryable,
        status: opts.status,
        code: 'ICASEWORK_APPLICATION_ERROR',
        // Safe scalars only: the safe view (traces, logs, dead letters) copies them.
        context: {
          connection: opts.connection,
          peer: 'icasework',
          action: opts.operation,
          peerCode: opts.code,
          ...(parameters.length ? { peerParameters: parameters.join(',') } : {}),
          ...(opts.info !== undefined ? { peerDetailLength: opts.info.length } : {}),
        },
      },
    );
    this.applicationErrorCode = opts.code;
    this.applicationErrorInfoLength = opts.info?.length;
    this.applicationErrorParameters = parameters;
    this.operation = opts.operation;
    this.#info = opts.info;
  }

  /** The peer's own words, for the engine to keep encrypted (and to hash with its key for the safe view). */
  override sensitiveDetail(): SensitiveErrorDetail | undefined {
    return this.#info ? { ...super.sensitiveDetail(), peerDetail: this.#info } : super.sensitiveDetail();
  }
}

export class IcaseworkEmptyReplyError extends PeerError {
  constructor(connection: string, operation: string) {
    super(`icasework: ${operation} answered HTTP 200 with an empty body (wrong db/account?)`, {
      retryable: false,
      status: 200,
      code: 'ICASEWORK_EMPTY_REPLY',
      context: { connection, peer: 'icasework', action: operation },
    });
  }
}

export class IcaseworkReplyError extends PeerError {
  constructor(connection: string, operation: string, reason: string, status: number) {
    super(`icasework: ${operation} reply unusable: ${reason}`, {
      retryable: false,
      status,
      code: 'ICASEWORK_BAD_REPLY',
      context: { connection, peer: 'icasework', action: operation },
    });
  }
}

function header(headers: Record<string, unknown>, name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

/** Maps a non-2xx reply (other than the OAuth 401 the client handles itself) to a typed error. */
export function errorForStatus<S>(
  ctx: AdapterContext<S>,
  operation: string,
  status: number,
  headers: Record<string, unknown>,
  retryableCodes: string[],
  sentNames: readonly string[] = [],
): PeerError {
  const code = header(headers, 'X-Application-Error-Code');
  const info = header(headers, 'X-Application-Error-Info');
  const retryable = isRetryableStatus(status) || (code !== undefined && retryableCodes.includes(code));
  return new IcaseworkApplicationError({ connection: ctx.connection.name, operation, status, code, info, retryable, sentNames });
}
