/**
 * Export rows -> one canonical case: CaseDetails row -> the case, MemberDetails rows -> parties with roles from the
 * role code list (creditor, debtor, child), WorkerDetails rows -> caseworker parties. Mapped columns follow the export
 * layout; every other column, and the raw code behind every translated value, goes under extensions.isupport so
 * nothing is dropped. Reasons and warnings name sections, rows and columns, never values.
 */
import { trySetPath, type CanonicalCase, type Party } from 'caseway/core';
import { toCanonicalDate } from './dates';
import { exportPaths, type ExportColumn, type ExportLayout, type ExportSection } from './layout';
import type { CodeTranslator } from './reference-data';

export type SectionName = 'CaseDetails' | 'MemberDetails' | 'WorkerDetails';
export const SECTION_NAMES: SectionName[] = ['CaseDetails', 'MemberDetails', 'WorkerDetails'];

/** One data row of an export file, with its cells as papaparse gave them (read by position, see columnPlan). */
export interface SectionRow {
  /** 1-based number of the data row (the header is row 0). */
  row: number;
  cells: string[];
  /** Cells beyond the header's width (the row is malformed when > 0). */
  extraCells: number;
  /** Header columns the row has no cell for (malformed when > 0). */
  missingCells: number;
  /** The row's case id; undefined when the file has no case id column (the row belongs to the folder's only case). */
  caseId?: string;
  /** File the row came from, relative to the request folder. */
  file: string;
  header: string[];
}

export interface CaseRows {
  caseId: string;
  caseRow: SectionRow;
  members: SectionRow[];
  workers: SectionRow[];
}

export interface ExportCodecContext {
  layout: ExportLayout;
  translator: CodeTranslator;
  connection: string;
  folder: string;
  fingerprint: string;
  /** The request folder (REQ-...) the case came in, when the export names one. */
  requestId?: string;
  /** When the export was written (CaseDetails file time), ISO-8601; kept as extensions.isupport.exportedAt. */
  exportedAt?: string;
}

export type BuildResult = { ok: true; case: CanonicalCase; warnings: string[] } | { ok: false; reasons: string[]; warnings: string[] };

/** Stable per case and per export content: re-reading the same files yields the same id, so the hub drops it. */
export function exportEventId(caseId: string, fingerprint: string): string {
  return `isupport:${caseId}:${fingerprint}`;
}

function columnIndex(section: ExportSection): Map<string, ExportColumn> {
  const map = new Map<string, ExportColumn>();
  for (const c of section.columns) map.set(c.column.toUpperCase(), c);
  return map;
}

const indexCache = new WeakMap<ExportSection, Map<string, ExportColumn>>();
function columnsOf(section: ExportSection): Map<string, ExportColumn> {
  let idx = indexCache.get(section);
  if (!idx) {
    idx = columnIndex(section);
    indexCache.set(section, idx);
  }
  return idx;
}

const missingCache = new WeakMap<string[], Map<ExportSection, string[]>>();

/** Required layout columns a file's header lacks (cached per header). */
export function missingRequiredColumns(section: ExportSection, header: string[]): string[] {
  let bySection = missingCache.get(header);
  if (!bySection) missingCache.set(header, (bySection = new Map()));
  let known = bySection.get(section);
  if (!known) bySection.set(section, (known = computeMissing(section, header)));
  return known;
}

function computeMissing(section: ExportSection, header: string[]): string[] {
  const have = new Set(header.map((h) => h.toUpperCase()));
  return section.columns.filter((c) => c.required && !have.has(c.column.toUpperCase())).map((c) => c.column);
}

/** One column of a file as applyRow walks it: the header as written, upper-cased, its layout column and paths. */
interface PlannedColumn {
  header: string;
  key: string;
  /** Where the row's cell for this name is: the last column of that name (a later column of the same name wins). */
  index: number;
  col: ExportColumn | undefined;
  /** Where the column's value goes (exportPaths(col)); empty when unmapped. */
  paths: string[];
}

const planCache = new WeakMap<string[], Map<ExportSection, PlannedColumn[]>>();

/**
 * The distinct header names in the order Object.keys gives them (cached per header and section), each with the
 * position of its cell, so a row is walked by position, without an object by column name per row and without
 * upper-casing every cell's column name again.
 */
