/**
 * Streaming CSV input: bytes flow from the SFTP read stream through a SHA-256 hash and a UTF-8 decoder into
 * papaparse's Node duplex stream, which hands out one row at a time and pauses its input when the consumer is busy.
 * Nothing holds more than a few chunks of the file.
 */
import { createHash, type Hash } from 'node:crypto';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import Papa from 'papaparse';

/** Size and SHA-256 of the bytes that went through, final once the rows have been read to the end. */
export interface ByteTally {
  bytes: number;
  sha256?: string;
}

class HashingDecoder extends Transform {
  private readonly hash: Hash = createHash('sha256');
  private readonly decoder = new StringDecoder('utf8');

  constructor(private readonly tally: ByteTally) {
    super({ decodeStrings: true });
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.tally.bytes += chunk.length;
    const text = this.decoder.write(chunk);
    if (text) this.push(text);
    done();
  }

  override _flush(done: TransformCallback): void {
    const rest = this.decoder.end();
    if (rest) this.push(rest);
    this.tally.sha256 = this.hash.digest('hex');
    done();
  }
}

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

/** Reads a CSV stream row by row. The header row names the columns. */
export function readCsv(input: Readable): CsvReader {
  const tally: ByteTally = { bytes: 0 };
  const reader: CsvReader = { header: null, tally, rows: rowsOf(input, tally, (h) => (reader.header = h)) };
  return reader;
}

async function* rowsOf(input: Readable, tally: ByteTally, onHeader: (header: string[]) => void): AsyncGenerator<CsvRow> {
  const hasher = new HashingDecoder(tally);
  const parser = Papa.parse(Papa.NODE_STREAM_INPUT, { header: false, skipEmptyLines: 'greedy' });
  const fail = (err: Error): void => {
    parser.destroy(err);
  };
  input.on('error', fail);
  hasher.on('error', fail);
  input.pipe(hasher).pipe(parser);
  let header: string[] | null = null;
  let row = 0;
  try {
    for await (const cells of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = cells.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
        onHeader(header);
        continue;
      }
      row += 1;
      const values: Record<string, string> = {};
      const width = Math.min(header.length, cells.length);
      for (let i = 0; i < width; i++) values[header[i]] = cells[i];
      yield {
        row,
        values,
        extraCells: Math.max(0, cells.length - header.length),
        missingCells: Math.max(0, header.length - cells.length),
      };
    }
  } finally {
    input.unpipe(hasher);
    hasher.unpipe(parser);
    if (!input.destroyed) input.destroy();
    if (!hasher.destroyed) hasher.destroy();
    if (!parser.destroyed) parser.destroy();
  }
}

/** Reads a whole stream only to hash it (size and SHA-256), without keeping it. */
export async function hashStream(input: Readable): Promise<{ bytes: number; sha256: string }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of input as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { bytes, sha256: hash.digest('hex') };
}
