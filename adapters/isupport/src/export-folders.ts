/**
 * Export request folders on the file server (SFTP, FTP or FTPS): finding the ones ready to read, reading a case export (streaming, two
 * passes: hash and check, then parse and emit in batches) or a reference-data export, and moving each folder to the
 * archive or failed folder with a report. A folder is archived and marked processed in the ledger only after every
 * case in it has been accepted by the hub, so a crash part-way re-reads it and the hub drops what it already has.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { AdapterContext, Emit, SourceEvent } from 'caseway/core';
import { CasewayError, PeerError, safeMessage, sleep } from 'caseway/core';
import { BufferLimitError, joinBuffered, joinStreaming, SectionReader, type CaseHandler, type JoinStats, type SectionFile } from './case-join';
import { readCsv } from './csv-reader';
import { buildCase, SECTION_NAMES, type SectionName } from './export-codec';
import { loadCodeLists, loadExportLayout, type CodeLists, type ExportLayout } from './layout';
import { folderFingerprint, Ledger, type FolderCounts, type LedgerFolder } from './ledger';
import { isPlainName, safeJoin } from './naming';
import { CodeTranslator, getReferenceData, storeReferenceTables, type ReferenceEntry } from './reference-data';
import { resolveDirs, resolvePolling, type IsupportSettings, type ResolvedDirs, type ResolvedPolling } from './settings';
import { isNotFound, moveFolder, type FileTransport } from './transport';

export const REPORT_FILE = '_caseway-report.json';
const MAX_REJECTED_DETAILS = 1000;
const MAX_WARNINGS = 200;

export interface TreeFile {
  /** Path relative to the request folder. */
  rel: string;
  path: string;
  size: number;
  modifyTime: number;
}

export interface FolderTree {
  name: string;
  path: string;
  files: TreeFile[];
  subdirs: string[];
  /** Folders one level further down ("<caseId>/CaseDetails" in a nested request folder). */
  nested: string[];
}

/**
 * One case folder inside a request folder: the request folder itself (prefix '', case id = its name when CaseDetails
 * has no case id column), or a sub-folder named by case id in the nested layout REQ-.../<caseId>/CaseDetails/.
 */
export interface CaseUnit {
  prefix: string;
  caseId: string;
}

export type Readiness =
  | { state: 'case' | 'reference' }
  | { state: 'empty' | 'writing' | 'incomplete'; reason: string };

export interface RejectedCase {
  caseId: string;
  row: number;
  reasons: string[];
}

export interface FolderReport {
  folder: string;
  kind: 'case' | 'reference';
  outcome: 'processed' | 'failed' | 'duplicate' | 'changed';
  fingerprint?: string;
  startedAt: string;
  finishedAt?: string;
  movedTo?: string;
  files: Array<{ path: string; size: number; sha256: string }>;
  cases?: FolderCounts;
  rejected?: RejectedCase[];
  rejectedNotListed?: number;
  warnings: string[];
  mode?: 'stream' | 'buffered';
  stats?: JoinStats;
  referenceTables?: Record<string, number>;
  duplicateOf?: string;
  error?: string;
}

/** Everything one poll needs, resolved once. */
export interface ExportEnv {
  ctx: AdapterContext<IsupportSettings>;
  sftp: FileTransport;
  emit: Emit;
  layout: ExportLayout;
  codeLists: CodeLists;
  dirs: ResolvedDirs;
  polling: ResolvedPolling;
  ledger: Ledger;
}

export async function exportEnv(ctx: AdapterContext<IsupportSettings>, sftp: FileTransport, emit: Emit): Promise<ExportEnv> {
  const s = ctx.connection.settings;
  return {
    ctx,
    sftp,
    emit,
    layout: loadExportLayout(s),
    codeLists: loadCodeLists(s),
    dirs: resolveDirs(s.sftp),
    polling: resolvePolling(s.polling),
    ledger: new Ledger(ctx),
  };
}

