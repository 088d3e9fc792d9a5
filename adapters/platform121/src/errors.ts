/**
 * 121's error bodies come in four shapes (reference section 4). This module recognises each one and turns it into a
 * typed error whose message and context name fields, never values: 121 echoes values back (row `value`, validation
 * `target`, "Value 'x' is not in the allowed options"), so every peer text is redacted before it is kept.
 */
import { PeerError, PermanentError, RetryableError, isRetryableStatus, type ErrorContext } from 'caseway/core';
import { isRecord } from 'caseway/core';

/** Which of the documented body shapes a 121 error reply had. */
export type ErrorBodyShape =
  | 'nest-message' // 1. {"statusCode":404,"message":"..."}
  | 'errors' // 2. {"errors":"..."}
  | 'import-rows' // 3. [{"column","error","lineNumber","referenceId","value"}]
  | 'validation' // 4. {"statusCode":400,"error":"Bad Request","message":[...]} (class-validator objects or ParseArrayPipe strings)
  | 'throttled' // 429 {"statusCode":429,"message":"ThrottlerException: Too Many Requests"}
  | 'other';

/** One row error of a rejected import, without its value. lineNumber is 1-based within the POSTed array. */
export interface ImportRowError {
  lineNumber: number;
  column: string;
  error: string;
  referenceId?: string;
}

export interface ParsedErrorBody {
  shape: ErrorBodyShape;
  /** Redacted, short description safe for logs. */
  detail: string;
  fieldErrors: Array<Record<string, string>>;
  rowErrors: ImportRowError[];
}

const MAX_DETAIL = 300;

/**
 * Removes personal data from a peer text: the given values (what we sent or what the peer echoed), quoted values of
 * "Value '...'" / "value '...'" phrases, e-mail addresses and long digit runs (phone/ID numbers).
 */
export function redact(text: string, values: ReadonlyArray<unknown> = []): string {
  let out = text;
  const strings = values
    .filter((v) => v !== null && v !== undefined && typeof v !== 'object')
    .map((v) => String(v))
    .filter((v) => v.length > 0 && v !== 'null' && v !== 'undefined' && v !== 'true' && v !== 'false')
    .sort((a, b) => b.length - a.length);
  for (const v of strings) {
    // Quoted occurrences always; bare occurrences only when long enough not to garble ordinary words.
    out = out.split(`'${v}'`).join(`'[value]'`).split(`"${v}"`).join(`"[value]"`);
    if (v.length >= 4) out = out.split(v).join('[value]');
  }
  out = out.replace(/([Vv]alue\s+)'[^']*'/g, "$1'[value]'");
  out = out.replace(/[^\s@'",;:]+@[^\s@'",;:]+\.[A-Za-z]{2,}/g, '[email]');
  out = out.replace(/\+?\d[\d\s-]{5,}\d/g, '[digits]');
  return out.length > MAX_DETAIL ? `${out.slice(0, MAX_DETAIL)}…` : out;
}


/** Flattens class-validator ValidationError objects (property, constraints, children) into field errors. */
function classValidatorFieldErrors(items: unknown[], values: ReadonlyArray<unknown>, parent = ''): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const item of items) {
    if (!isRecord(item)) continue;
    const property = typeof item.property === 'string' ? item.property : '?';
    const path = parent ? `${parent}.${property}` : property;
    const echoed = [...values, item.value];
    if (isRecord(item.constraints)) {
      for (const [constraint, message] of Object.entries(item.constraints)) {
        out.push({ field: path, constraint, error: redact(String(message), echoed) });
      }
    }
    if (Array.isArray(item.children) && item.children.length) out.push(...classValidatorFieldErrors(item.children, echoed, path));
  }
  return out;
}

