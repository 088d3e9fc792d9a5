/**
 * Reconciliation: per route and day, every case received is accounted for.
 *
 * Case level (counters of the stats store):  received = filtered + deduplicated + echo + routed
 * (an echo is a peer repeating what the hub delivered to it: recorded, never routed).
 * Delivery level (one delivery per routed case and target):
 *   deliveries = delivered + targetFiltered + discarded            (counters: terminal outcomes)
 *              + dead letters still open + deliveries in flight    (live: read from the delivery queues)
 * "In flight" covers waiting, active, delayed (a failed attempt waiting for its retry) and prioritised jobs.
 * Open dead letters are counted from the queues rather than from the `dead` counter, so a dead letter replayed
 * (and then delivered) stays balanced however it was replayed, while one that vanished without being discarded
 * through Caseway (e.g. removed by hand in Redis) shows up as a mismatch.
 *
 * Counters and queues are read at slightly different moments, so a delivery finishing in between looks like a gap
 * for a few milliseconds; a row is reported as a mismatch only if the gap is still there after a few re-reads.
 */
import type { Job } from 'bullmq';
import { deliveryQueueName, type DeliveryJobData } from '../core/queues';
import type { HubRuntime } from '../core/runtime';
import { dayOf, type RouteDayStats } from '../core/store/stats-store';

export type ReconciliationStatus = 'balanced' | 'in-flight' | 'mismatch' | 'unknown';

export interface ReconciliationRow {
  day: string;
  route: string;
  received: number;
  filtered: number;
  deduplicated: number;
  echo: number;
  routed: number;
  deliveries: number;
  delivered: number;
  targetFiltered: number;
  failedAttempts: number;
  discarded: number;
  replayed: number;
  /** Dead letters of this route and day still waiting for a replay or discard (live). */
  deadOpen: number;
  /** Deliveries not finished yet (live); `retrying` of them wait for a retry after a failed attempt. */
  inFlight: number;
  retrying: number;
  /** received - (filtered + deduplicated + echo + routed). */
  caseGap: number;
  /** deliveries - (delivered + targetFiltered + discarded + deadOpen + inFlight). */
  deliveryGap: number;
  status: ReconciliationStatus;
  lastActivity?: string;
}

export interface Reconciliation {
  checkedAt: string;
  days: string[];
  rows: ReconciliationRow[];
  /** False when a queue held more jobs than were scanned: live numbers are then partial and no row is judged. */
  complete: boolean;
}

interface LiveCounts {
  inFlight: number;
  retrying: number;
  deadOpen: number;
}

// No 'paused' since BullMQ 6: jobs of a paused queue stay in 'waiting'.
const IN_FLIGHT_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;
const SCAN_LIMIT = 20000;

/** Connections that receive deliveries (each has a delivery queue). */
export function targetConnections(rt: HubRuntime): string[] {
  return [...new Set(rt.config.routes.flatMap((r) => r.to.map((t) => t.connection)))].sort();
}

export function lastDays(count: number, now = new Date()): string[] {
  return Array.from({ length: count }, (_, i) => dayOf(new Date(now.getTime() - i * 86400000)));
}

async function scanQueues(rt: HubRuntime): Promise<{ live: Map<string, LiveCounts>; complete: boolean }> {
  const live = new Map<string, LiveCounts>();
  let complete = true;
  const bucket = (job: Job<DeliveryJobData> | undefined) => {
    if (!job?.data) return undefined;
    const key = `${job.data.route}|${job.data.day}`;
    let counts = live.get(key);
    if (!counts) live.set(key, (counts = { inFlight: 0, retrying: 0, deadOpen: 0 }));
    return counts;
  };
  for (const connection of targetConnections(rt)) {
    const queue = rt.queues.get(deliveryQueueName(connection));
    const counts = await queue.getJobCounts(...IN_FLIGHT_STATES, 'failed');
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (total > SCAN_LIMIT) complete = false;
    const [running, failed] = await Promise.all([
      queue.getJobs([...IN_FLIGHT_STATES], 0, SCAN_LIMIT - 1) as Promise<Array<Job<DeliveryJobData>>>,
      queue.getJobs(['failed'], 0, SCAN_LIMIT - 1) as Promise<Array<Job<DeliveryJobData>>>,
    ]);
    for (const job of running) {
      const c = bucket(job);
      if (!c) continue;
      c.inFlight += 1;
      if (job.attemptsMade > 0) c.retrying += 1;
    }
    for (const job of failed) {
      const c = bucket(job);
      if (c) c.deadOpen += 1;
    }
  }
  return { live, complete };
}

