/**
 * Reference data (requestReferenceData): iSupport's lookup tables (roles, countries, case categories ...), one CSV per
 * table. Loaded tables are kept in the connection's Redis state (shared by every worker, survives restarts) and
 * cached in process. The CodeTranslator uses them with code-lists.json to validate and translate coded values both
 * ways: iSupport code <-> canonical value.
 */
import type { AdapterContext } from 'caseway/core';
import type { CodeList, CodeLists } from './layout';
import { DEFAULT_REFERENCE_DATA_REFRESH_MS, type IsupportSettings } from './settings';

export interface ReferenceEntry {
  code: string;
  description: string;
}

export interface ReferenceSnapshot {
  updatedAt: string;
  /** Export request folder each table came from. */
  sources: Record<string, string>;
  tables: Record<string, ReferenceEntry[]>;
}

const STATE_KEY = 'referenceData';

const cache = new Map<string, { readAt: number; snapshot: ReferenceSnapshot | null }>();

function cacheKey(ctx: AdapterContext<IsupportSettings>): string {
  return ctx.connection.name;
}

/** The reference data known for the connection (null before any was loaded). */
export async function getReferenceData(ctx: AdapterContext<IsupportSettings>): Promise<ReferenceSnapshot | null> {
  const refreshMs = ctx.connection.settings.referenceDataRefreshMs ?? DEFAULT_REFERENCE_DATA_REFRESH_MS;
  const known = cache.get(cacheKey(ctx));
  if (known && Date.now() - known.readAt < refreshMs) return known.snapshot;
  const snapshot = await ctx.state.getJson<ReferenceSnapshot>(STATE_KEY);
  cache.set(cacheKey(ctx), { readAt: Date.now(), snapshot });
  return snapshot;
}

/** Replaces the given tables (others stay) and returns the new snapshot. */
export async function storeReferenceTables(
  ctx: AdapterContext<IsupportSettings>,
  tables: Record<string, ReferenceEntry[]>,
  source: string,
): Promise<ReferenceSnapshot> {
  const current = (await ctx.state.getJson<ReferenceSnapshot>(STATE_KEY)) ?? { updatedAt: '', sources: {}, tables: {} };
  const next: ReferenceSnapshot = { updatedAt: new Date().toISOString(), sources: { ...current.sources }, tables: { ...current.tables } };
  for (const [name, entries] of Object.entries(tables)) {
    next.tables[name] = entries;
    next.sources[name] = source;
  }
  await ctx.state.setJson(STATE_KEY, next);
  cache.set(cacheKey(ctx), { readAt: Date.now(), snapshot: next });
  return next;
}

/** Forgets the in-process copy (tests; a process that must see another's update at once). */
export function forgetCachedReferenceData(connection?: string): void {
  if (connection) cache.delete(connection);
  else cache.clear();
}

/** "United Kingdom (Northern Ireland)" -> "united-kingdom-northern-ireland" */
export function slug(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
}

export interface ToCanonical {
  value: string;
  /** False when reference data for the list is loaded and does not contain the code. */
  known: boolean;
  description?: string;
}

interface TableIndex {
  byCode: Map<string, string>;
  bySlug: Map<string, string>;
}

/** Codes whose translation a CodeTranslator remembers, per code list. */
const MEMO_PER_LIST = 1000;

export class CodeTranslator {
  private readonly indexes = new Map<string, TableIndex | null>();
  private readonly memo = new Map<string, Map<string, Readonly<ToCanonical>>>();

  constructor(
    private readonly codeLists: CodeLists,
    private readonly reference: ReferenceSnapshot | null,
  ) {}

  list(name: string): CodeList {
    return this.codeLists.lists[name] ?? {};
  }

  private table(list: CodeList): TableIndex | null {
    const name = list.referenceTable?.toUpperCase();
    if (!name || !this.reference) return null;
    if (this.indexes.has(name)) return this.indexes.get(name)!;
    const entries = this.reference.tables[name];
    let index: TableIndex | null = null;
    if (entries) {
      index = { byCode: new Map(), bySlug: new Map() };
      for (const e of entries) {
        index.byCode.set(e.code, e.description);
        if (e.description && !index.bySlug.has(slug(e.description))) index.bySlug.set(slug(e.description), e.code);
      }
    }
    this.indexes.set(name, index);
    return index;
  }

  /** Whether validation against reference data is possible for the list. */
  hasReference(listName: string): boolean {
    return this.table(this.list(listName)) !== null;
  }

  /**
   * iSupport code -> canonical value. Answers are remembered per list (up to MEMO_PER_LIST codes): the same few codes
   * come on every row of an export, and each answer is an object. The translator lives for one folder, so the
   * reference data behind a remembered answer does not change under it.
   */
  toCanonical(listName: string, code: string): Readonly<ToCanonical> {
    let memo = this.memo.get(listName);
    if (!memo) this.memo.set(listName, (memo = new Map()));
    const known = memo.get(code);
    if (known) return known;
    const answer = this.translate(listName, code);
    if (memo.size < MEMO_PER_LIST) memo.set(code, answer);
    return answer;
  }

  private translate(listName: string, code: string): ToCanonical {
    const list = this.list(listName);
    const table = this.table(list);
    const description = table?.byCode.get(code);
    const known = table ? table.byCode.has(code) : true;
    const mapped = list.map?.[code];
    if (mapped !== undefined) return { value: mapped, known, description };
    if (list.fromDescription && description) return { value: slug(description), known, description };
    return { value: code, known, description };
  }

  /** Canonical value (or an iSupport code) -> iSupport code; undefined when reference data is loaded and has no such code. */
  fromCanonical(listName: string, value: string): string | undefined {
    const list = this.list(listName);
    const table = this.table(list);
    const candidates: string[] = [];
    for (const [code, canonical] of Object.entries(list.map ?? {})) {
      if (canonical.toLowerCase() === value.toLowerCase()) candidates.push(code);
    }
    candidates.push(value);
    if (!table) return candidates[0];
    for (const c of candidates) if (table.byCode.has(c)) return c;
    return table.bySlug.get(slug(value));
  }
}