/** Reads a 121 error body of any documented shape. `values` are the values we sent, to be redacted from peer texts. */
export function parseErrorBody(status: number, body: unknown, values: ReadonlyArray<unknown> = []): ParsedErrorBody {
  if (Array.isArray(body)) {
    const rowErrors: ImportRowError[] = [];
    for (const item of body) {
      if (!isRecord(item)) continue;
      const echoed = [...values, item.value];
      rowErrors.push({
        lineNumber: typeof item.lineNumber === 'number' ? item.lineNumber : Number(item.lineNumber) || 0,
        column: typeof item.column === 'string' ? item.column : '?',
        error: redact(typeof item.error === 'string' ? item.error : 'invalid', echoed),
        referenceId: typeof item.referenceId === 'string' ? item.referenceId : undefined,
      });
    }
    const fieldErrors = rowErrors.map((r) => ({ column: r.column, error: r.error, lineNumber: String(r.lineNumber) }));
    const columns = [...new Set(rowErrors.map((r) => r.column))].join(', ');
    return { shape: 'import-rows', detail: `${rowErrors.length} row error(s) in column(s) ${columns}`, fieldErrors, rowErrors };
  }
  if (isRecord(body)) {
    if (status === 429 || (typeof body.message === 'string' && body.message.startsWith('ThrottlerException'))) {
      return { shape: 'throttled', detail: 'ThrottlerException: Too Many Requests', fieldErrors: [], rowErrors: [] };
    }
    if (Array.isArray(body.message)) {
      const strings = body.message.filter((m): m is string => typeof m === 'string');
      const objects = body.message.filter(isRecord);
      const fieldErrors: Array<Record<string, string>> = [];
      for (const s of strings) {
        // ParseArrayPipe: "[0] programFspConfigurationName must be a string"
        const m = /^\[(\d+)\]\s+(\S+)\s+(.*)$/.exec(s);
        if (m) fieldErrors.push({ field: m[2], lineNumber: String(Number(m[1]) + 1), error: redact(`${m[2]} ${m[3]}`, values) });
        else fieldErrors.push({ field: s.split(/\s/)[0] ?? '?', error: redact(s, values) });
      }
      fieldErrors.push(...classValidatorFieldErrors(objects, values));
      const fields = [...new Set(fieldErrors.map((f) => f.field))].join(', ');
      return { shape: 'validation', detail: `validation failed for ${fields || 'the request'}`, fieldErrors, rowErrors: [] };
    }
    if (typeof body.message === 'string') {
      const detail = redact(body.message, values);
      // PATCH registration validation: "motto: The value 'null' given ..., phoneNumber: ..." (columns joined with ", ").
      const fieldErrors: Array<Record<string, string>> = [];
      if (status === 400) {
        for (const part of body.message.split(/,\s(?=[A-Za-z0-9_]+:\s)/)) {
          const m = /^([A-Za-z0-9_]+):\s(.*)$/.exec(part);
          if (m) fieldErrors.push({ field: m[1], error: redact(m[2], values) });
        }
      }
      return { shape: 'nest-message', detail, fieldErrors, rowErrors: [] };
    }
    if (typeof body.errors === 'string' || Array.isArray(body.errors) || isRecord(body.errors)) {
      const text = typeof body.errors === 'string' ? body.errors : JSON.stringify(body.errors);
      return { shape: 'errors', detail: redact(text, values), fieldErrors: [], rowErrors: [] };
    }
  }
  if (typeof body === 'string' && body.length) {
    return { shape: 'other', detail: redact(body, values), fieldErrors: [], rowErrors: [] };
  }
  return { shape: 'other', detail: 'no error body', fieldErrors: [], rowErrors: [] };
}

/** An error reply from 121, with the body shape it came in. Retryable for 408/425/429/5xx. */
export class Platform121Error extends PeerError {
  readonly shape: ErrorBodyShape;
  readonly detail: string;
  constructor(
    message: string,
    opts: { status?: number; retryable?: boolean; shape: ErrorBodyShape; detail: string; code?: string; context?: ErrorContext },
  ) {
    super(message, {
      retryable: opts.retryable ?? (opts.status !== undefined && isRetryableStatus(opts.status)),
      status: opts.status,
      code: opts.code,
      context: { peer: 'platform121', peerCode: opts.shape, ...opts.context },
    });
    this.shape = opts.shape;
    this.detail = opts.detail;
  }
}

/** 400 with a bare array: the whole import was refused; rowErrors say which lines and columns. */
export class ImportRejectedError extends Platform121Error {
  readonly rowErrors: ImportRowError[];
  constructor(message: string, rowErrors: ImportRowError[], context?: ErrorContext) {
    super(message, {
      status: 400,
      retryable: false,
      shape: 'import-rows',
      detail: `${rowErrors.length} row error(s)`,
      context: { ...context, fieldErrors: rowErrors.map((r) => ({ column: r.column, error: r.error, lineNumber: String(r.lineNumber) })) },
    });
    this.rowErrors = rowErrors;
  }
}