/** Errors that mean the folder's content cannot be read as an export (it goes to failedDir). */
export class UnreadableFolder extends Error {}

/** An error from the hub's emit (its store is unavailable): the whole poll stops, nothing is marked done. */
export class EmitFailure extends Error {
  constructor(readonly inner: unknown) {
    super('emit failed');
  }
}

/** Carries an error thrown by the case handler (e.g. emit) through the join unchanged. */
class HandlerFailure extends Error {
  constructor(readonly inner: unknown) {
    super('case handler failed');
  }
}

function guarded(handler: CaseHandler): CaseHandler {
  return async (rows) => {
    try {
      await handler(rows);
    } catch (err) {
      throw new HandlerFailure(err);
    }
  };
}

const isOwnFile = (name: string): boolean => name.startsWith('_caseway');

/** Lists a request folder three levels deep: files, section folders, and the section folders of case sub-folders. */
export async function readTree(sftp: FileTransport, dir: string, name: string): Promise<FolderTree> {
  const folderPath = safeJoin(dir, name);
  const tree: FolderTree = { name, path: folderPath, files: [], subdirs: [], nested: [] };
  for (const e of await sftp.list(folderPath)) {
    if (!isPlainName(e.name) || isOwnFile(e.name)) continue;
    if (e.type === 'd') {
      tree.subdirs.push(e.name);
      for (const f of await sftp.list(safeJoin(folderPath, e.name))) {
        if (!isPlainName(f.name)) continue;
        if (f.type === 'd') {
          tree.nested.push(`${e.name}/${f.name}`);
          for (const g of await sftp.list(safeJoin(folderPath, e.name, f.name))) {
            if (!isPlainName(g.name) || g.type === 'd') continue;
            tree.files.push({ rel: `${e.name}/${f.name}/${g.name}`, path: safeJoin(folderPath, e.name, f.name, g.name), size: g.size, modifyTime: g.modifyTime });
          }
          continue;
        }
        tree.files.push({ rel: `${e.name}/${f.name}`, path: safeJoin(folderPath, e.name, f.name), size: f.size, modifyTime: f.modifyTime });
      }
    } else {
      tree.files.push({ rel: e.name, path: safeJoin(folderPath, e.name), size: e.size, modifyTime: e.modifyTime });
    }
  }
  tree.files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  return tree;
}

/** Names, sizes and times of a folder's files: equal before and after a wait means nobody is writing. */
export function treeSignature(tree: FolderTree): string {
  return `${tree.subdirs.sort().join('/')}|${tree.nested.sort().join(',')}|${tree.files.map((f) => `${f.rel}:${f.size}:${f.modifyTime}`).join('|')}`;
}

const isCsv = (name: string): boolean => /\.csv$/i.test(name);

function sectionFiles(tree: FolderTree, folder: string, prefix = ''): TreeFile[] {
  const start = `${prefix}${folder}/`.toLowerCase();
  return tree.files.filter((f) => f.rel.toLowerCase().startsWith(start) && !f.rel.slice(start.length).includes('/') && isCsv(f.rel));
}

/** The case folders of a request folder: itself when it has section folders, else its sub-folders that have them. */
export function caseUnits(tree: FolderTree, layout: ExportLayout): CaseUnit[] {
  const sectionFolders = SECTION_NAMES.map((n) => layout.sections[n].folder.toLowerCase());
  if (tree.subdirs.some((d) => sectionFolders.includes(d.toLowerCase()))) return [{ prefix: '', caseId: tree.name }];
  const subs = new Set<string>();
  for (const n of tree.nested) {
    const [sub, section] = n.split('/');
    if (sectionFolders.includes(section.toLowerCase())) subs.add(sub);
  }
  return [...subs].sort().map((sub) => ({ prefix: `${sub}/`, caseId: sub }));
}

function referenceFiles(tree: FolderTree, layout: ExportLayout): TreeFile[] {
  const sub = layout.referenceFolder?.toLowerCase();
  return tree.files.filter((f) => isCsv(f.rel) && (!f.rel.includes('/') || (sub !== undefined && f.rel.toLowerCase().startsWith(`${sub}/`))));
}

