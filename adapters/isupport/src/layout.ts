/**
 * Column layouts of the CSV files, kept as data files (config/isupport/*.json) because iSupport's column names are
 * not public: export-layout.json (what the export CSVs hold), import-layout.json (what ccrt.csv and natural_person.csv
 * must hold) and code-lists.json (coded values and the reference tables that list them). A connection can point at
 * its own files (settings.layouts). Each file is validated when loaded; a bad file is a permanent configuration error.
 */
import { readFileSync, statSync } from 'node:fs';
import type { ValidateFunction } from 'ajv';
import { createAjv, describeAjvErrors, parsePath } from 'caseway/core';
import { ConfigError } from 'caseway/core';
import { layoutPath, type IsupportSettings } from './settings';

export type ValueFormat = 'text' | 'date' | 'datetime';

export interface ExportColumn {
  column: string;
  /**
   * Canonical path (case scope for CaseDetails, party scope for Member/WorkerDetails); "roles" sets the party role.
   * A list writes the value to each path (e.g. the case category to extensions.isupport.caseCategory and subtype).
   */
  path?: string | string[];
  required?: boolean;
  codeList?: string;
  format?: ValueFormat;
  dateFormat?: string;
}

/** The canonical path(s) an export column writes to. */
export function exportPaths(col: ExportColumn): string[] {
  if (col.path === undefined) return [];
  return Array.isArray(col.path) ? col.path : [col.path];
}

export interface ExportSection {
  /** Sub-folder of the request folder holding this section's CSV files. */
  folder: string;
  /** Column naming the case a row belongs to. */
  caseIdColumn: string;
  /** Roles every party from this section gets (WorkerDetails: caseworker). */
  roles?: string[];
  columns: ExportColumn[];
}

export interface ExportLayout {
  description?: string;
  caseType: string;
  dateFormat: string;
  dateTimeFormat: string;
  sections: { CaseDetails: ExportSection; MemberDetails: ExportSection; WorkerDetails: ExportSection };
  /** Sub-folder of a reference-data request folder that may hold the reference CSVs (else they sit at its top). */
  referenceFolder?: string;
}

export interface ImportColumn {
  column: string;
  /** Canonical path(s); the first that yields a value wins. Party files: paths are relative to the party, `$case.` reaches the case, `$role` is the party's role. */
  source?: string | string[];
  /** A fixed value. */
  value?: string;
  /** Used when no source yields a value. */
  default?: string;
  required?: boolean;
  codeList?: string;
  format?: ValueFormat;
  dateFormat?: string;
  maxLength?: number;
}

export interface ImportFile {
  scope: 'case' | 'party';
  /** Party files: which canonical roles become rows, in this order of preference for a party holding several. */
  roles?: string[];
  /** Party files: roles the case must have at least one party for. */
  requiredRoles?: string[];
  columns: ImportColumn[];
}

export const IMPORT_FILE_NAMES = ['ccrt.csv', 'natural_person.csv'] as const;
export type ImportFileName = (typeof IMPORT_FILE_NAMES)[number];

export interface ImportLayout {
  description?: string;
  dateFormat: string;
  dateTimeFormat: string;
  files: Record<ImportFileName, ImportFile>;
}

export interface CodeList {
  /** Reference table (file name without .csv, upper case) that lists the valid codes. */
  referenceTable?: string;
  /** iSupport code -> canonical value. Codes not listed translate to themselves. */
  map?: Record<string, string>;
  /** When a code has no map entry, use its reference-data description (lower case, dashes) as canonical value. */
  fromDescription?: boolean;
}

export interface CodeLists {
  description?: string;
  referenceData: { codeColumn: string; descriptionColumn: string };
  lists: Record<string, CodeList>;
}