function columnPlan(section: ExportSection, header: string[]): PlannedColumn[] {
  let bySection = planCache.get(header);
  if (!bySection) planCache.set(header, (bySection = new Map()));
  let plan = bySection.get(section);
  if (!plan) {
    const columns = columnsOf(section);
    const order: Record<string, true> = {};
    for (const h of header) order[h] = true;
    plan = Object.keys(order).map((h) => {
      const col = columns.get(h.toUpperCase());
      return { header: h, key: h.toUpperCase(), index: header.lastIndexOf(h), col, paths: col ? exportPaths(col) : [] };
    });
    bySection.set(section, plan);
  }
  return plan;
}

interface RowOutcome {
  reasons: string[];
  warnings: string[];
}

/** What applyRow kept aside: columns with no place in the case, and the raw codes behind translated values. */
interface RowExtras {
  unmapped: Record<string, string> | undefined;
  codes: Record<string, string> | undefined;
}

const NO_EXTRAS: RowExtras = Object.freeze({ unmapped: undefined, codes: undefined });

/** Names a row in reasons and warnings (a function, not a closure per row: applyRow runs a million times a file). */
function label(sectionName: SectionName, row: SectionRow): string {
  return `${sectionName} ${row.file} row ${row.row}`;
}

/**
 * Applies one row to a target object (case or party) following the section's layout. Allocates only what the case
 * keeps (the per-row label, and the unmapped and codes objects, only when needed): the rows of a big export go
 * through here a million times, and every short-lived object counts against V8's young generation.
 */
function applyRow(
  cx: ExportCodecContext,
  target: Record<string, unknown>,
  row: SectionRow,
  sectionName: SectionName,
  section: ExportSection,
  out: RowOutcome,
  roles?: string[],
): RowExtras {
  let unmapped: Record<string, string> | undefined;
  let codes: Record<string, string> | undefined;
  if (row.extraCells > 0 || row.missingCells > 0) {
    out.reasons.push(`${label(sectionName, row)}: has ${row.header.length + row.extraCells - row.missingCells} cells, the header has ${row.header.length}`);
  }
  const caseIdKey = section.caseIdColumn.toUpperCase();
  for (const c of missingRequiredColumns(section, row.header)) {
    // A file without the case id column belongs to the folder's one case, named by its folder (seed §5.1 c).
    if (row.caseId === undefined && c.toUpperCase() === caseIdKey) continue;
    out.reasons.push(`${label(sectionName, row)}: required column ${c} is missing from the file`);
  }
  const { cells } = row;
  const plan = columnPlan(section, row.header);
  for (let i = 0; i < plan.length; i++) {
    const { header, key, index, col, paths } = plan[i];
    // A short row has no cell for the later columns.
    if (index >= cells.length) continue;
    const raw = cells[index];
    const value = raw.trim();
    if (!col) {
      if (key === caseIdKey && sectionName !== 'CaseDetails') continue;
      if (value !== '') (unmapped ??= {})[header] = raw;
      continue;
    }
    if (value === '') {
      if (col.required) out.reasons.push(`${label(sectionName, row)}: required column ${col.column} is empty`);
      continue;
    }
    let canonical: string | undefined = value;
    if (col.codeList) {
      const t = cx.translator.toCanonical(col.codeList, value);
      if (!t.known) out.warnings.push(`${label(sectionName, row)}: ${col.column} has a code that is not in reference table ${cx.translator.list(col.codeList).referenceTable}`);
      canonical = t.value;
      if (canonical !== value) (codes ??= {})[col.column] = value;
    }
    if (col.format === 'date' || col.format === 'datetime') {
      const format = col.dateFormat ?? (col.format === 'date' ? cx.layout.dateFormat : cx.layout.dateTimeFormat);
      const date = toCanonicalDate(value, format, col.format === 'datetime') ?? (col.format === 'datetime' ? toCanonicalDate(value, cx.layout.dateFormat, false) : undefined);
      if (!date) {
        if (col.required) out.reasons.push(`${label(sectionName, row)}: ${col.column} is not a date in the format ${format}`);
        else out.warnings.push(`${label(sectionName, row)}: ${col.column} is not a date in the format ${format}; kept under extensions.isupport`);
        (unmapped ??= {})[header] = raw;
        continue;
      }
      canonical = date;
    }
    if (!paths.length) {
      (unmapped ??= {})[header] = raw;
      continue;
    }
    for (let j = 0; j < paths.length; j++) {
      const p = paths[j];
      if (p === 'roles' && roles) {
        if (!roles.includes(canonical)) roles.push(canonical);
      } else {
        // The layout sends two columns to clashing places (one to `person`, another to `person.surname`): the core
        // path language overwrites nothing, so the case is refused with the columns named, never the values.
        if (!trySetPath(target, p, canonical)) out.reasons.push(`${label(sectionName, row)}: ${col.column} cannot be written to ${p}: another column of the layout put a value on its way`);
      }
    }
  }
  return unmapped || codes ? { unmapped, codes } : NO_EXTRAS;
}