export function classify(tree: FolderTree, layout: ExportLayout, polling: ResolvedPolling): Readiness {
  if (tree.files.length === 0) return { state: 'empty', reason: 'no files yet' };
  const temp = tree.files.find((f) => path.posix.basename(f.rel).startsWith('.') || polling.tempSuffixes.some((s) => f.rel.toLowerCase().endsWith(s.toLowerCase())));
  if (temp) return { state: 'writing', reason: `temporary file ${temp.rel}` };
  const empty = tree.files.find((f) => isCsv(f.rel) && f.size === 0);
  if (empty) return { state: 'writing', reason: `empty file ${empty.rel}` };
  const units = caseUnits(tree, layout);
  if (units.length) {
    const missing = units.flatMap((u) => SECTION_NAMES.filter((n) => sectionFiles(tree, layout.sections[n].folder, u.prefix).length === 0).map((n) => `${u.prefix}${n}`));
    if (missing.length) return { state: 'incomplete', reason: `no CSV file yet in ${missing.join(', ')}` };
    return { state: 'case' };
  }
  if (referenceFiles(tree, layout).length) return { state: 'reference' };
  return { state: 'incomplete', reason: 'no CaseDetails/MemberDetails/WorkerDetails folders and no reference CSV files' };
}

function fileRefs(tree: FolderTree, files: TreeFile[]): SectionFile[] {
  return files.map((f) => ({ path: f.path, rel: f.rel }));
}

/** The section readers of one case folder; without cells for the first pass (it needs only case ids). */
function readers(env: ExportEnv, tree: FolderTree, unit: CaseUnit, withCells: boolean): { cases: SectionReader; members: SectionReader; workers: SectionReader } {
  const open = (p: string) => env.sftp.readStream(p);
  const { sections } = env.layout;
  const make = (n: SectionName) => new SectionReader(open, fileRefs(tree, sectionFiles(tree, sections[n].folder, unit.prefix)), sections[n].caseIdColumn, withCells);
  return { cases: make('CaseDetails'), members: make('MemberDetails'), workers: make('WorkerDetails') };
}

function tallies(r: ReturnType<typeof readers>, tree: FolderTree): Array<{ rel: string; path: string; size: number; sha256: string }> {
  const out: Array<{ rel: string; path: string; size: number; sha256: string }> = [];
  for (const reader of [r.cases, r.members, r.workers]) {
    for (const [rel, t] of reader.tallies) {
      const file = tree.files.find((f) => f.rel === rel)!;
      out.push({ rel, path: file.path, size: t.bytes, sha256: t.sha256 ?? '' });
    }
  }
  return out.sort((a, b) => (a.rel < b.rel ? -1 : 1));
}

async function closeAll(r: ReturnType<typeof readers>): Promise<void> {
  await Promise.all([r.cases.close(), r.members.close(), r.workers.close()]);
}

type Readers = ReturnType<typeof readers>;
interface UnitJoin {
  unit: CaseUnit;
  stats: JoinStats;
  r: Readers;
}

/** Runs a join over each case folder of the request folder; transport faults become retryable errors (the folder stays). */
async function runJoin(env: ExportEnv, tree: FolderTree, withCells: boolean, fn: (r: Readers, unit: CaseUnit) => Promise<JoinStats>): Promise<{ stats: JoinStats; files: ReturnType<typeof tallies>; units: UnitJoin[] }> {
  const total: JoinStats = { cases: 0, memberRows: 0, workerRows: 0, peakRowsHeld: 0, leftoverRows: 0 };
  const units: UnitJoin[] = [];
  for (const unit of caseUnits(tree, env.layout)) {
    const r = readers(env, tree, unit, withCells);
    try {
      const stats = await fn(r, unit);
      units.push({ unit, stats, r });
      total.cases += stats.cases;
      total.memberRows += stats.memberRows;
      total.workerRows += stats.workerRows;
      total.leftoverRows += stats.leftoverRows;
      total.peakRowsHeld = Math.max(total.peakRowsHeld, stats.peakRowsHeld);
    } catch (err) {
      if (err instanceof HandlerFailure) throw err.inner;
      if (err instanceof UnreadableFolder || err instanceof BufferLimitError || err instanceof CasewayError) throw err;
      throw env.sftp.error('read', tree.path, err);
    } finally {
      await closeAll(r);
    }
  }
  const files = units.flatMap((u) => tallies(u.r, tree)).sort((a, b) => (a.rel < b.rel ? -1 : 1));
  return { stats: total, files, units };
}

