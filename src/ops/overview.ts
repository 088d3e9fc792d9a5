/** What /ops shows, gathered from the stores and queues (no personal data: counters, ids, error messages). */
import type { Hub } from '../core/hub';
import type { DeadLetter } from '../core/engine/dead-letters';
import { DEFAULT_DELIVERY, POLL_QUEUE, deliveryQueueName } from '../core/queues';
import { knownSystems } from '../core/runtime';
import type { CrossReference } from '../core/model/canonical.generated';
import type { CaseMeta } from '../core/store/case-store';
import { STAT_FIELDS, type StatField } from '../core/store/stats-store';
import type { TraceEntry } from '../core/store/trace-store';
import { circuitState, type CircuitState } from './circuit';
import { lastDays, reconcile, targetConnections, unaccounted, type Reconciliation, type ReconciliationStatus } from './reconciliation';
import type { OpsSettings } from './settings';

export interface DayCounts {
  day: string;
  received: number;
  delivered: number;
  failed: number;
}

export interface RouteOverview {
  name: string;
  /** Per day of the period, oldest first: the route's chart. */
  daily: DayCounts[];
  description?: string;
  enabled: boolean;
  from: { connection: string; source: string };
  to: Array<{ id: string; connection: string; action: string }>;
  totals: Record<StatField, number>;
  deadLetters: number;
  inFlight: number;
  lastActivity?: string;
  reconciliation: { status: ReconciliationStatus; unaccounted: number; mismatchedDays: string[] };
}

export interface ConnectionOverview {
  name: string;
  adapter: string;
  lastSuccess?: string;
  lastError?: string;
  lastErrorMessage?: string;
  polls: Array<{ source: string; lastRun: string }>;
  circuit?: CircuitState;
  queue?: string;
  attempts: number;
}

export interface QueueOverview {
  name: string;
  counts: Record<string, number>;
  /** Jobs not yet done: waiting, prioritized, delayed and active. */
  backlog: number;
  /** When the oldest job still waiting was added. */
  oldestWaiting?: string;
  paused: boolean;
}

export interface DeadLetterGroup {
  route: string;
  error: string;
  count: number;
  connections: string[];
  newest?: string;
  items: DeadLetter[];
}

export interface OpsOverview {
  generatedAt: string;
  periodDays: number;
  days: string[];
  routes: RouteOverview[];
  connections: ConnectionOverview[];
  queues: QueueOverview[];
  deadLetters: { total: number; groups: DeadLetterGroup[] };
  reconciliation: Reconciliation;
}

/** BullMQ 6 has no `paused` job state: a paused queue's jobs count as waiting, and `paused` (isPaused) says the queue is paused. */
export const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

/** Every queue of the hub: one delivery queue per target connection, plus the poll queue. */
export function hubQueueNames(hub: Hub): string[] {
  return [...targetConnections(hub.runtime).map(deliveryQueueName), POLL_QUEUE];
}

export async function queueCounts(hub: Hub): Promise<QueueOverview[]> {
  return Promise.all(
    hubQueueNames(hub).map(async (name) => {
      const queue = hub.runtime.queues.get(name);
      const counts = (await queue.getJobCounts(...QUEUE_STATES)) as Record<string, number>;
      const [oldest] = counts.waiting ? await queue.getJobs(['waiting'], 0, 0, true) : [];
      const backlog = ['waiting', 'prioritized', 'delayed', 'active'].reduce((n, s) => n + (counts[s] ?? 0), 0);
      return { name, counts, backlog, oldestWaiting: oldest?.timestamp ? new Date(oldest.timestamp).toISOString() : undefined, paused: await queue.isPaused() };
    }),
  );
}

export async function connectionsOverview(hub: Hub, settings: OpsSettings): Promise<ConnectionOverview[]> {
  const rt = hub.runtime;
  const targets = new Set(targetConnections(rt));
  return Promise.all(
    [...rt.connections.values()].map(async (conn) => {
      const health = await rt.redis.hgetall(rt.keys.health(conn.name));
      const polls = Object.entries(health)
        .filter(([k]) => /^poll:.+:lastRun$/.test(k))
        .map(([k, v]) => ({ source: k.slice(5, -8), lastRun: v }));
      return {
        name: conn.name,
        adapter: conn.adapter.name,
        lastSuccess: health.lastSuccess,
        lastError: health.lastError,
        lastErrorMessage: health.lastErrorMessage,
        polls,
        circuit: targets.has(conn.name) ? await circuitState(rt, conn.name, settings.circuit) : undefined,
        queue: targets.has(conn.name) ? deliveryQueueName(conn.name) : undefined,
        attempts: conn.delivery.attempts ?? DEFAULT_DELIVERY.attempts,
      };
    }),
  );
}

