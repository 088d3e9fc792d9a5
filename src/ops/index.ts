/**
 * HTTP plugins of the operations layer. The CLI registers them all with `plugins: opsPlugins(metrics)`:
 * - /metrics (Prometheus), with gauges read from Redis at scrape time;
 * - /ops (console: overview, reconciliation, cases, dead letters with dry run / replay / discard, audit),
 *   /ops/api/* (the same as JSON) and /ops/queues (bull-board), behind the ops sign-in;
 * - /openapi.json and /docs.
 */
import type { Express } from 'express';
import type { Hub } from '../core/hub';
import type { HttpPlugin } from '../http/plugin';
import { apiDocsPlugin } from './api-docs';
import { EndpointRegistry, opsConsolePlugin } from './console';
import type { PrometheusMetrics } from './metrics';

export function metricsPlugin(metrics: PrometheusMetrics, registry?: EndpointRegistry): HttpPlugin {
  return (app: Express, hub: Hub) => {
    metrics.observe(hub);
    registry?.add({
      method: 'get',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics: jobs by queue and state, deliveries, latency, peer statuses, poller lag, dead letters, circuits, reconciliation, process',
      tags: ['Metrics'],
      responses: { 200: { description: 'Prometheus text format', content: { 'text/plain': { type: 'string' } } } },
    });
    app.get('/metrics', async (_req, res) => {
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.send(await metrics.render());
    });
  };
}

/** Every ops plugin, sharing one endpoint registry so /openapi.json documents them all. */
export function opsPlugins(metrics: PrometheusMetrics): HttpPlugin[] {
  const registry = new EndpointRegistry();
  return [metricsPlugin(metrics, registry), opsConsolePlugin(registry), apiDocsPlugin(registry)];
}