async function writeReport(env: ExportEnv, tree: FolderTree, report: FolderReport): Promise<void> {
  try {
    await env.sftp.put(Buffer.from(`${JSON.stringify(report, null, 2)}\n`, 'utf8'), safeJoin(tree.path, REPORT_FILE));
  } catch (err) {
    env.ctx.log.warn({ folder: tree.name, error: safeMessage(err) }, 'isupport: could not write the folder report');
  }
}

async function finish(env: ExportEnv, tree: FolderTree, report: FolderReport, target: 'archive' | 'failed'): Promise<FolderReport> {
  report.finishedAt = new Date().toISOString();
  await writeReport(env, tree, report);
  report.movedTo = await moveFolder(env.ctx, env.sftp, tree.path, target === 'archive' ? env.dirs.archiveDir : env.dirs.failedDir);
  await env.ctx.state.del(`pending:${tree.name}`).catch(() => undefined);
  const summary = { folder: tree.name, outcome: report.outcome, movedTo: report.movedTo, ...(report.cases ?? {}) };
  if (report.outcome === 'failed') env.ctx.log.warn({ ...summary, error: report.error }, 'isupport: export folder failed');
  else env.ctx.log.info(summary, 'isupport: export folder done');
  return report;
}

async function fail(env: ExportEnv, tree: FolderTree, report: FolderReport, reason: string, files: Array<{ rel: string; path: string; size: number; sha256: string }>): Promise<FolderReport> {
  report.outcome = 'failed';
  report.error = reason;
  report.files = files.map((f) => ({ path: f.rel, size: f.size, sha256: f.sha256 }));
  const fingerprint = report.fingerprint ?? (files.length ? folderFingerprint(files) : undefined);
  await finish(env, tree, report, 'failed');
  if (files.length) await env.ledger.recordFiles(files.map((f) => ({ path: f.path, folder: tree.name, size: f.size, sha256: f.sha256 })), 'failed');
  if (fingerprint) {
    await env.ledger.recordFolder({ folder: tree.name, fingerprint, kind: report.kind, outcome: 'failed', at: report.finishedAt!, movedTo: report.movedTo });
  }
  return report;
}

/** A folder whose exact content was processed before (under any name): archived again, nothing emitted. */
async function duplicate(env: ExportEnv, tree: FolderTree, report: FolderReport, earlier: LedgerFolder, files: ReturnType<typeof tallies>): Promise<FolderReport> {
  report.outcome = 'duplicate';
  report.duplicateOf = earlier.folder;
  report.files = files.map((f) => ({ path: f.rel, size: f.size, sha256: f.sha256 }));
  await finish(env, tree, report, 'archive');
  await env.ledger.recordFiles(files.map((f) => ({ path: f.path, folder: tree.name, size: f.size, sha256: f.sha256 })), 'duplicate');
  return report;
}

function sameSizes(tree: FolderTree, files: Array<{ rel: string; size: number }>): boolean {
  return files.every((f) => tree.files.find((t) => t.rel === f.rel)?.size === f.size);
}

/**
 * After reading a folder: if a file's size changed while it was read, it is still being written (outcome "changed",
 * left for the next poll, undefined returned); otherwise the report gets the files and the folder's fingerprint.
 */
