/**
 * Dead letters at scale: every open dead letter with the error detail its trace recorded (code, HTTP status, the
 * peer's code, field paths and messages: never values), filtered and paged, newest first; and bulk replay or discard
 * of a filtered set, each item audited by DeadLetters and the bulk action itself audited once with its filter.
 * Used by the console (/ops/dead-letters) and the CLI (`caseway replay|discard`).
 */
import type { DeadLetter } from '../core/engine/dead-letters';
import type { Hub } from '../core/hub';
import { targetConnections } from './reconciliation';
import type { TraceEntry } from '../core/store/trace-store';

/** How many dead letters one query reads per connection (BullMQ's failed set, newest first). */
export const DEAD_LETTER_SCAN = 10000;

export interface DeadLetterError {
  code?: string;
  status?: number;
  peerCode?: string;
  retryable?: boolean;
  /** The hub's own message (the adapter's safe text, never the peer's words). */
  message?: string;
  /** Paths of the fields the peer named: never their values, nor the peer's words about them (those may echo personal data). */
  fields: string[];
  /** Error codes per field, where the peer gave codes. */
  fieldCodes: string[];
  /** The peer's own words about this failure are kept encrypted: operators may read them (audited). */
  hasPeerDetail: boolean;
}

export interface DeadLetterDetail extends DeadLetter {
  error: DeadLetterError;
}

export interface DeadLetterFilter {
  connection?: string;
  route?: string;
  /** The error code (e.g. PEER_VALIDATION) or the HTTP status as text (e.g. 422). */
  code?: string;
  /** Only dead letters that failed at least this many hours ago. */
  olderThanHours?: number;
  /** Only dead letters that failed at most this many hours ago. */
  newerThanHours?: number;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : undefined);

const strings = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string' && x !== '') : []);

/**
 * The safe error detail of one failed attempt as its trace entry recorded it (core/errors.ts safeDetail(): status,
 * codes, field paths, whether the peer's words were kept). Anything else in the record is ignored, so a trace written
 * by an older build that held the peer's per-field messages shows only their paths.
 */
export function safeErrorOf(e: Record<string, unknown> | undefined): DeadLetterError {
  const legacy = Array.isArray(e?.fieldErrors)
    ? e.fieldErrors.filter((f): f is Record<string, unknown> => typeof f === 'object' && f !== null).map((f) => String(f.path ?? f.field ?? f.column ?? Object.keys(f)[0] ?? '?'))
    : [];
  return {
    code: text(e?.code) ?? (e ? 'ERROR' : undefined),
    status: typeof e?.status === 'number' ? e.status : undefined,
    peerCode: text(e?.peerCode),
    retryable: typeof e?.retryable === 'boolean' ? e.retryable : undefined,
    message: text(e?.message),
    fields: [...strings(e?.fields), ...legacy],
    fieldCodes: strings(e?.fieldCodes),
    hasPeerDetail: e?.hasPeerDetail === true,
  };
}

/** The error detail of the last failure of one delivery, from the case's trace. */
export function errorOf(trace: TraceEntry[], deliveryId: string): DeadLetterError {
  const last = [...trace].reverse().find((e) => e.deliveryId === deliveryId && (e.stage === 'dead' || e.stage === 'retrying' || e.stage === 'failed') && e.error);
  return safeErrorOf(last?.error);
}

/** Adds the error detail to dead letters (one pipelined read of their traces). */
export async function withErrors(hub: Hub, list: DeadLetter[]): Promise<DeadLetterDetail[]> {
  const rt = hub.runtime;
  const hubIds = [...new Set(list.map((d) => d.hubId))];
  const pipe = rt.redis.pipeline();
  for (const id of hubIds) pipe.lrange(rt.keys.trace(id), 0, -1);
  const results = hubIds.length ? ((await pipe.exec()) ?? []) : [];
  const traces = new Map<string, TraceEntry[]>();
  hubIds.forEach((id, i) => {
    const raw = results[i]?.[1];
    traces.set(id, Array.isArray(raw) ? raw.map((r) => JSON.parse(String(r)) as TraceEntry) : []);
  });
  return list.map((d) => ({ ...d, error: errorOf(traces.get(d.hubId) ?? [], d.id) }));
}

export function matches(d: DeadLetterDetail, f: DeadLetterFilter, now = Date.now()): boolean {
  if (f.connection && d.connection !== f.connection) return false;
  if (f.route && d.route !== f.route) return false;
  if (f.code && d.error.code !== f.code && String(d.error.status ?? '') !== f.code && d.error.peerCode !== f.code) return false;
  const failed = d.failedAt ? Date.parse(d.failedAt) : now;
  if (f.olderThanHours !== undefined && now - failed < f.olderThanHours * 3600_000) return false;
  if (f.newerThanHours !== undefined && now - failed > f.newerThanHours * 3600_000) return false;
  return true;
}

/** Every open dead letter matching the filter, newest first. An unknown connection is an error the caller shows. */
export async function queryDeadLetters(hub: Hub, filter: DeadLetterFilter = {}): Promise<DeadLetterDetail[]> {
  const connections = filter.connection ? [filter.connection] : targetConnections(hub.runtime);
  const list: DeadLetter[] = [];
  for (const c of connections) list.push(...(await hub.deadLetters.list(c, DEAD_LETTER_SCAN)));
  const detailed = await withErrors(hub, list);
  const now = Date.now();
  return detailed.filter((d) => matches(d, filter, now)).sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? '') || a.id.localeCompare(b.id));
}

export interface BulkResult {
  action: 'replay' | 'discard';
  matched: number;
  done: number;
  ids: string[];
}

/** Replays or discards every dead letter of `list` (each audited by DeadLetters), then audits the bulk action once. */
export async function bulkAction(
  hub: Hub,
  action: 'replay' | 'discard',
  list: DeadLetter[],
  by: string,
  filter: DeadLetterFilter,
  onProgress?: (done: number, of: number) => void,
): Promise<BulkResult> {
  let done = 0;
  const ids: string[] = [];
  for (const [i, d] of list.entries()) {
    const ok = await (action === 'replay' ? hub.deadLetters.replay(d.connection, d.id, by) : hub.deadLetters.discard(d.connection, d.id, by)).catch(() => false);
    if (ok) {
      done += 1;
      ids.push(d.id);
    }
    onProgress?.(i + 1, list.length);
  }
  const rt = hub.runtime;
  const detail = `${action} ${done} of ${list.length} matching ${describeFilter(filter)}`;
  const entry = { at: new Date().toISOString(), action: `bulk-${action}`, by, connection: filter.connection, route: filter.route, detail };
  await rt.redis.multi().lpush(rt.keys.audit(), JSON.stringify(entry)).ltrim(rt.keys.audit(), 0, 9999).exec();
  return { action, matched: list.length, done, ids };
}

export function describeFilter(f: DeadLetterFilter): string {
  const parts = [
    f.connection && `connection=${f.connection}`,
    f.route && `route=${f.route}`,
    f.code && `code=${f.code}`,
    f.olderThanHours !== undefined && `older than ${f.olderThanHours} h`,
    f.newerThanHours !== undefined && `newer than ${f.newerThanHours} h`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'all';
}
