/** Prometheus metrics for the hub (prom-client), implementing the core's HubMetrics, plus the /metrics endpoint. */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubMetrics } from '../core/metrics';

export class PrometheusMetrics implements HubMetrics {
  readonly registry = new Registry();
  readonly casesRouted: Counter<'route' | 'outcome'>;
  readonly deliveries: Counter<'route' | 'connection' | 'outcome'>;
  readonly deliveryLatency: Histogram<'route' | 'connection'>;
  readonly peerResponses: Counter<'connection' | 'operation' | 'status'>;
  readonly peerLatency: Histogram<'connection'>;
  readonly pollRuns: Counter<'connection' | 'source' | 'outcome'>;
  readonly pollLag: Gauge<'connection' | 'source'>;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: 'caseway_process_' });
    const registers = [this.registry];
    this.casesRouted = new Counter({ name: 'caseway_cases_total', help: 'Cases that reached a route, by outcome (routed, filtered, deduplicated)', labelNames: ['route', 'outcome'], registers });
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
  }

  caseRouted(route: string, outcome: 'routed' | 'filtered' | 'deduplicated'): void {
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