function sealReport(tree: FolderTree, files: Array<{ rel: string; size: number; sha256: string }>, report: FolderReport): string | undefined {
  if (!sameSizes(tree, files)) {
    report.outcome = 'changed';
    return undefined;
  }
  report.fingerprint = folderFingerprint(files);
  report.files = files.map((f) => ({ path: f.rel, size: f.size, sha256: f.sha256 }));
  return report.fingerprint;
}

/** Reads one case export folder and emits its cases. */
export async function processCaseFolder(env: ExportEnv, tree: FolderTree): Promise<FolderReport> {
  const report: FolderReport = { folder: tree.name, kind: 'case', outcome: 'processed', startedAt: new Date().toISOString(), files: [], warnings: [] };
  const { sections } = env.layout;

  // Pass 1: hash every file and check the structure, holding nothing but one case's rows.
  let pass1: Awaited<ReturnType<typeof runJoin>>;
  try {
    pass1 = await runJoin(env, tree, false, (r, unit) => joinStreaming(r, unit.caseId, async () => undefined));
  } catch (err) {
    if (err instanceof UnreadableFolder || err instanceof BufferLimitError) return fail(env, tree, report, err.message, []);
    throw err;
  }
  const files = pass1.files;
  const fingerprint = sealReport(tree, files, report);
  if (!fingerprint) return report;

  const structural: string[] = [];
  for (const u of pass1.units) {
    if (u.stats.cases === 0) structural.push(`${u.unit.prefix}${sections.CaseDetails.folder} holds no case rows`);
    if (u.stats.cases > 1) {
      for (const reader of [u.r.cases, u.r.members, u.r.workers]) {
        for (const rel of reader.filesWithoutCaseId) structural.push(`${rel} has no case id column and the folder holds ${u.stats.cases} cases`);
      }
    }
  }
  if (structural.length) return fail(env, tree, report, structural.join('; '), files);

  const earlier = await env.ledger.folder(fingerprint);
  if (earlier && earlier.outcome !== 'failed') return duplicate(env, tree, report, earlier, files);
  await env.ledger.recordFiles(files.map((f) => ({ path: f.path, folder: tree.name, size: f.size, sha256: f.sha256 })), 'reading');

  // Pass 2: parse, build, emit in batches.
  const mode: 'stream' | 'buffered' = pass1.stats.leftoverRows === 0 ? 'stream' : 'buffered';
  report.mode = mode;
  if (mode === 'buffered') report.warnings.push('member/worker rows are not grouped in CaseDetails order; joined in memory');
  const translator = new CodeTranslator(env.codeLists, await getReferenceData(env.ctx));
  // When the export was written (the case file's time) is kept as exportedAt; receivedAt comes from the case itself.
  const cxOf = (unit: CaseUnit) => {
    const caseFile = sectionFiles(tree, sections.CaseDetails.folder, unit.prefix)[0];
    return {
      layout: env.layout,
      translator,
      connection: env.ctx.connection.name,
      folder: unit.prefix ? `${tree.name}/${unit.caseId}` : tree.name,
      requestId: /^REQ-/i.test(tree.name) ? tree.name : undefined,
      fingerprint,
      exportedAt: caseFile && caseFile.modifyTime > 0 ? new Date(caseFile.modifyTime).toISOString() : undefined,
    };
  };
  const counts: FolderCounts = { read: 0, queued: 0, alreadyQueued: 0, rejected: 0 };
  const rejected: RejectedCase[] = [];
  // Case ids already read, as 48-bit hashes: duplicate detection that costs a few bytes per case, not the ids.
  const seen = new Set<number>();
  const key = (id: string): number => createHash('sha1').update(id).digest().readUIntBE(0, 6);
  let batch: SourceEvent[] = [];
  // Rows (case, members, workers) behind the cases in the batch: a batch also ends at polling.emitBatchRows rows.
  // Built cases wait in the batch until it is emitted, so they are alive whenever V8 runs a young-generation
  // collection: with 100 cases of 21 parties (~2 MB) surviving every collection, a 1,000,000-member export grew V8's
  // young generation to its maximum (128 MB of RSS), and a batch holding every case built since the last collection
  // made V8 pretenure the party objects. 200 rows is ~10 such cases; cases of one or two parties still go 100 at a time.
  let batchRows = 0;
  const flush = async (): Promise<void> => {
    if (!batch.length) return;
    batchRows = 0;
    let results;
    try {
      results = await env.emit(batch);
    } catch (err) {
      throw new EmitFailure(err);
    }
    for (const r of results) {
      if (r.duplicate) counts.alreadyQueued += 1;
      else counts.queued += 1;
    }
    batch = [];
  };
  const reject = (caseId: string, row: number, reasons: string[]): void => {
    counts.rejected += 1;
    if (rejected.length < MAX_REJECTED_DETAILS) rejected.push({ caseId, row, reasons });
  };
  const warn = (w: string): void => {
    if (report.warnings.length < MAX_WARNINGS) report.warnings.push(w);
  };
  const onCaseIn = (cx: ReturnType<typeof cxOf>): CaseHandler => async (rows) => {
    counts.read += 1;
    if (!rows.caseId) return reject('', rows.caseRow.row, [`${rows.caseRow.file} row ${rows.caseRow.row}: ${sections.CaseDetails.caseIdColumn} is empty`]);
    const k = key(rows.caseId);
    if (seen.has(k)) return reject(rows.caseId, rows.caseRow.row, [`${rows.caseRow.file} row ${rows.caseRow.row}: the case id appears more than once`]);
    seen.add(k);
    const built = buildCase(cx, rows);
    built.warnings.forEach(warn);
    if (!built.ok) return reject(rows.caseId, rows.caseRow.row, built.reasons);
    batch.push({ eventId: built.case.source.eventId!, case: built.case });
    batchRows += 1 + rows.members.length + rows.workers.length;
    if (batch.length >= env.polling.emitBatchSize || batchRows >= env.polling.emitBatchRows) await flush();
  };
  let pass2: Awaited<ReturnType<typeof runJoin>>;
  try {
    pass2 = await runJoin(env, tree, true, (r, unit) => {
      const onCase = guarded(onCaseIn(cxOf(unit)));
      return mode === 'stream' ? joinStreaming(r, unit.caseId, onCase) : joinBuffered(r, unit.caseId, env.polling.maxBufferedRows, onCase);
    });
    await flush();
  } catch (err) {
    if (err instanceof BufferLimitError || err instanceof UnreadableFolder) return fail(env, tree, report, err.message, files);
    throw err;
  }
  if (folderFingerprint(pass2.files) !== fingerprint) {
    await env.ledger.recordFiles(files.map((f) => ({ path: f.path, folder: tree.name, size: f.size, sha256: f.sha256 })), 'changed');
    report.outcome = 'changed';
    return report;
  }
  if (pass2.stats.leftoverRows > 0) warn(`${pass2.stats.leftoverRows} member/worker rows name no case in ${sections.CaseDetails.folder}`);
  report.cases = counts;
  report.stats = pass2.stats;
  report.rejected = rejected;
  if (counts.rejected > rejected.length) report.rejectedNotListed = counts.rejected - rejected.length;
  await finish(env, tree, report, 'archive');
  await env.ledger.recordFiles(files.map((f) => ({ path: f.path, folder: tree.name, size: f.size, sha256: f.sha256 })), 'processed');
  await env.ledger.recordFolder({ folder: tree.name, fingerprint, kind: 'case', outcome: 'processed', at: report.finishedAt!, movedTo: report.movedTo, counts });
  return report;
}

