/**
 * Prometheus metrics for the hub (prom-client). Counters and histograms are fed by the engine through HubMetrics
 * (in the process that does the work); gauges about shared state (queue jobs, dead letters, circuits,
 * reconciliation) are read from Redis when /metrics is scraped, so every api process reports the same values.
 */
import { hostname } from 'node:os';
import { AggregatorRegistry, Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { safeMessage } from '../core/errors';
import type { Hub } from '../core/hub';
import type { HubMetrics } from '../core/metrics';
import { CIRCUIT_STATES } from './circuit';
import { connectionsOverview, deadLetterList, queueCounts, type ConnectionOverview, type QueueOverview } from './overview';
import { reconcile, unaccounted, type Reconciliation } from './reconciliation';
import { opsSettings, type OpsSettings } from './settings';

/**
 * Which process a series came from: the host it runs on, its role (api, worker, start), the Caseway version and the
 * pid (which keeps `caseway start`'s delivery processes apart when their metrics are aggregated into the parent's).
 */
export interface ProcessIdentity {
  host: string;
  role: string;
  version: string;
  pid: string;
}

interface HubSnapshot {
  queues: QueueOverview[];
  deadLetters: Map<string, { connection: string; route: string; count: number }>;
  connections: ConnectionOverview[];
  reconciliation: Reconciliation;
}

export class PrometheusMetrics implements HubMetrics {
  readonly registry = new Registry();
  readonly casesRouted: Counter<'route' | 'outcome'>;
  readonly deliveries: Counter<'route' | 'connection' | 'outcome'>;
  readonly deliveryLatency: Histogram<'route' | 'connection'>;
  readonly peerResponses: Counter<'connection' | 'operation' | 'status'>;
  readonly peerLatency: Histogram<'connection'>;
  readonly pollRuns: Counter<'connection' | 'source' | 'outcome'>;
  readonly pollLag: Gauge<'connection' | 'source'>;

  readonly scrapeErrors: Counter;
  readonly processInfo: Gauge<'host' | 'role' | 'version' | 'pid'>;
  private observed?: { hub: Hub; settings: OpsSettings };
  private snapshotCache?: { at: number; value: Promise<HubSnapshot | null> };

  private readonly stateCacheMs: number;
  /** Other processes of this hub (`caseway start`'s delivery processes): their metrics, one array per process. */
  private readonly others: Array<() => Promise<object[][]>> = [];

  /**
   * `stateCacheMs`: how long one read of the Redis-backed gauges serves later scrapes (default 2000). `identity`: the
   * labels of caseway_process_info (default: this host, role "start", version "unknown", this pid).
   */
  constructor(options: { defaultMetrics?: boolean; stateCacheMs?: number; identity?: Partial<ProcessIdentity> } = {}) {
    this.stateCacheMs = options.stateCacheMs ?? 2000;
    // Node process metrics under their usual names (process_cpu_seconds_total, nodejs_heap_size_used_bytes ...).
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });
    const registers = [this.registry];
    this.casesRouted = new Counter({ name: 'caseway_cases_total', help: 'Cases that reached a route, by outcome (routed, filtered, deduplicated, echo)', labelNames: ['route', 'outcome'], registers });
    this.deliveries = new Counter({ name: 'caseway_deliveries_total', help: 'Delivery attempts by route, target connection and outcome (delivered, retrying, dead, skipped)', labelNames: ['route', 'connection', 'outcome'], registers });
    this.deliveryLatency = new Histogram({
      name: 'caseway_delivery_duration_seconds',
      help: 'Time one successful delivery took, peer call included',
      labelNames: ['route', 'connection'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.peerResponses = new Counter({ name: 'caseway_peer_responses_total', help: 'Exchanges with peer systems by connection, operation and HTTP status (or transport error code)', labelNames: ['connection', 'operation', 'status'], registers });
    this.peerLatency = new Histogram({ name: 'caseway_peer_request_duration_seconds', help: 'Peer request latency', labelNames: ['connection'], buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers });
    this.pollRuns = new Counter({ name: 'caseway_poll_runs_total', help: 'Poll source runs by outcome (ok, error, locked)', labelNames: ['connection', 'source', 'outcome'], registers });
    this.pollLag = new Gauge({ name: 'caseway_poller_lag_seconds', help: 'Age of the newest item a poll source has seen at its peer', labelNames: ['connection', 'source'], registers });
    // One info metric (value 1) rather than host/role labels on every series: Prometheus's own `instance` label
    // already tells processes apart; join on it (`* on(instance) group_left(host, role) caseway_process_info`)
    // to break any metric down by host or role, without multiplying the series of the others.
    this.processInfo = new Gauge({ name: 'caseway_process_info', help: 'This Caseway process: the host it runs on, its role (api, worker or start), the version and the pid; always 1', labelNames: ['host', 'role', 'version', 'pid'], registers });
    const identity = { host: hostname(), role: 'start', version: 'unknown', pid: String(process.pid), ...options.identity };
    this.processInfo.set({ host: identity.host, role: identity.role, version: identity.version, pid: identity.pid }, 1);
    this.scrapeErrors = new Counter({ name: 'caseway_metrics_scrape_errors_total', help: 'Scrapes whose Redis-backed gauges could not be read (they are then left out)', registers });
  }

  /**
   * This process supervises delivery processes: /metrics adds theirs (counters and histograms summed, by
   * prom-client's AggregatorRegistry), and shows how many there are and how often they were restarted.
   * Returns the function to call on each restart.
   */
  superviseWorkers(metrics: () => Promise<object[][]>, status: () => Array<{ state: string }>): () => void {
    this.others.push(metrics);
    const registers = [this.registry];
    new Gauge({
      name: 'caseway_worker_processes',
      help: 'Delivery processes of this caseway start, by state (starting, ready, restarting, stopping, stopped)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        for (const w of status()) this.inc({ state: w.state });
      },
    });
    const restarts = new Counter({ name: 'caseway_worker_process_restarts_total', help: 'Delivery processes restarted after they exited unexpectedly', registers });
    return () => restarts.inc();
  }

  /** The text /metrics serves: this process's metrics, with those of its delivery processes added in. */
  async render(): Promise<string> {
    if (!this.others.length) return this.registry.metrics();
    const own = await this.registry.getMetricsAsJSON();
    const others = (await Promise.all(this.others.map((source) => source()))).flat();
    return AggregatorRegistry.aggregate([own, ...others]).metrics();
  }

  /** Adds the gauges read from the hub's Redis at scrape time. Called once by the metrics plugin. */
  observe(hub: Hub, settings: OpsSettings = opsSettings(hub.config)): void {
    if (this.observed) return;
    this.observed = { hub, settings };
    const registers = [this.registry];
    const snapshot = () => this.snapshot();
    const gauge = <L extends string>(name: string, help: string, labelNames: L[], fill: (g: Gauge<L>, s: HubSnapshot) => void) =>
      new Gauge<L>({
        name,
        help,
        labelNames,
        registers,
        async collect() {
          const s = await snapshot();
          this.reset();
          if (s) fill(this, s);
        },
      });
    gauge('caseway_queue_jobs', 'Jobs in each Caseway queue by state', ['queue', 'state'], (g, s) => {
      for (const q of s.queues) for (const [state, n] of Object.entries(q.counts)) g.set({ queue: q.name, state }, n);
    });
    gauge('caseway_dead_letters', 'Open dead letters by target connection and route', ['connection', 'route'], (g, s) => {
      for (const d of s.deadLetters.values()) g.set({ connection: d.connection, route: d.route }, d.count);
    });
    gauge('caseway_connection_circuit_state', "A connection's circuit (1 for its current state): closed, open or half-open; informational", ['connection', 'state'], (g, s) => {
      for (const c of s.connections) if (c.circuit) for (const state of CIRCUIT_STATES) g.set({ connection: c.name, state }, c.circuit.state === state ? 1 : 0);
    });
    gauge('caseway_connection_consecutive_failures', 'Failed delivery attempts since the last success, per connection', ['connection'], (g, s) => {
      for (const c of s.connections) if (c.circuit) g.set({ connection: c.name }, c.circuit.consecutiveFailures);
    });
    gauge('caseway_connection_last_success_timestamp_seconds', 'Time of the last successful delivery to a connection', ['connection'], (g, s) => {
      for (const c of s.connections) if (c.lastSuccess) g.set({ connection: c.name }, Date.parse(c.lastSuccess) / 1000);
    });
    gauge('caseway_connection_last_error_timestamp_seconds', 'Time of the last failed delivery or poll of a connection', ['connection'], (g, s) => {
      for (const c of s.connections) if (c.lastError) g.set({ connection: c.name }, Date.parse(c.lastError) / 1000);
    });
    gauge('caseway_reconciliation_mismatch', 'Whether any checked day of a route does not balance (1) or all do (0)', ['route'], (g, s) => {
      for (const r of hub.config.routes) g.set({ route: r.name }, s.reconciliation.rows.some((row) => row.route === r.name && row.status === 'mismatch') ? 1 : 0);
    });
    gauge('caseway_reconciliation_unaccounted', 'Cases and deliveries of a route not accounted for over the checked days', ['route'], (g, s) => {
      for (const r of hub.config.routes) g.set({ route: r.name }, unaccounted(s.reconciliation.rows, r.name));
    });
    gauge('caseway_reconciliation_in_flight', 'Deliveries of a route not finished yet over the checked days', ['route'], (g, s) => {
      for (const r of hub.config.routes) g.set({ route: r.name }, s.reconciliation.rows.filter((row) => row.route === r.name).reduce((n, row) => n + row.inFlight, 0));
    });
  }

  /** One read of the shared state per scrape (all gauges share it). */
  private snapshot(): Promise<HubSnapshot | null> {
    const now = Date.now();
    if (this.snapshotCache && now - this.snapshotCache.at < this.stateCacheMs) return this.snapshotCache.value;
    const { hub, settings } = this.observed!;
    const value = (async (): Promise<HubSnapshot | null> => {
      try {
        const [queues, dead, connections, reconciliation] = await Promise.all([
          queueCounts(hub),
          deadLetterList(hub),
          connectionsOverview(hub, settings),
          reconcile(hub.runtime, settings.reconciliationDays, { retries: 2 }),
        ]);
        const deadLetters = new Map<string, { connection: string; route: string; count: number }>();
        for (const d of dead) {
          const key = `${d.connection}|${d.route}`;
          const entry = deadLetters.get(key) ?? { connection: d.connection, route: d.route, count: 0 };
          entry.count += 1;
          deadLetters.set(key, entry);
        }
        return { queues, deadLetters, connections, reconciliation };
      } catch (err) {
        this.scrapeErrors.inc();
        hub.log.warn({ error: safeMessage(err) }, 'metrics: reading the hub state failed');
        return null;
      }
    })();
    this.snapshotCache = { at: now, value };
    return value;
  }

  caseRouted(route: string, outcome: 'routed' | 'filtered' | 'deduplicated' | 'echo'): void {
    this.casesRouted.inc({ route, outcome });
  }

  delivery(route: string, connection: string, outcome: 'delivered' | 'retrying' | 'dead' | 'skipped', seconds: number): void {
    this.deliveries.inc({ route, connection, outcome });
    if (outcome === 'delivered') this.deliveryLatency.observe({ route, connection }, seconds);
  }

  peerResponse(connection: string, operation: string, status: number | string, seconds: number): void {
    this.peerResponses.inc({ connection, operation, status: String(status) });
    this.peerLatency.observe({ connection }, seconds);
  }

  pollRun(connection: string, source: string, outcome: 'ok' | 'error' | 'locked', _emitted: number, lagSeconds?: number): void {
    this.pollRuns.inc({ connection, source, outcome });
    if (lagSeconds !== undefined) this.pollLag.set({ connection, source }, lagSeconds);
  }
}
