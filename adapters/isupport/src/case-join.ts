/**
 * Joins the three export sections into cases while streaming. CaseDetails drives; the MemberDetails and
 * WorkerDetails rows of a case are taken while their case id matches, so when every section lists its rows grouped
 * by case in CaseDetails order (as a database export sorted by case does) only one case's rows are held at a time.
 * If they are not, the join reports it and the caller falls back to a bounded buffered join.
 */
import type { Readable } from 'node:stream';
import { readCsvBatches, type ByteTally } from './csv-reader';
import type { CaseRows, SectionRow } from './export-codec';

export interface SectionFile {
  /** Remote path. */
  path: string;
  /** Path relative to the request folder (e.g. MemberDetails/MemberDetails.csv). */
  rel: string;
}

export type OpenFile = (remotePath: string) => Readable;

/** The cells of a row read without them (first pass). */
const NO_CELLS: string[] = Object.freeze([]) as unknown as string[];

/** Reads the files of one section one after the other, a parsed piece at a time, handing out rows with look-ahead. */
export class SectionReader {
  readonly tallies = new Map<string, ByteTally>();
  readonly headers = new Map<string, string[]>();
  /** Files whose header has no case id column. */
  readonly filesWithoutCaseId: string[] = [];
  rowsRead = 0;
  private fileIndex = -1;
  private current: AsyncGenerator<SectionRow[]> | null = null;
  /** The rows of the current piece, and the next one to hand out. */
  private buf: SectionRow[] = [];
  private at = 0;

  /**
   * Rows carry the cells papaparse made (no object by column name: the codec reads them by position). `withCells`
   * false: rows carry their case id, row number and cell counts but no cells (a shared empty array), for the first
   * pass, which checks order and hashes and builds nothing; what a row keeps alive counts against V8's young
   * generation (csv-reader.ts, PARSE_BYTES).
   */
  constructor(
    private readonly open: OpenFile,
    private readonly files: SectionFile[],
    private readonly caseIdColumn: string,
    private readonly withCells = true,
  ) {}

  private async *batchesOfFile(file: SectionFile): AsyncGenerator<SectionRow[]> {
    const wanted = this.caseIdColumn.toUpperCase();
    const withCells = this.withCells;
    let known: string[] | null = null;
    // Where the case id is: the header positions named like the case id column (the first such name, as written),
    // last first (a later column of the same name wins, as in the codec's column plan).
    let idAt: number[] = [];
    const make = (cells: string[], row: number, header: string[]): SectionRow => {
      if (header !== known) {
        known = header;
        const idKey = header.find((h) => h.toUpperCase() === wanted);
        idAt = [];
        if (idKey !== undefined) for (let i = header.length - 1; i >= 0; i--) if (header[i] === idKey) idAt.push(i);
      }
      let caseId: string | undefined;
      if (idAt.length) {
        caseId = '';
        for (const i of idAt) {
          if (i < cells.length) {
            caseId = cells[i].trim();
            break;
          }
        }
      }
      return {
        row,
        cells: withCells ? cells : NO_CELLS,
        extraCells: Math.max(0, cells.length - header.length),
        missingCells: Math.max(0, header.length - cells.length),
        caseId,
        file: file.rel,
        header,
      };
    };
    const reader = readCsvBatches(this.open(file.path), make);
    this.tallies.set(file.rel, reader.tally);
    let checked = false;
    const check = (header: string[]) => {
      checked = true;
      this.headers.set(file.rel, header);
      if (!header.some((h) => h.toUpperCase() === wanted)) this.filesWithoutCaseId.push(file.rel);
    };
    for await (const batch of reader.batches) {
      if (!checked) check(reader.header!);
      yield batch;
    }
    if (!checked && reader.header) check(reader.header);
  }

  /** Makes sure a row is buffered unless every file is read to the end; false at the end. */
  private async fill(): Promise<boolean> {
    while (this.at >= this.buf.length) {
      if (!this.current) {
        this.fileIndex += 1;
        if (this.fileIndex >= this.files.length) return false;
        this.current = this.batchesOfFile(this.files[this.fileIndex]);
      }
      const next = await this.current.next();
      if (next.done) {
        this.current = null;
        this.buf = [];
        this.at = 0;
        continue;
      }
      this.buf = next.value;
      this.at = 0;
    }
    return true;
  }

  async peek(): Promise<SectionRow | null> {
    if (this.at < this.buf.length || (await this.fill())) return this.buf[this.at];
    return null;
  }

  async next(): Promise<SectionRow | null> {
    const row = await this.peek();
    if (row) {
      this.at += 1;
      this.rowsRead += 1;
    }
    return row;
  }