/** Reads a reference-data export (one CSV per table) into the reference-data cache. */
export async function processReferenceFolder(env: ExportEnv, tree: FolderTree): Promise<FolderReport> {
  const report: FolderReport = { folder: tree.name, kind: 'reference', outcome: 'processed', startedAt: new Date().toISOString(), files: [], warnings: [] };
  const { codeColumn, descriptionColumn } = env.codeLists.referenceData;
  const tables: Record<string, ReferenceEntry[]> = {};
  const files: Array<{ rel: string; path: string; size: number; sha256: string }> = [];
  for (const f of referenceFiles(tree, env.layout)) {
    const reader = readCsv(env.sftp.readStream(f.path));
    const entries: ReferenceEntry[] = [];
    let codeKey: string | undefined;
    let descKey: string | undefined;
    try {
      for await (const row of reader.rows) {
        if (codeKey === undefined) {
          const header = reader.header!;
          codeKey = header.find((h) => h.toUpperCase() === codeColumn.toUpperCase()) ?? header[0];
          descKey = header.find((h) => h.toUpperCase() === descriptionColumn.toUpperCase()) ?? header[1];
        }
        const code = (row.values[codeKey] ?? '').trim();
        if (code) entries.push({ code, description: (descKey ? row.values[descKey] ?? '' : '').trim() });
      }
    } catch (err) {
      throw env.sftp.error('read', f.path, err);
    }
    files.push({ rel: f.rel, path: f.path, size: reader.tally.bytes, sha256: reader.tally.sha256 ?? '' });
    const table = path.posix.basename(f.rel).replace(/\.csv$/i, '').toUpperCase();
    if (entries.length === 0) report.warnings.push(`${f.rel}: no codes`);
    tables[table] = entries;
  }
  const fingerprint = sealReport(tree, files, report);
  if (!fingerprint) return report;
  if (Object.values(tables).every((t) => t.length === 0)) return fail(env, tree, report, 'no reference codes in any CSV file', files);
  const earlier = await env.ledger.folder(fingerprint);
  if (earlier && earlier.outcome !== 'failed') return duplicate(env, tree, report, earlier, files);
  await storeReferenceTables(env.ctx, tables, tree.name);
  report.referenceTables = Object.fromEntries(Object.entries(tables).map(([k, v]) => [k, v.length]));
  await finish(env, tree, report, 'archive');
  await env.ledger.recordFiles(files.map((f) => ({ path: f.path, folder: tree.name, size: f.size, sha256: f.sha256 })), 'processed');
  await env.ledger.recordFolder({ folder: tree.name, fingerprint, kind: 'reference', outcome: 'processed', at: report.finishedAt!, movedTo: report.movedTo });
  return report;
}

