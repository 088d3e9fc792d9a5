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

  constructor(
    private readonly open: OpenFile,
    private readonly files: SectionFile[],
    private readonly caseIdColumn: string,
  ) {}

  private async *batchesOfFile(file: SectionFile): AsyncGenerator<SectionRow[]> {
    const reader = readCsvBatches(this.open(file.path));
    this.tallies.set(file.rel, reader.tally);
    let idKey: string | undefined;
    let checked = false;
    for await (const batch of reader.batches) {
      const header = reader.header!;
      if (!checked) {
        checked = true;
        this.headers.set(file.rel, header);
        idKey = header.find((h) => h.toUpperCase() === this.caseIdColumn.toUpperCase());
        if (!idKey) this.filesWithoutCaseId.push(file.rel);
      }
      const rows: SectionRow[] = new Array<SectionRow>(batch.length);
      for (let i = 0; i < batch.length; i++) {
        const row = batch[i];
        const caseId = idKey === undefined ? undefined : (row.values[idKey] ?? '').trim();
        rows[i] = { row: row.row, values: row.values, extraCells: row.extraCells, missingCells: row.missingCells, caseId, file: file.rel, header };
      }
      yield rows;
    }
    if (!checked && reader.header) {
      this.headers.set(file.rel, reader.header);
      if (!reader.header.some((h) => h.toUpperCase() === this.caseIdColumn.toUpperCase())) this.filesWithoutCaseId.push(file.rel);
    }
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
