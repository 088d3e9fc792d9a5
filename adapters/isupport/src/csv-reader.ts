/**
 * Streaming CSV input: bytes come from the file server's read stream a chunk at a time, go through a SHA-256 hash and
 * a UTF-8 decoder, and each chunk is parsed whole by papaparse's core parser; the incomplete last line waits for the
 * next chunk. Rows are handed out a piece at a time (or one at a time); the next chunk is only read once the consumer has
 * taken every row of this one, so nothing holds more than about one chunk of the file.
 *
 * Papaparse's own Node stream (NODE_STREAM_INPUT) was used before: it pauses its parser whenever its object buffer
 * (16 rows) is full and re-parses the rest of the chunk on resume, which made parsing quadratic in the chunk size.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';

/** Size and SHA-256 of the bytes that went through, final once the rows have been read to the end. */
export interface ByteTally {
  bytes: number;
  sha256?: string;
}

/** Text gathered before the delimiter and line ending are guessed (papaparse looks at the first 10 rows). */
const GUESS_CHARS = 32 * 1024;
/**
 * Bytes decoded and parsed at a time. Small on purpose: the rows of the piece being handed out are alive whenever V8
 * runs a young-generation collection, and V8 grows the young generation (up to 64 MB per semi-space, i.e. 128 MB of
 * RSS) once the bytes that survived its collections add up to its size. With 32 KiB pieces the three open files' rows
 * (~0.6 MB) survived every collection and a 1,000,000-member export doubled the young generation twice; with 4 KiB
 * pieces ~0.07 MB survives. The cost is one await per piece (~35,000 per pass over 139 MB).
 */
const PARSE_BYTES = 4 * 1024;

export interface CsvRow {
  /** 1-based number of the data row (the header is row 0). */
  row: number;
  values: Record<string, string>;
  /** Cells beyond the header's width (the row is malformed when > 0). */
  extraCells: number;
  /** Header columns the row has no cell for (malformed when > 0). */
  missingCells: number;
}

export interface CsvReader {
  /** Column names as written in the header (trimmed, byte order mark removed). Set once the first row is read. */
  header: string[] | null;
  tally: ByteTally;
  rows: AsyncGenerator<CsvRow>;
}

export interface CsvBatchReader<R = CsvRow> {
  /** As CsvReader.header. */
  header: string[] | null;
  tally: ByteTally;
  /** The rows of one parsed piece at a time (never empty): one await per piece instead of one per row. */
  batches: AsyncGenerator<R[]>;
}

/**
 * Makes the row handed out for one data row from its cells: lets a caller build its own row object in one allocation
 * (or leave out what it does not need) instead of wrapping a CsvRow.
 */
export type RowMaker<R> = (cells: string[], row: number, header: string[]) => R;

/** The cells of a row by column name (a later column of the same name wins; cells beyond the header are left out). */
function valuesOf(cells: string[], header: string[]): Record<string, string> {
  const values: Record<string, string> = {};
  const width = Math.min(header.length, cells.length);
  for (let i = 0; i < width; i++) values[header[i]] = cells[i];
  return values;
}

const csvRow: RowMaker<CsvRow> = (cells, row, header) => ({
  row,
  values: valuesOf(cells, header),
  extraCells: Math.max(0, cells.length - header.length),
  missingCells: Math.max(0, header.length - cells.length),
});

/** Reads a CSV stream a piece (a few hundred rows) at a time. The header row names the columns. */
export function readCsvBatches(input: Readable): CsvBatchReader;
export function readCsvBatches<R>(input: Readable, make: RowMaker<R>): CsvBatchReader<R>;
export function readCsvBatches<R>(input: Readable, make?: RowMaker<R>): CsvBatchReader<R | CsvRow> {
  const tally: ByteTally = { bytes: 0 };
  const reader: CsvBatchReader<R | CsvRow> = { header: null, tally, batches: batchesOf<R | CsvRow>(input, tally, (h) => (reader.header = h), make ?? csvRow) };
  return reader;
}

/** Reads a CSV stream row by row. The header row names the columns. */
export function readCsv(input: Readable): CsvReader {
  const inner = readCsvBatches(input);
  const reader: CsvReader = { header: null, tally: inner.tally, rows: flatten(inner, (h) => (reader.header = h)) };
  return reader;
}

async function* flatten(inner: CsvBatchReader, onHeader: (header: string[]) => void): AsyncGenerator<CsvRow> {
  for await (const batch of inner.batches) {
    if (inner.header) onHeader(inner.header);
    yield* batch;
  }
  if (inner.header) onHeader(inner.header); // a file with a header and no rows
}

/** A core parser for the file, with the delimiter and line ending papaparse guesses from its first rows. */
function parserFor(sample: string): Papa.Parser {
  const { meta } = Papa.parse<string[]>(sample, { preview: 10, skipEmptyLines: 'greedy' });
  const lb = meta.linebreak;
  const newline = lb === '\r\n' || lb === '\r' ? lb : '\n';
  return new Papa.Parser({ delimiter: meta.delimiter, newline, quoteChar: '"' });
}

/** skipEmptyLines 'greedy': a row whose cells are all blank is no row. */
function isBlank(cells: string[]): boolean {
  for (const c of cells) if (c.trim() !== '') return false;
  return true;
}

async function* batchesOf<R>(input: Readable, tally: ByteTally, onHeader: (header: string[]) => void, make: RowMaker<R>): AsyncGenerator<R[]> {
  const hash = createHash('sha256');
  const decoder = new StringDecoder('utf8');
  let parser: Papa.Parser | null = null;
  let pending = '';
  let header: string[] | null = null;
  let row = 0;
  // Parses what is pending; unless `last`, the incomplete last line stays pending. Returns the complete rows.
  const take = (last: boolean): string[][] => {
    parser ??= parserFor(pending);
    const result: Papa.ParseResult<string[]> = parser.parse(pending, 0, !last);
    pending = last ? '' : pending.substring(result.meta.cursor);
    return result.data;
  };
  // Complete rows of what is pending, as they should be handed out (blank rows left out, the header taken).
  const rowsOfPending = (last: boolean): R[] => {
    const rows: R[] = [];
    for (const cells of take(last)) {
      if (isBlank(cells)) continue;
      if (!header) {
        header = cells.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
        onHeader(header);
        continue;
      }
      row += 1;
      rows.push(make(cells, row, header));
    }
    return rows;
  };
  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      hash.update(chunk);
      tally.bytes += chunk.length;
      // In pieces, so that no string is big enough for V8's large-object space (> 128 KiB): those live in the old
      // generation and are only freed by a full collection, which let the heap grow to hundreds of MB on big files.
      for (let at = 0; at < chunk.length; at += PARSE_BYTES) {
        pending += decoder.write(chunk.subarray(at, at + PARSE_BYTES));
        if (!parser && pending.length < GUESS_CHARS) continue;
        const rows = rowsOfPending(false);
        if (rows.length) yield rows;
      }
    }
    pending += decoder.end();
    tally.sha256 = hash.digest('hex');
    if (pending) {
      const rows = rowsOfPending(true);
      if (rows.length) yield rows;
    }
  } finally {
    // Every byte has been read (or the read failed and that error is thrown): a fault the stream reports later, such
    // as its close answer not arriving before the connection ends, changes nothing.
    input.on('error', () => undefined);
    if (!input.destroyed) input.destroy();
  }
}
