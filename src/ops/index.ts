/** HTTP plugins of the operations layer. */
import type { HttpPlugin } from '../core/hub';
import type { PrometheusMetrics } from './metrics';

export function metricsPlugin(metrics: PrometheusMetrics): HttpPlugin {
  return (app) => {
    app.get('/metrics', async (_req, res) => {
      res.setHeader('Content-Type', metrics.registry.contentType);
      res.send(await metrics.registry.metrics());
    });
  };
}
