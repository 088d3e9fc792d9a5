/**
 * CSV output for iSupport import files, written by papaparse (the project's one CSV writer, as the 121-platform
 * adapter's): RFC 4180 (comma separated, CRLF line ends, fields with a comma, quote, CR, LF or an edge space quoted,
 * quotes doubled), UTF-8 with an optional byte order mark, and cells neutralised against formula injection.
 */
import Papa from 'papaparse';

/**
 * A cell a spreadsheet would take for a formula (OWASP CSV injection): it starts with = + - @ tab or CR. Two kinds are
 * left alone, as they cannot carry a formula and a quote in front would corrupt them on import: plain numbers
 * (-12.50), and international phone numbers (+44 28 9000 0000, +1 (916) 555-0100: digits and separators only).
 */
const FORMULA = /^(?![+-]?\d+(\.\d+)?$)(?!\+\d[\d ()./-]*\d$)[=+\-@\t\r]/;

/** The cell as the file holds it once read back: a single quote in front of a formula-like cell, so it is text. */
export function neutraliseFormula(value: string): string {
  return FORMULA.test(value) ? `'${value}` : value;
}

/** A value as one CSV cell: strings as they are, numbers and booleans printed, anything else empty. */
export function asCell(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}

export interface CsvOptions {
  /** Start the file with a UTF-8 byte order mark (EF BB BF). */
  bom?: boolean;
}

/**
 * A whole CSV file (header plus rows, each row ended by CRLF) as UTF-8 bytes. papaparse quotes a neutralised cell
 * too ("'=1+1"), which reads back as the same text.
 */
export function toCsv(header: string[], rows: Array<Array<string | null | undefined>>, options: CsvOptions = {}): Buffer {
  // The header as the first row of arrays (with `fields`, papaparse ends a header-only file with a line break of its own).
  const text = Papa.unparse([header, ...rows], { newline: '\r\n', escapeFormulae: FORMULA });
  const body = Buffer.from(`${text}\r\n`, 'utf8');
  return options.bom ? Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), body]) : body;
}
