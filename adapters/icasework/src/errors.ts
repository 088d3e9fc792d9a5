/**
 * iCasework's error conventions as typed errors:
 * - HTTP 400 with X-Application-Error-Code / X-Application-Error-Info and an HTML body (never XML/JSON):
 *   IcaseworkApplicationError, permanent unless its code is listed in retryableErrorCodes. A 400 without the headers
 *   (unknown Type, unknown case id) is the same error without a code.
 * - HTTP 200 with an empty body (wrong db): IcaseworkEmptyReplyError, permanent: it is a configuration fault.
 * - A body that cannot be decoded or is unsafe (DOCTYPE/ENTITY): IcaseworkReplyError, permanent.
 * - 5xx, 408, 429 and transport faults: retryable (peer-http / unexpectedStatus).
 * Messages name the operation and the code, never a parameter value or a body. The X-Application-Error-Info text may
 * echo personal data: it goes only into `peerDetail`, which the core keeps encrypted for operators.
 */
import type { AdapterContext } from 'caseway/core';
import { PeerError, isRetryableStatus } from 'caseway/core';

/** Trims the peer's error info and masks anything that looks like an e-mail address or a phone/id number. */
export function sanitizeInfo(info: string | undefined): string | undefined {
  if (info === undefined) return undefined;
  return info
    .replace(/[^\s@]+@[^\s@]+/g, '[email]')
    .replace(/\+?\d[\d\s-]{8,}\d/g, '[number]')
    .slice(0, 200);
}

export class IcaseworkApplicationError extends PeerError {
  readonly applicationErrorCode?: string;
  readonly applicationErrorInfo?: string;
  readonly operation: string;

  constructor(opts: { connection: string; operation: string; status: number; code?: string; info?: string; retryable: boolean }) {
    const info = sanitizeInfo(opts.info);
    super(
      `icasework: ${opts.operation} refused with HTTP ${opts.status}${opts.code ? ` (X-Application-Error-Code ${opts.code})` : ' (no application error code)'}`,
      {
        retryable: opts.retryable,
        status: opts.status,
        code: 'ICASEWORK_APPLICATION_ERROR',
        context: {
          connection: opts.connection,
          peer: 'icasework',
          action: opts.operation,
          peerCode: opts.code,
          peerDetail: opts.info,
        },
      },
    );
    this.applicationErrorCode = opts.code;
    this.applicationErrorInfo = info;
    this.operation = opts.operation;
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
): PeerError {
  const code = header(headers, 'X-Application-Error-Code');
  const info = header(headers, 'X-Application-Error-Info');
  const retryable = isRetryableStatus(status) || (code !== undefined && retryableCodes.includes(code));
  return new IcaseworkApplicationError({ connection: ctx.connection.name, operation, status, code, info, retryable });
}