export interface ScanResult {
  reports: FolderReport[];
  skipped: Array<{ folder: string; reason: string }>;
  /** Folders that could not be read this time (transport faults); they stay for the next poll. */
  errors: Array<{ folder: string; error: unknown }>;
  emitted: number;
  newestMs?: number;
}

/** Candidate folder names in the export folder (not archive/failed, not hidden). */
export async function listRequestFolders(env: ExportEnv, pattern?: RegExp): Promise<Array<{ name: string; modifyTime: number }>> {
  let entries;
  try {
    entries = await env.sftp.list(env.dirs.exportDir);
  } catch (err) {
    if (isNotFound(err)) {
      throw new PeerError(`isupport: export folder ${env.dirs.exportDir} does not exist`, { retryable: true, context: { connection: env.ctx.connection.name } });
    }
    throw err;
  }
  const reserved = new Set([env.dirs.archiveDir, env.dirs.failedDir, env.dirs.importDir, env.dirs.stagingDir].filter(Boolean));
  return entries
    .filter((e) => e.type === 'd' && isPlainName(e.name) && !e.name.startsWith('.') && !isOwnFile(e.name))
    .filter((e) => !reserved.has(path.posix.join(env.dirs.exportDir, e.name)))
    .filter((e) => !pattern || pattern.test(e.name))
    .sort((a, b) => a.modifyTime - b.modifyTime || (a.name < b.name ? -1 : 1))
    .map((e) => ({ name: e.name, modifyTime: e.modifyTime }));
}