const formatSchema = { enum: ['text', 'date', 'datetime'] };
const exportColumnSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['column'],
  properties: {
    column: { type: 'string', minLength: 1 },
    path: { oneOf: [{ type: 'string', minLength: 1 }, { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } }] },
    required: { type: 'boolean' },
    codeList: { type: 'string' },
    format: formatSchema,
    dateFormat: { type: 'string' },
    description: { type: 'string' },
  },
};
const sectionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['folder', 'caseIdColumn', 'columns'],
  properties: {
    folder: { type: 'string', minLength: 1, pattern: '^[A-Za-z0-9_.-]+$' },
    caseIdColumn: { type: 'string', minLength: 1 },
    roles: { type: 'array', items: { type: 'string' } },
    columns: { type: 'array', items: exportColumnSchema },
  },
};
const exportSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sections'],
  properties: {
    $comment: { type: 'string' },
    description: { type: 'string' },
    caseType: { type: 'string' },
    dateFormat: { type: 'string' },
    dateTimeFormat: { type: 'string' },
    referenceFolder: { type: 'string', pattern: '^[A-Za-z0-9_.-]+$' },
    sections: {
      type: 'object',
      additionalProperties: false,
      required: ['CaseDetails', 'MemberDetails', 'WorkerDetails'],
      properties: { CaseDetails: sectionSchema, MemberDetails: sectionSchema, WorkerDetails: sectionSchema },
    },
  },
};
const importColumnSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['column'],
  properties: {
    column: { type: 'string', minLength: 1 },
    source: { anyOf: [{ type: 'string', minLength: 1 }, { type: 'array', items: { type: 'string', minLength: 1 }, minItems: 1 }] },
    value: { type: 'string' },
    default: { type: 'string' },
    required: { type: 'boolean' },
    codeList: { type: 'string' },
    format: formatSchema,
    dateFormat: { type: 'string' },
    maxLength: { type: 'integer', minimum: 1 },
    description: { type: 'string' },
  },
};
const importFileSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['scope', 'columns'],
  properties: {
    scope: { enum: ['case', 'party'] },
    roles: { type: 'array', items: { type: 'string' } },
    requiredRoles: { type: 'array', items: { type: 'string' } },
    columns: { type: 'array', minItems: 1, items: importColumnSchema },
  },
};
const importSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['files'],
  properties: {
    $comment: { type: 'string' },
    description: { type: 'string' },
    dateFormat: { type: 'string' },
    dateTimeFormat: { type: 'string' },
    files: {
      type: 'object',
      additionalProperties: false,
      required: [...IMPORT_FILE_NAMES],
      properties: { 'ccrt.csv': importFileSchema, 'natural_person.csv': importFileSchema },
    },
  },
};
const codeListsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['lists'],
  properties: {
    $comment: { type: 'string' },
    description: { type: 'string' },
    referenceData: {
      type: 'object',
      additionalProperties: false,
      required: ['codeColumn', 'descriptionColumn'],
      properties: { codeColumn: { type: 'string', minLength: 1 }, descriptionColumn: { type: 'string', minLength: 1 } },
    },
    lists: {
      type: 'object',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          description: { type: 'string' },
          referenceTable: { type: 'string', minLength: 1 },
          map: { type: 'object', additionalProperties: { type: 'string' } },
          fromDescription: { type: 'boolean' },
        },
      },
    },
  },
};

let validators: { export: ValidateFunction; import: ValidateFunction; codeLists: ValidateFunction } | undefined;
function getValidators(): NonNullable<typeof validators> {
  if (!validators) {
    const ajv = createAjv();
    validators = { export: ajv.compile(exportSchema), import: ajv.compile(importSchema), codeLists: ajv.compile(codeListsSchema) };
  }
  return validators;
}

const fileCache = new Map<string, { mtimeMs: number; value: unknown }>();

function loadJson<T>(file: string, which: 'export' | 'import' | 'codeLists', check: (value: T) => void): T {
  let mtimeMs: number;
  try {
    mtimeMs = statSync(file).mtimeMs;
  } catch {
    throw new ConfigError(file, '', 'layout file not found');
  }
  const known = fileCache.get(file);
  if (known && known.mtimeMs === mtimeMs) return known.value as T;
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new ConfigError(file, '', `not valid JSON (${(err as Error).message})`);
  }
  const validate = getValidators()[which];
  if (!validate(parsed)) {
    const first = describeAjvErrors(validate.errors)[0];
    throw new ConfigError(file, first?.path ?? '', first?.reason ?? 'is invalid');
  }
  const value = parsed as T;
  check(value);
  fileCache.set(file, { mtimeMs, value });
  return value;
}

function checkPaths(file: string, entries: Array<{ at: string; path: string }>): void {
  for (const e of entries) {
    const p = e.path.replace(/^\$case\./, '');
    if (p === '$role') continue;
    try {
      parsePath(p);
    } catch (err) {
      throw new ConfigError(file, e.at, (err as Error).message);
    }
  }
}

export function loadExportLayout(settings: IsupportSettings): ExportLayout {
  const file = layoutPath(settings, 'export');
  const raw = loadJson<Partial<ExportLayout> & Pick<ExportLayout, 'sections'>>(file, 'export', (layout) => {
    const entries: Array<{ at: string; path: string }> = [];
    for (const [name, section] of Object.entries(layout.sections)) {
      section.columns.forEach((c, i) => exportPaths(c).forEach((p) => entries.push({ at: `/sections/${name}/columns/${i}/path`, path: p })));
    }
    checkPaths(file, entries);
  });
  return { caseType: 'maintenance', dateFormat: 'yyyy-MM-dd', dateTimeFormat: 'yyyy-MM-dd HH:mm:ss', ...raw };
}

export function loadImportLayout(settings: IsupportSettings): ImportLayout {
  const file = layoutPath(settings, 'import');
  const raw = loadJson<Partial<ImportLayout> & Pick<ImportLayout, 'files'>>(file, 'import', (layout) => {
    const entries: Array<{ at: string; path: string }> = [];
    for (const [name, f] of Object.entries(layout.files)) {
      f.columns.forEach((c, i) => {
        const sources = c.source === undefined ? [] : Array.isArray(c.source) ? c.source : [c.source];
        sources.forEach((s) => entries.push({ at: `/files/${name}/columns/${i}/source`, path: s }));
      });
    }
    checkPaths(file, entries);
  });
  return { dateFormat: 'yyyy-MM-dd', dateTimeFormat: 'yyyy-MM-dd HH:mm:ss', ...raw };
}

export function loadCodeLists(settings: IsupportSettings): CodeLists {
  const file = layoutPath(settings, 'codeLists');
  const raw = loadJson<Partial<CodeLists> & Pick<CodeLists, 'lists'>>(file, 'codeLists', () => undefined);
  return { referenceData: { codeColumn: 'CODE', descriptionColumn: 'DESCRIPTION' }, ...raw };
}
