/**
 * Case history (/ops/cases): recent cases, newest first, filtered by route, connection, status, origin system and
 * time, and paged. Cases come from the bounded per-day case index; each row's routes, targets and status are read
 * from the case's meta and trace (the same facts the case page shows), so the list cannot drift from the timeline.
 * One query examines at most SCAN_LIMIT cases; the page says so when a filter hit that bound.
 */
import type { Hub } from '../core/hub';
import { readCaseIndex } from '../core/store/case-index';
import { dayOf } from '../core/store/stats-store';
import type { TraceEntry } from '../core/store/trace-store';

export const CASE_STATUSES = ['delivered', 'failed', 'dead', 'in-flight', 'echo', 'filtered', 'discarded'] as const;
export type CaseStatus = (typeof CASE_STATUSES)[number];

export const SCAN_LIMIT = 5000;
const CHUNK = 200;

export interface CaseFilter {
  route?: string;
  connection?: string;
  status?: CaseStatus;
  origin?: string;
  /** Inclusive UTC days, YYYY-MM-DD. */
  from: string;
  to: string;
  page: number;
  size: number;
}

export interface CaseRow {
  hubId: string;
  at: string;
  type?: string;
  origin?: string;
  connection?: string;
  routes: string[];
  targets: Array<{ route: string; target: string; connection?: string; stage: string }>;
  status: CaseStatus;
}

export interface CaseHistory {
  filter: CaseFilter;
  rows: CaseRow[];
  hasMore: boolean;
  /** True when SCAN_LIMIT cases were examined before the page was filled: older matches may exist. */
  truncated: boolean;
}

const DELIVERY_STAGES = new Set(['routed', 'delivered', 'skipped', 'retrying', 'failed', 'dead', 'replayed', 'discarded']);

/** A case's status from its trace: the worst state of its deliveries. */
export function statusOf(trace: TraceEntry[]): { status: CaseStatus; targets: CaseRow['targets']; routes: string[] } {
  const targets = new Map<string, CaseRow['targets'][number]>();
  const routes = new Set<string>();
  let echo = false;
  for (const e of trace) {
    if (String(e.stage) === 'echo') echo = true;
    if (e.route) routes.add(e.route);
    if (!e.deliveryId || !e.route || !e.target || !DELIVERY_STAGES.has(e.stage)) continue;
    targets.set(e.deliveryId, { route: e.route, target: e.target, connection: e.connection ?? targets.get(e.deliveryId)?.connection, stage: e.stage });
  }
  const stages = [...targets.values()].map((t) => t.stage);
  const status: CaseStatus = echo
    ? 'echo'
    : stages.includes('dead')
      ? 'dead'
      : stages.some((s) => s === 'retrying' || s === 'failed')
        ? 'failed'
        : stages.some((s) => s === 'routed' || s === 'replayed')
          ? 'in-flight'
          : stages.includes('discarded')
            ? 'discarded'
            : stages.length
              ? 'delivered'
              : 'filtered';
  return { status, targets: [...targets.values()], routes: [...routes] };
}

function matches(row: CaseRow, f: CaseFilter): boolean {
  if (f.status && row.status !== f.status) return false;
  if (f.route && !row.routes.includes(f.route)) return false;
  if (f.origin && row.origin !== f.origin) return false;
  if (f.connection && row.connection !== f.connection && !row.targets.some((t) => t.connection === f.connection)) return false;
  return true;
}

function daysBetween(from: string, to: string): string[] {
  const out: string[] = [];
  for (let t = Date.parse(`${to}T00:00:00Z`); t >= Date.parse(`${from}T00:00:00Z`) && out.length < 400; t -= 86400000) out.push(dayOf(new Date(t)));
  return out;
}

export function defaultRange(days = 7, now = new Date()): { from: string; to: string } {
  return { from: dayOf(new Date(now.getTime() - (days - 1) * 86400000)), to: dayOf(now) };
}

export async function caseHistory(hub: Hub, filter: CaseFilter): Promise<CaseHistory> {
  const rt = hub.runtime;
  const want = filter.page * filter.size + 1;
  const found: CaseRow[] = [];
  const seen = new Set<string>();
  let examined = 0;
  let truncated = false;
  const fromMs = Date.parse(`${filter.from}T00:00:00Z`);
  const toMs = Date.parse(`${filter.to}T23:59:59.999Z`);
  outer: for (const day of daysBetween(filter.from, filter.to)) {
    for (let offset = 0; ; offset += CHUNK) {
      const indexed = await readCaseIndex(rt.redis, rt.keys, day, fromMs, toMs, offset, CHUNK);
      if (indexed.length === 0) break;
      // A case updated on a later day is listed there (newest first) and skipped here.
      const chunk = indexed.filter((c) => !seen.has(c.hubId));
      const pipe = rt.redis.pipeline();
      for (const c of chunk) {
        seen.add(c.hubId);
        pipe.hgetall(rt.keys.caseMeta(c.hubId));
        pipe.lrange(rt.keys.trace(c.hubId), 0, -1);
      }
      const results = (await pipe.exec()) ?? [];
      chunk.forEach((c, i) => {
        const meta = (results[i * 2]?.[1] ?? {}) as Record<string, string>;
        const rawTrace = results[i * 2 + 1]?.[1];
        const trace = Array.isArray(rawTrace) ? rawTrace.map((r) => JSON.parse(String(r)) as TraceEntry) : [];
        const row: CaseRow = { hubId: c.hubId, at: c.at, type: meta.type, origin: meta.sourceSystem, connection: meta.sourceConnection || undefined, ...statusOf(trace) };
        if (matches(row, filter)) found.push(row);
      });
      examined += chunk.length;
      if (found.length >= want) break outer;
      if (examined >= SCAN_LIMIT) {
        truncated = true;
        break outer;
      }
      if (indexed.length < CHUNK) break;
    }
  }
  const start = (filter.page - 1) * filter.size;
  return { filter, rows: found.slice(start, start + filter.size), hasMore: found.length > start + filter.size, truncated };
}