async function handleNotReady(env: ExportEnv, tree: FolderTree, readiness: { state: string; reason: string }, result: ScanResult): Promise<void> {
  const key = `pending:${tree.name}`;
  const firstSeenRaw = await env.ctx.state.get(key);
  const now = Date.now();
  const firstSeen = firstSeenRaw ? Number(firstSeenRaw) : NaN;
  if (!Number.isFinite(firstSeen) || firstSeen <= 0) {
    const ttlSeconds = Math.ceil((env.polling.incompleteTimeoutMs * 2) / 1000) + 3600;
    await env.ctx.state.set(key, String(now), ttlSeconds);
  } else if (readiness.state === 'incomplete' && now - firstSeen > env.polling.incompleteTimeoutMs) {
    const report: FolderReport = { folder: tree.name, kind: 'case', outcome: 'failed', startedAt: new Date(firstSeen).toISOString(), files: [], warnings: [] };
    result.reports.push(await fail(env, tree, report, `incomplete for longer than ${env.polling.incompleteTimeoutMs} ms: ${readiness.reason}`, []));
    return;
  }
  result.skipped.push({ folder: tree.name, reason: readiness.reason });
}

/** Processes one folder if it is ready (under a per-folder lock). */
export async function processFolder(env: ExportEnv, tree: FolderTree, result: ScanResult): Promise<void> {
  const readiness = classify(tree, env.layout, env.polling);
  if ('reason' in readiness) {
    await handleNotReady(env, tree, readiness, result);
    return;
  }
  const release = await env.ctx.state.lock(`folder:${tree.name}`, env.polling.folderLockMs);
  if (!release) {
    result.skipped.push({ folder: tree.name, reason: 'being read by another worker' });
    return;
  }
  try {
    const report = readiness.state === 'case' ? await processCaseFolder(env, tree) : await processReferenceFolder(env, tree);
    if (report.outcome === 'changed') {
      result.skipped.push({ folder: tree.name, reason: 'files changed while being read' });
      return;
    }
    result.reports.push(report);
    result.emitted += report.cases?.queued ?? 0;
    const newest = Math.max(...tree.files.map((f) => f.modifyTime));
    if (Number.isFinite(newest)) result.newestMs = Math.max(result.newestMs ?? 0, newest);
  } finally {
    await release();
  }
}

/** One scan of the export folder: list, wait for stable files, process what is ready. */
export async function scanExportFolder(env: ExportEnv, only?: { names?: string[]; pattern?: RegExp }): Promise<ScanResult> {
  const result: ScanResult = { reports: [], skipped: [], errors: [], emitted: 0 };
  let names = (await listRequestFolders(env, only?.pattern)).map((e) => e.name);
  if (only?.names) names = names.filter((n) => only.names!.includes(n));
  names = names.slice(0, env.polling.maxFoldersPerPoll);
  const first = new Map<string, FolderTree>();
  const isGone = (err: unknown) => isNotFound(err);
  for (const name of names) {
    try {
      first.set(name, await readTree(env.sftp, env.dirs.exportDir, name));
    } catch (err) {
      if (!isGone(err)) result.errors.push({ folder: name, error: err });
    }
  }
  const needsWait = [...first.values()].some((t) => t.files.length > 0);
  if (needsWait && env.polling.stableWaitMs > 0) await sleep(env.polling.stableWaitMs);
  for (const [name, before] of first) {
    try {
      const tree = before.files.length > 0 && env.polling.stableWaitMs > 0 ? await readTree(env.sftp, env.dirs.exportDir, name) : before;
      if (treeSignature(before) !== treeSignature(tree)) {
        result.skipped.push({ folder: name, reason: 'files still growing' });
        continue;
      }
      await processFolder(env, tree, result);
    } catch (err) {
      if (err instanceof EmitFailure) throw err.inner;
      if (isGone(err)) continue; // moved away meanwhile
      env.ctx.log.warn({ folder: name, error: safeMessage(err) }, 'isupport: export folder not read this time');
      result.errors.push({ folder: name, error: err });
    }
  }
  // Other folders went ahead; the poll still reports the first fault so the hub sees it.
  if (result.errors.length) throw result.errors[0].error;
  return result;
}
