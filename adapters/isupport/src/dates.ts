/**
 * Dates in layout files are written with the tokens yyyy, MM, dd, HH, mm, ss (e.g. "MM/dd/yyyy"). Canonical dates are
 * yyyy-mm-dd; canonical date-times ISO-8601 (yyyy-mm-ddTHH:mm:ss, with the offset when the source had one).
 */

const TOKENS = ['yyyy', 'MM', 'dd', 'HH', 'mm', 'ss'] as const;
type Token = (typeof TOKENS)[number];

interface Compiled {
  regex: RegExp;
  order: Token[];
}

const compiled = new Map<string, Compiled>();

function compile(format: string): Compiled {
  const known = compiled.get(format);
  if (known) return known;
  const order: Token[] = [];
  let pattern = '';
  let i = 0;
  while (i < format.length) {
    const token = TOKENS.find((t) => format.startsWith(t, i));
    if (token) {
      order.push(token);
      pattern += token === 'yyyy' ? '(\\d{4})' : '(\\d{1,2})';
      i += token.length;
    } else {
      pattern += format[i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      i += 1;
    }
  }
  const result = { regex: new RegExp(`^${pattern}$`), order };
  compiled.set(format, result);
  return result;
}

const pad = (n: number, w = 2): string => String(n).padStart(w, '0');

/** Parses a date written in `format`; undefined when it does not match or is not a real date. */
export function parseDate(value: string, format: string): { y: number; M: number; d: number; H: number; m: number; s: number } | undefined {
  const { regex, order } = compile(format);
  const m = regex.exec(value.trim());
  if (!m) return undefined;
  const parts: Record<Token, number> = { yyyy: 0, MM: 1, dd: 1, HH: 0, mm: 0, ss: 0 };
  for (let i = 0; i < order.length; i++) parts[order[i]] = Number(m[i + 1]);
  const { yyyy: y, MM: M, dd: d, HH: H, mm: mi, ss: s } = parts;
  const date = new Date(Date.UTC(y, M - 1, d, H, mi, s));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== M - 1 || date.getUTCDate() !== d || H > 23 || mi > 59 || s > 59) return undefined;
  return { y, M, d, H, m: mi, s };
}

export function formatParts(p: { y: number; M: number; d: number; H: number; m: number; s: number }, format: string): string {
  return format
    .replace('yyyy', pad(p.y, 4))
    .replace('MM', pad(p.M))
    .replace('dd', pad(p.d))
    .replace('HH', pad(p.H))
    .replace('mm', pad(p.m))
    .replace('ss', pad(p.s));
}

/** The two-digit number at `at`, or -1 when those are not two digits. */
function twoDigits(value: string, at: number): number {
  const a = value.charCodeAt(at) - 48;
  const b = value.charCodeAt(at + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
}

/**
 * A value already written as a canonical date (yyyy-MM-dd, a real day) in a yyyy-MM-dd layout: returned as it is,
 * without the regex match, parts object, Date and padded strings of the general path (the same result, no garbage:
 * a big export has a date on every member row). Anything else (other widths, years before 100, which the general
 * path rejects through Date.UTC) goes the general way.
 */
function canonicalAsIs(value: string): string | undefined {
  if (value.length !== 10 || value.charCodeAt(4) !== 45 || value.charCodeAt(7) !== 45) return undefined;
  const c = twoDigits(value, 0);
  const yy = twoDigits(value, 2);
  const M = twoDigits(value, 5);
  const d = twoDigits(value, 8);
  if (c < 0 || yy < 0 || M < 1 || M > 12 || d < 1) return undefined;
  const y = c * 100 + yy;
  if (y < 100) return undefined;
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  const days = M === 2 ? (leap ? 29 : 28) : M === 4 || M === 6 || M === 9 || M === 11 ? 30 : 31;
  return d <= days ? value : undefined;
}

/** iSupport date (in `format`) to canonical yyyy-mm-dd (or yyyy-mm-ddTHH:mm:ss for date-times). */
export function toCanonicalDate(value: string, format: string, withTime: boolean): string | undefined {
  if (!withTime && format === 'yyyy-MM-dd') {
    const same = canonicalAsIs(value);
    if (same !== undefined) return same;
  }
  const p = parseDate(value, format);
  if (!p) return undefined;
  const date = `${pad(p.y, 4)}-${pad(p.M)}-${pad(p.d)}`;
  return withTime ? `${date}T${pad(p.H)}:${pad(p.m)}:${pad(p.s)}` : date;
}

/** Canonical date or ISO date-time to an iSupport date in `format`; undefined when the value is not a date. */
export function fromCanonicalDate(value: string, format: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?/.exec(value.trim());
  if (!m) return undefined;
  const p = { y: Number(m[1]), M: Number(m[2]), d: Number(m[3]), H: Number(m[4] ?? 0), m: Number(m[5] ?? 0), s: Number(m[6] ?? 0) };
  if (!parseDate(formatParts(p, 'yyyy-MM-dd HH:mm:ss'), 'yyyy-MM-dd HH:mm:ss')) return undefined;
  return formatParts(p, format);
}
