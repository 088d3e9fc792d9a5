/**
 * CSV output for iSupport import files: RFC 4180 (comma separated, CRLF line ends, fields with comma, quote, CR or LF
 * quoted, quotes doubled), UTF-8 with an optional byte order mark, and cells neutralised against formula injection.
 */

/** Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection). */
const FORMULA_START = /^[=+\-@\t\r]/;
/** Plain numbers (e.g. -12.50) are left alone: they cannot carry a formula. */
const PLAIN_NUMBER = /^[+-]?\d+(\.\d+)?$/;
/**
 * International phone numbers (+44 28 9000 0000, +1 (916) 555-0100) are left alone too: digits and separators only,
 * no name, reference or function a formula could use, and a quote in front would corrupt the number on import.
 */
const PHONE_NUMBER = /^\+\d[\d ()./-]*\d$/;

/** Prefixes a cell that starts like a formula with a single quote, so it is read as text. */
export function neutraliseFormula(value: string): string {
  if (FORMULA_START.test(value) && !PLAIN_NUMBER.test(value) && !PHONE_NUMBER.test(value)) return `'${value}`;
  return value;
}

/** One RFC 4180 field: quoted only when it must be. */
export function quoteField(value: string): string {
  if (/[",\r\n]/.test(value)) return `"${value.replace(/"/g, '""')}"`;
  return value;
}

/** A value as one CSV cell: strings as they are, numbers and booleans printed, anything else empty. */
export function asCell(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export function csvCell(value: string | null | undefined): string {
  if (value === null || value === undefined) return '';
  return quoteField(neutraliseFormula(value));
}

export interface CsvOptions {
  /** Start the file with a UTF-8 byte order mark (EF BB BF). */
  bom?: boolean;
}

/** A whole CSV file (header plus rows, each row ended by CRLF) as UTF-8 bytes. */
export function toCsv(header: string[], rows: Array<Array<string | null | undefined>>, options: CsvOptions = {}): Buffer {
  const lines = [header.map((h) => quoteField(h)).join(',')];
  for (const row of rows) lines.push(row.map(csvCell).join(','));
  const text = `${lines.join('\r\n')}\r\n`;
  const body = Buffer.from(text, 'utf8');
  return options.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
}