/** One registration that 121 refused (its own row errors); the other rows of its batch were imported. */
export class RegistrationRejectedError extends PermanentError {
  constructor(referenceId: string, fieldErrors: Array<Record<string, string>>, context?: ErrorContext) {
    const columns = [...new Set(fieldErrors.map((f) => f.column ?? f.field).filter(Boolean))].join(', ');
    super(`platform121: registration ${referenceId} rejected (${columns || 'invalid row'})`, {
      peer: 'platform121',
      status: 400,
      referenceId,
      ...context,
      fieldErrors,
    });
  }
}

/** A status change without a referenceId filter would change the whole program: the adapter refuses it as a bug. */
export class UnfilteredStatusChangeError extends PermanentError {
  constructor(context?: ErrorContext) {
    super('platform121: refused a status change without a referenceId filter (it would apply to the whole program)', {
      peer: 'platform121',
      bug: true,
      reason: 'unfiltered-status-change',
      ...context,
    });
  }
}

/** The registration's current status does not allow the requested transition; 121 skips it silently. */
export class StatusNotApplicableError extends PermanentError {
  constructor(referenceId: string, from: string, to: string, context?: ErrorContext) {
    super(`platform121: registration ${referenceId} cannot change status from ${from} to ${to}`, {
      peer: 'platform121',
      referenceId,
      fromStatus: from,
      toStatus: to,
      ...context,
    });
  }
}

/** 121 accepted the status change (202) but no matching event appeared within the confirmation timeout. */
export class StatusNotConfirmedError extends RetryableError {
  constructor(referenceId: string, status: string, timeoutMs: number, context?: ErrorContext) {
    super(`platform121: status change of ${referenceId} to ${status} not confirmed within ${timeoutMs} ms`, {
      peer: 'platform121',
      referenceId,
      toStatus: status,
      ...context,
    });
  }
}

/** Maps a non-2xx reply to a typed error. */
export function httpError(
  operation: string,
  status: number,
  body: unknown,
  context: ErrorContext,
  values: ReadonlyArray<unknown> = [],
): Platform121Error {
  const parsed = parseErrorBody(status, body, values);
  // Summaries this module writes itself (field names, counts) may go in the message; the peer's own text may echo
  // personal data, so it goes only into peerDetail, which the core keeps encrypted for operators.
  const ownWords = parsed.shape === 'validation' || parsed.shape === 'import-rows' || parsed.shape === 'throttled' || parsed.detail === 'no error body';
  const message = `platform121: ${operation} answered HTTP ${status}: ${ownWords ? parsed.detail : `${parsed.shape} reply (text kept for operators)`}`;
  if (parsed.shape === 'import-rows') return new ImportRejectedError(message, parsed.rowErrors, context);
  let code: string | undefined;
  if (status === 401) code = 'PEER_AUTH';
  else if (status === 403) code = 'PEER_FORBIDDEN';
  else if (status === 429) code = 'PEER_THROTTLED';
  else if (status === 404) code = 'PEER_NOT_FOUND';
  return new Platform121Error(message, {
    status,
    shape: parsed.shape,
    detail: parsed.detail,
    code,
    context: { ...context, ...(parsed.fieldErrors.length ? { fieldErrors: parsed.fieldErrors } : {}), ...(ownWords ? {} : { peerDetail: parsed.detail }) },
  });
}

/** True for 404 {"errors":"There is currently no data to export"}, which 121 answers for an empty export or event list. */
export function isNoDataReply(status: number, body: unknown): boolean {
  return status === 404 && isRecord(body) && typeof body.errors === 'string' && /no data/i.test(body.errors);
}

/** A message without a referenceId filter would go to every registration of the program: refused as a bug. */
export class UnfilteredMessageError extends PermanentError {
  constructor(context?: ErrorContext) {
    super('platform121: refused to send a message without a referenceId filter (it would go to the whole program)', {
      peer: 'platform121',
      bug: true,
      reason: 'unfiltered-message',
      ...context,
    });
  }
}