  /** Moves the rows that belong to `caseId` (see belongs) into `out`: one await per piece, not per row. */
  async takeWhile(caseId: string, out: SectionRow[]): Promise<void> {
    for (;;) {
      while (this.at < this.buf.length) {
        const row = this.buf[this.at];
        if (!belongs(row, caseId)) return;
        out.push(row);
        this.at += 1;
        this.rowsRead += 1;
      }
      if (!(await this.fill())) return;
    }
  }

  /** Reads to the end (to finish hashing); returns how many rows were left. */
  async drain(): Promise<number> {
    let n = 0;
    while (await this.fill()) {
      n += this.buf.length - this.at;
      this.rowsRead += this.buf.length - this.at;
      this.at = this.buf.length;
    }
    return n;
  }

  /** Closes whatever file is still open. */
  async close(): Promise<void> {
    if (this.current) await this.current.return(undefined);
    this.current = null;
    this.buf = [];
    this.at = 0;
  }
}

export interface JoinStats {
  cases: number;
  memberRows: number;
  workerRows: number;
  /** Most rows (case + members + workers) held for one case at once. */
  peakRowsHeld: number;
  /** Member/worker rows that matched no case in order (orphans, or sections not grouped in CaseDetails order). */
  leftoverRows: number;
}

export type CaseHandler = (rows: CaseRows) => Promise<void>;

function belongs(row: SectionRow | null, caseId: string): boolean {
  return row !== null && (row.caseId === undefined || row.caseId === caseId);
}

/**
 * Streaming join. `folderCaseId` names the case of a CaseDetails file without a case id column (a folder named by
 * its case id). Returns the stats; leftoverRows > 0 means the sections were not in the same order.
 */
export async function joinStreaming(
  sections: { cases: SectionReader; members: SectionReader; workers: SectionReader },
  folderCaseId: string,
  onCase: CaseHandler,
): Promise<JoinStats> {
  const stats: JoinStats = { cases: 0, memberRows: 0, workerRows: 0, peakRowsHeld: 0, leftoverRows: 0 };
  for (;;) {
    const caseRow = await sections.cases.next();
    if (!caseRow) break;
    const caseId = caseRow.caseId === undefined ? folderCaseId : caseRow.caseId;
    const members: SectionRow[] = [];
    await sections.members.takeWhile(caseId, members);
    const workers: SectionRow[] = [];
    await sections.workers.takeWhile(caseId, workers);
    stats.cases += 1;
    stats.memberRows += members.length;
    stats.workerRows += workers.length;
    stats.peakRowsHeld = Math.max(stats.peakRowsHeld, 1 + members.length + workers.length);
    await onCase({ caseId, caseRow, members, workers });
  }
  stats.leftoverRows = (await sections.members.drain()) + (await sections.workers.drain());
  return stats;
}

/**
 * Buffered join for sections that are not in CaseDetails order: member and worker rows are grouped by case id in
 * memory (at most maxRows of them; beyond that the folder cannot be read), then CaseDetails streams past them.
 */
export async function joinBuffered(
  sections: { cases: SectionReader; members: SectionReader; workers: SectionReader },
  folderCaseId: string,
  maxRows: number,
  onCase: CaseHandler,
): Promise<JoinStats> {
  const stats: JoinStats = { cases: 0, memberRows: 0, workerRows: 0, peakRowsHeld: 0, leftoverRows: 0 };
  const group = async (reader: SectionReader): Promise<Map<string | undefined, SectionRow[]>> => {
    const map = new Map<string | undefined, SectionRow[]>();
    for (;;) {
      const row = await reader.next();
      if (!row) break;
      stats.peakRowsHeld += 1;
      if (stats.peakRowsHeld > maxRows) throw new BufferLimitError(maxRows);
      const list = map.get(row.caseId);
      if (list) list.push(row);
      else map.set(row.caseId, [row]);
    }
    return map;
  };
  const members = await group(sections.members);
  const workers = await group(sections.workers);
  const take = (map: Map<string | undefined, SectionRow[]>, caseId: string): SectionRow[] => {
    const rows = [...(map.get(caseId) ?? []), ...(map.get(undefined) ?? [])];
    map.delete(caseId);
    map.delete(undefined);
    return rows;
  };
  for (;;) {
    const caseRow = await sections.cases.next();
    if (!caseRow) break;
    const caseId = caseRow.caseId === undefined ? folderCaseId : caseRow.caseId;
    const m = take(members, caseId);
    const w = take(workers, caseId);
    stats.cases += 1;
    stats.memberRows += m.length;
    stats.workerRows += w.length;
    await onCase({ caseId, caseRow, members: m, workers: w });
  }
  for (const rows of members.values()) stats.leftoverRows += rows.length;
  for (const rows of workers.values()) stats.leftoverRows += rows.length;
  return stats;
}

export class BufferLimitError extends Error {
  constructor(readonly maxRows: number) {
    super(`member and worker rows are not grouped in CaseDetails order and there are more than ${maxRows} of them (polling.maxBufferedRows)`);
  }
}