function judge(row: Omit<ReconciliationRow, 'status'>, complete: boolean): ReconciliationStatus {
  if (!complete) return 'unknown';
  if (row.caseGap !== 0 || row.deliveryGap !== 0) return 'mismatch';
  return row.inFlight > 0 ? 'in-flight' : 'balanced';
}

async function readOnce(rt: HubRuntime, days: string[]): Promise<Reconciliation> {
  const { live, complete } = await scanQueues(rt);
  const rows: ReconciliationRow[] = [];
  for (const day of days) {
    for (const route of rt.config.routes) {
      const s: RouteDayStats = await rt.stats.read(day, route.name);
      const l = live.get(`${route.name}|${day}`) ?? { inFlight: 0, retrying: 0, deadOpen: 0 };
      if (s.received === 0 && s.deliveries === 0 && l.inFlight === 0 && l.deadOpen === 0) continue;
      const base = {
        day,
        route: route.name,
        received: s.received,
        filtered: s.filtered,
        deduplicated: s.deduplicated,
        echo: s.echo,
        routed: s.routed,
        deliveries: s.deliveries,
        delivered: s.delivered,
        targetFiltered: s.targetFiltered,
        failedAttempts: s.failedAttempts,
        discarded: s.discarded,
        replayed: s.replayed,
        deadOpen: l.deadOpen,
        inFlight: l.inFlight,
        retrying: l.retrying,
        caseGap: s.received - (s.filtered + s.deduplicated + s.echo + s.routed),
        deliveryGap: s.deliveries - (s.delivered + s.targetFiltered + s.discarded + l.deadOpen + l.inFlight),
        lastActivity: s.lastActivity,
      };
      rows.push({ ...base, status: judge(base, complete) });
    }
  }
  return { checkedAt: new Date().toISOString(), days, rows, complete };
}

/** Reconciles the last `dayCount` days (today included) for every configured route. */
export async function reconcile(rt: HubRuntime, dayCount: number, opts: { retries?: number; pauseMs?: number } = {}): Promise<Reconciliation> {
  const days = lastDays(dayCount);
  const key = (r: ReconciliationRow) => `${r.route}|${r.day}`;
  const reads = [await readOnce(rt, days)];
  const mismatched = (read: Reconciliation) => new Set(read.rows.filter((r) => r.status === 'mismatch').map(key));
  let persistent = mismatched(reads[0]);
  for (let i = 0; i < (opts.retries ?? 3) && persistent.size > 0; i += 1) {
    await new Promise((r) => setTimeout(r, opts.pauseMs ?? 150));
    const again = await readOnce(rt, days);
    const bad = mismatched(again);
    persistent = new Set([...persistent].filter((k) => bad.has(k)));
    reads.push(again);
  }
  // A gap that closed in any read was a race between counters and queues: show that read's numbers.
  const last = reads[reads.length - 1];
  const rows = last.rows.map((row) => {
    if (row.status !== 'mismatch' || persistent.has(key(row))) return row;
    for (let i = reads.length - 1; i >= 0; i -= 1) {
      const settled = reads[i].rows.find((r) => key(r) === key(row) && r.status !== 'mismatch');
      if (settled) return settled;
    }
    return row;
  });
  return { ...last, rows };
}

/** Sum of the absolute gaps of a route over the rows (0 = everything accounted for). */
export function unaccounted(rows: ReconciliationRow[], route: string): number {
  return rows.filter((r) => r.route === route && r.status === 'mismatch').reduce((n, r) => n + Math.abs(r.caseGap) + Math.abs(r.deliveryGap), 0);
}
