/**
 * A small nestjs-paginate look-alike: `filter.<col>=<op>:<value>` ($eq, $in, $ilike, $null, $gt, $gte, $lt, $lte, $btw,
 * with a `$not:` prefix; a bare value means $eq), `sortBy=col:ASC|DESC`, `select=a,b`, `page` (1-based) and `limit`
 * (default 20, -1 = all), answering `{data, meta, links}`.
 */

export type Row = Record<string, unknown>;

export interface PaginateRequest {
  page: number;
  limit: number;
  sortBy: Array<[string, 'ASC' | 'DESC']>;
  select?: string[];
  search?: string;
  filters: Record<string, string[]>;
  rawFilters: Record<string, string | string[]>;
}

function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return v.length ? String(v[0]) : undefined;
  return v === undefined ? undefined : String(v);
}

export function readPaginateQuery(query: Record<string, unknown>, defaultLimit = 20): PaginateRequest {
  const filters: Record<string, string[]> = {};
  const rawFilters: Record<string, string | string[]> = {};
  for (const [key, value] of Object.entries(query)) {
    if (!key.startsWith('filter.')) continue;
    const col = key.slice('filter.'.length);
    const values = (Array.isArray(value) ? value : [value]).map(String);
    filters[col] = values;
    rawFilters[col] = values.length === 1 ? values[0] : values;
  }
  const page = Math.max(1, Number.parseInt(first(query.page) ?? '1', 10) || 1);
  const limitRaw = Number.parseInt(first(query.limit) ?? String(defaultLimit), 10);
  const limit = Number.isNaN(limitRaw) || limitRaw === 0 ? defaultLimit : limitRaw;
  const sortBy: Array<[string, 'ASC' | 'DESC']> = [];
  const sortRaw = query.sortBy === undefined ? [] : Array.isArray(query.sortBy) ? query.sortBy : [query.sortBy];
  for (const s of sortRaw) {
    const [col, dir] = String(s).split(':');
    if (col) sortBy.push([col, String(dir).toUpperCase() === 'DESC' ? 'DESC' : 'ASC']);
  }
  if (!sortBy.length) sortBy.push(['id', 'ASC']);
  const select = first(query.select)?.split(',').map((s) => s.trim()).filter(Boolean);
  return { page, limit, sortBy, select: select?.length ? select : undefined, search: first(query.search), filters, rawFilters };
}

function asNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))) return Number(v);
  return undefined;
}

function asTime(v: unknown): number | undefined {
  if (typeof v !== 'string') return undefined;
  if (!/^\d{4}-\d{2}-\d{2}/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : t;
}

function compare(a: unknown, b: string): number {
  const ta = asTime(a);
  const tb = asTime(b);
  if (ta !== undefined && tb !== undefined) return ta - tb;
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined) return na - nb;
  return String(a ?? '').localeCompare(b);
}

function equals(a: unknown, b: string): boolean {
  if (a === null || a === undefined) return false;
  const na = asNumber(a);
  const nb = asNumber(b);
  if (na !== undefined && nb !== undefined && typeof a === 'number') return na === nb;
  return String(a) === b;
}

/** One nestjs-paginate filter expression against one value. */
export function matches(value: unknown, expression: string): boolean {
  let expr = expression;
  let negate = false;
  if (expr.startsWith('$not:')) {
    negate = true;
    expr = expr.slice(5);
  }
  let result: boolean;
  if (expr.startsWith('$eq:')) result = equals(value, expr.slice(4));
  else if (expr.startsWith('$in:')) result = expr.slice(4).split(',').some((v) => equals(value, v));
  else if (expr.startsWith('$ilike:')) result = String(value ?? '').toLowerCase().includes(expr.slice(7).toLowerCase());
  else if (expr === '$null') result = value === null || value === undefined || value === '';
  else if (expr.startsWith('$gte:')) result = value !== null && value !== undefined && compare(value, expr.slice(5)) >= 0;
  else if (expr.startsWith('$gt:')) result = value !== null && value !== undefined && compare(value, expr.slice(4)) > 0;
  else if (expr.startsWith('$lte:')) result = value !== null && value !== undefined && compare(value, expr.slice(5)) <= 0;
  else if (expr.startsWith('$lt:')) result = value !== null && value !== undefined && compare(value, expr.slice(4)) < 0;
  else if (expr.startsWith('$btw:')) {
    const [lo, hi] = expr.slice(5).split(',');
    result = value !== null && value !== undefined && compare(value, lo) >= 0 && compare(value, hi) <= 0;
  } else result = equals(value, expr);
  return negate ? !result : result;
}

/** Keeps rows matching every filter on a filterable column (others are ignored, as nestjs-paginate does). */
export function applyFilters(rows: Row[], filters: Record<string, string[]>, filterable: (column: string) => boolean): Row[] {
  const active = Object.entries(filters).filter(([col]) => filterable(col));
  return rows.filter((row) => active.every(([col, exprs]) => exprs.every((e) => matches(row[col], e))));
}

export function sortRows(rows: Row[], sortBy: Array<[string, 'ASC' | 'DESC']>): Row[] {
  return [...rows].sort((a, b) => {
    for (const [col, dir] of sortBy) {
      const av = a[col];
      const bv = b[col];
      if (av === bv) continue;
      const c = av === undefined || av === null ? -1 : bv === undefined || bv === null ? 1 : compare(av, String(bv));
      if (c !== 0) return dir === 'DESC' ? -c : c;
    }
    return 0;
  });
}

export function selectFields(row: Row, select: string[] | undefined): Row {
  if (!select) return row;
  const out: Row = {};
  for (const f of select) if (f in row) out[f] = row[f];
  return out;
}

export interface Paginated {
  data: Row[];
  meta: Record<string, unknown>;
  links: Record<string, string>;
}

export function paginate(rows: Row[], req: PaginateRequest, selfUrl: string): Paginated {
  const sorted = sortRows(rows, req.sortBy);
  const total = sorted.length;
  const all = req.limit < 0;
  const limit = all ? Math.max(total, 1) : req.limit;
  const totalPages = all ? 1 : Math.max(1, Math.ceil(total / limit));
  const page = all ? 1 : req.page;
  const slice = all ? sorted : sorted.slice((page - 1) * limit, page * limit);
  const link = (p: number) => {
    const params = new URLSearchParams();
    params.set('page', String(p));
    params.set('limit', String(req.limit));
    for (const [c, d] of req.sortBy) params.append('sortBy', `${c}:${d}`);
    for (const [c, vs] of Object.entries(req.filters)) for (const v of vs) params.append(`filter.${c}`, v);
    if (req.select) params.set('select', req.select.join(','));
    return `${selfUrl}?${decodeURIComponent(params.toString())}`;
  };
  const links: Record<string, string> = { current: link(page) };
  if (!all) {
    if (page > 1) {
      links.first = link(1);
      links.previous = link(page - 1);
    }
    if (page < totalPages) {
      links.next = link(page + 1);
      links.last = link(totalPages);
    }
  }
  const meta: Record<string, unknown> = {
    itemsPerPage: all ? total : limit,
    totalItems: total,
    currentPage: page,
    totalPages,
    sortBy: req.sortBy,
  };
  if (Object.keys(req.rawFilters).length) meta.filter = req.rawFilters;
  if (req.select) meta.select = req.select;
  if (req.search) meta.search = req.search;
  return { data: slice.map((r) => selectFields(r, req.select)), meta, links };
}