/** Whether an object has an own enumerable key (Object.keys without the array). */
function hasKeys(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

const isEmpty = (v: unknown): boolean =>
  v === undefined || v === null || v === '' || (typeof v === 'object' && (Array.isArray(v) ? v.length === 0 : !hasKeys(v as object)));

/** An array of plain values (no objects), e.g. address lines; holes count as plain. */
function isPlainArray(value: unknown[]): boolean {
  for (let i = 0; i < value.length; i++) {
    const v = value[i];
    if (v !== undefined && v !== null && typeof v === 'object') return false;
  }
  return true;
}

/**
 * Removes (in place) undefined, empty strings, holes and empty containers, so the case validates against the schema.
 * Arrays of plain values are positional (address lines: ADDRESS_LINE2 without ADDRESS_LINE1 must stay line 2), so
 * their inner holes become '' and only trailing empties go.
 */
export function compact<T>(value: T): T {
  if (Array.isArray(value) && value.length > 0 && isPlainArray(value)) {
    for (let i = 0; i < value.length; i++) if (value[i] === undefined || value[i] === null) value[i] = '';
    let end = value.length;
    while (end > 0 && value[end - 1] === '') end -= 1;
    value.length = end;
    return value;
  }
  if (Array.isArray(value)) {
    let j = 0;
    for (let i = 0; i < value.length; i++) {
      const c = compact(value[i] as unknown);
      if (!isEmpty(c)) value[j++] = c;
    }
    value.length = j;
  } else if (value && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    for (const k in o) {
      const v = o[k];
      if (v !== null && typeof v === 'object') compact(v);
      if (isEmpty(v)) delete o[k];
    }
  }
  return value;
}

function isupportExt(target: Record<string, unknown>): Record<string, unknown> {
  const ext = (target.extensions ??= {}) as Record<string, Record<string, unknown>>;
  return (ext.isupport ??= {});
}

function buildParty(cx: ExportCodecContext, row: SectionRow, sectionName: SectionName, section: ExportSection, out: RowOutcome): Party {
  const party: Record<string, unknown> = {};
  const roles: string[] = section.roles ? section.roles.slice() : [];
  const { unmapped, codes } = applyRow(cx, party, row, sectionName, section, out, roles);
  if (roles.length === 0) out.reasons.push(`${sectionName} ${row.file} row ${row.row}: no role`);
  party.roles = roles;
  const ext = isupportExt(party);
  ext.section = sectionName;
  if (unmapped) Object.assign(ext, { columns: { ...(ext.columns as object | undefined), ...unmapped } });
  if (codes) ext.codes = codes;
  return compact(party) as unknown as Party;
}

/** One case from its rows; rejected (with reasons) when a required value is missing or a row is malformed. */
export function buildCase(cx: ExportCodecContext, rows: CaseRows): BuildResult {
  const out: RowOutcome = { reasons: [], warnings: [] };
  const { sections } = cx.layout;
  const c: Record<string, unknown> = {};
  const caseResult = applyRow(cx, c, rows.caseRow, 'CaseDetails', sections.CaseDetails, out);
  const parties: Party[] = [];
  for (const m of rows.members) parties.push(buildParty(cx, m, 'MemberDetails', sections.MemberDetails, out));
  for (const w of rows.workers) parties.push(buildParty(cx, w, 'WorkerDetails', sections.WorkerDetails, out));
  if (out.reasons.length) return { ok: false, reasons: out.reasons, warnings: out.warnings };

  const ext = isupportExt(c);
  if (caseResult.unmapped) ext.caseDetails = caseResult.unmapped;
  if (caseResult.codes) ext.codes = caseResult.codes;
  ext.exportFolder = cx.folder;
  if (cx.requestId) ext.requestId = cx.requestId;
  else if (/^REQ-/i.test(cx.folder)) ext.requestId = cx.folder;
  if (cx.exportedAt) ext.exportedAt = cx.exportedAt;
  ext.exportFingerprint = cx.fingerprint;
  const eventId = exportEventId(rows.caseId, cx.fingerprint);
  const built: CanonicalCase = {
    ...(compact(c) as Partial<CanonicalCase>),
    type: cx.layout.caseType,
    source: { system: 'isupport', connection: cx.connection, id: rows.caseId, eventId },
    parties,
  };
  return { ok: true, case: built, warnings: out.warnings };
}
