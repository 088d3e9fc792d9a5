/**
 * Canonical case -> the two import files iSupport requires: ccrt.csv (one row: the case) and natural_person.csv (one
 * row per creditor, debtor and child), following the import layout. Coded values are translated and, when reference
 * data is loaded, validated. Every problem is collected (file, row, column, what is wrong), never a value.
 */
import { getPath, type CanonicalCase, type Party } from 'caseway/core';
import { asCell } from './csv-writer';
import { fromCanonicalDate } from './dates';
import type { ImportColumn, ImportFile, ImportFileName, ImportLayout } from './layout';
import { IMPORT_FILE_NAMES } from './layout';
import type { CodeTranslator } from './reference-data';

export interface CsvTable {
  header: string[];
  rows: string[][];
}

export interface ImportProblem {
  /** e.g. "ccrt.csv.REQUESTING_COUNTRY" or "natural_person.csv[2].LAST_NAME" (row 2 of the members). */
  field: string;
  message: string;
}

export interface EncodedImport {
  files: Record<ImportFileName, CsvTable>;
  problems: ImportProblem[];
  members: number;
}

interface Scope {
  case: CanonicalCase;
  party?: Party;
  role?: string;
}

function sources(col: ImportColumn): string[] {
  if (col.source === undefined) return [];
  return Array.isArray(col.source) ? col.source : [col.source];
}

function rawValue(col: ImportColumn, scope: Scope): string | undefined {
  if (col.value !== undefined) return col.value;
  for (const src of sources(col)) {
    let v: unknown;
    if (src === '$role') v = scope.role;
    else if (src.startsWith('$case.')) v = getPath(scope.case, src.slice('$case.'.length));
    else v = getPath(scope.party ?? scope.case, src);
    const cell = asCell(v);
    if (cell !== undefined && cell.trim() !== '') return cell;
  }
  return col.default;
}

function encodeRow(file: ImportFile, layout: ImportLayout, translator: CodeTranslator, scope: Scope, label: string, problems: ImportProblem[]): string[] {
  return file.columns.map((col) => {
    const field = `${label}.${col.column}`;
    let value = rawValue(col, scope);
    if (value === undefined || value.trim() === '') {
      if (col.required) {
        const where = col.value !== undefined ? 'a fixed value' : sources(col).join(' | ') || 'no source';
        problems.push({ field, message: `is required but empty (from ${where})` });
      }
      return '';
    }
    if (col.format || col.codeList) value = value.trim();
    if (col.format === 'date' || col.format === 'datetime') {
      const format = col.dateFormat ?? (col.format === 'date' ? layout.dateFormat : layout.dateTimeFormat);
      const date = fromCanonicalDate(value, format);
      if (date === undefined) {
        problems.push({ field, message: 'is not a date' });
        return '';
      }
      value = date;
    }
    if (col.codeList) {
      const code = translator.fromCanonical(col.codeList, value);
      if (code === undefined) {
        problems.push({ field, message: `has no code in reference table ${translator.list(col.codeList).referenceTable ?? col.codeList}` });
        return '';
      }
      value = code;
    }
    if (col.maxLength !== undefined && value.length > col.maxLength) {
      problems.push({ field, message: `is longer than ${col.maxLength} characters` });
      return '';
    }
    return value;
  });
}

/** The role a party gets in a party file: the first of the file's roles the party holds. */
function roleOf(party: Party, file: ImportFile): string | undefined {
  return (file.roles ?? []).find((r) => party.roles.includes(r));
}

export function encodeImport(c: CanonicalCase, layout: ImportLayout, translator: CodeTranslator): EncodedImport {
  const problems: ImportProblem[] = [];
  const files = {} as Record<ImportFileName, CsvTable>;
  let members = 0;
  for (const name of IMPORT_FILE_NAMES) {
    const file = layout.files[name];
    const table: CsvTable = { header: file.columns.map((col) => col.column), rows: [] };
    if (file.scope === 'case') {
      table.rows.push(encodeRow(file, layout, translator, { case: c }, name, problems));
    } else {
      const present = new Set<string>();
      let index = 0;
      for (const party of c.parties) {
        const role = file.roles && file.roles.length ? roleOf(party, file) : party.roles[0];
        if (!role) continue;
        index += 1;
        present.add(role);
        table.rows.push(encodeRow(file, layout, translator, { case: c, party, role }, `${name}[${index}]`, problems));
      }
      members += index;
      for (const role of file.requiredRoles ?? []) {
        if (!present.has(role)) problems.push({ field: `${name}.${role}`, message: `the case has no party with role ${role}` });
      }
      if (index === 0 && !(file.requiredRoles ?? []).length) problems.push({ field: name, message: 'the case has no party for this file' });
    }
    files[name] = table;
  }
  return { files, problems, members };
}
