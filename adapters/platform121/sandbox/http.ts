/** Small HTTP helpers of the sandbox: the thrown reply, Nest's error body shapes, cookie and date parsing. */

/** Thrown by a handler: the error middleware answers `status` with `body` as JSON (a bare array stays an array). */
export class HttpReply extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

export function isIso8601(v: unknown): boolean {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v));
}

/** A class-validator error object the way Nest's ValidationPipe serialises it (value and target included!). */
export function cvError(property: string, value: unknown, constraints: Record<string, string>, target: unknown): Record<string, unknown> {
  return { target, value, property, children: [], constraints };
}

export function validationBody(errors: Array<Record<string, unknown>>): Record<string, unknown> {
  return { statusCode: 400, error: 'Bad Request', message: errors };
}

/** Throws the ValidationPipe 400 when fromDate/toDate are present and not ISO-8601 (@IsISO8601). */
export function checkIsoDates(q: Record<string, unknown>, keys: string[] = ['fromDate', 'toDate']): void {
  const errors: Array<Record<string, unknown>> = [];
  for (const key of keys) {
    if (q[key] !== undefined && !isIso8601(q[key])) errors.push(cvError(key, q[key], { isIso8601: `${key} must be a valid ISO 8601 date string` }, q));
  }
  if (errors.length) throw new HttpReply(400, validationBody(errors));
}