export function groupDeadLetters(list: DeadLetter[]): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetterGroup>();
  for (const dl of list) {
    const key = `${dl.route}\u0000${dl.failedReason}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { route: dl.route, error: dl.failedReason, count: 0, connections: [], items: [] }));
    g.count += 1;
    if (!g.connections.includes(dl.connection)) g.connections.push(dl.connection);
    if (dl.failedAt && (!g.newest || dl.failedAt > g.newest)) g.newest = dl.failedAt;
    g.items.push(dl);
  }
  for (const g of groups.values()) g.items.sort((a, b) => (b.failedAt ?? '').localeCompare(a.failedAt ?? ''));
  return [...groups.values()].sort((a, b) => a.route.localeCompare(b.route) || b.count - a.count);
}

export async function deadLetterList(hub: Hub): Promise<DeadLetter[]> {
  const out: DeadLetter[] = [];
  for (const connection of targetConnections(hub.runtime)) out.push(...(await hub.deadLetters.list(connection)));
  return out;
}

export async function overview(hub: Hub, settings: OpsSettings, periodDays = 7): Promise<OpsOverview> {
  const rt = hub.runtime;
  const days = lastDays(periodDays);
  const [reconciliation, deadLetters, connections, queues] = await Promise.all([
    reconcile(rt, Math.max(settings.reconciliationDays, periodDays)),
    deadLetterList(hub),
    connectionsOverview(hub, settings),
    queueCounts(hub),
  ]);
  const routes: RouteOverview[] = [];
  for (const route of rt.config.routes) {
    const totals = Object.fromEntries(STAT_FIELDS.map((f) => [f, 0])) as Record<StatField, number>;
    let lastActivity: string | undefined;
    const daily: DayCounts[] = [];
    for (const day of days) {
      const s = await rt.stats.read(day, route.name);
      daily.unshift({ day, received: s.received, delivered: s.delivered, failed: s.failedAttempts });
      for (const f of STAT_FIELDS) totals[f] += s[f];
      if (s.lastActivity && (!lastActivity || s.lastActivity > lastActivity)) lastActivity = s.lastActivity;
    }
    const rows = reconciliation.rows.filter((r) => r.route === route.name);
    const status: ReconciliationStatus = !reconciliation.complete
      ? 'unknown'
      : rows.some((r) => r.status === 'mismatch')
        ? 'mismatch'
        : rows.some((r) => r.status === 'in-flight')
          ? 'in-flight'
          : 'balanced';
    routes.push({
      name: route.name,
      daily,
      description: route.description,
      enabled: route.enabled !== false,
      from: route.from,
      to: route.to.map((t) => ({ id: t.id, connection: t.connection, action: t.action })),
      totals,
      deadLetters: deadLetters.filter((d) => d.route === route.name).length,
      inFlight: rows.filter((r) => days.includes(r.day)).reduce((n, r) => n + r.inFlight, 0),
      lastActivity,
      reconciliation: { status, unaccounted: unaccounted(rows, route.name), mismatchedDays: rows.filter((r) => r.status === 'mismatch').map((r) => r.day) },
    });
  }
  return {
    generatedAt: new Date().toISOString(),
    periodDays,
    days,
    routes,
    connections,
    queues,
    deadLetters: { total: deadLetters.length, groups: groupDeadLetters(deadLetters) },
    reconciliation,
  };
}

/** Finds a case by any id: hub id, or any peer system's id (every system of the config and every installed adapter). */
export async function findCase(hub: Hub, query: string): Promise<string | null> {
  const rt = hub.runtime;
  const id = query.trim();
  if (!id) return null;
  const systems = [...new Set([...knownSystems(rt), ...hub.options.registry.names()])];
  const found = await rt.cases.findHubId(id, systems);
  if (found) return found;
  // "system:id" narrows the search to one system (and lets an id that contains a colon be found too).
  const m = /^([a-z0-9-]+):(.+)$/.exec(id);
  return m ? rt.cases.findHubId(m[2], [m[1]]) : null;
}

export interface TargetState {
  route: string;
  target: string;
  connection?: string;
  deliveryId?: string;
  stage: string;
  at: string;
}

export interface CaseTimeline {
  hubId: string;
  meta: CaseMeta | null;
  references: CrossReference[];
  trace: TraceEntry[];
  targets: TargetState[];
}

export async function caseTimeline(hub: Hub, hubId: string): Promise<CaseTimeline | null> {
  const rt = hub.runtime;
  const [meta, references, trace] = await Promise.all([rt.cases.meta(hubId), rt.cases.references(hubId), rt.traces.read(hubId)]);
  if (!meta && trace.length === 0) return null;
  const targets = new Map<string, TargetState>();
  for (const e of trace) {
    if (!e.route || !e.target) continue;
    const key = `${e.route}|${e.target}|${e.deliveryId ?? ''}`;
    targets.set(key, { route: e.route, target: e.target, connection: e.connection ?? targets.get(key)?.connection, deliveryId: e.deliveryId, stage: e.stage, at: e.at });
  }
  return { hubId, meta, references, trace, targets: [...targets.values()] };
}
