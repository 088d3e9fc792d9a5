/**
 * The hub's HTTP API: health, readiness, case and trace lookup, dead letters, and the webhook endpoints of the
 * sources in use. Webhook routers are mounted before any body parser so each adapter controls its own parsing.
 */
import { randomUUID } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import type { Hub } from '../core/hub';
import type { HttpPlugin } from './plugin';
import { safeMessage } from '../core/errors';
import { withLogContext } from '../core/logger';
import { knownSystems } from '../core/runtime';
import { mergeRules } from '../core/store/merge';
import { dayOf } from '../core/store/stats-store';
import { apiInput } from '../ops/api-problems';
import { requireApiToken } from './auth';
import { readiness } from './readiness';
import { answerRetryableIntakeFailure, sendServiceUnavailable, trackWebhookResponse } from './retryable-intake';
import { isRedisUnavailable } from '../core/store/replies';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,100}$/;
/** Probes and pollers (Prometheus, load balancers, the queue dashboard) log at debug, everything else at info. */
const QUIET = /^\/(healthz|readyz|metrics|ops\/queues\/api\/|ops\/assets\/)/;

/** `api: false` (a worker process) serves only health, readiness and the plugins, not intake or the case API. */
export async function createHttpApp(hub: Hub, plugins: HttpPlugin[], role: { api: boolean } = { api: true }) {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  // Every route: nosniff, frame and referrer policies, HSTS, and a CSP that allows nothing (JSON needs nothing); the
  // hub's own pages (/ops, /docs) set their own same-origin-only CSP on top. Nothing comes from a CDN.
  app.use(helmet({ contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] } } }));
  // Answers under /api and /ops carry cases, traces and sessions: never kept by a browser or a proxy cache.
  app.use(['/api', '/ops'], (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use((req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', id);
    res.locals.requestId = id;
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      // The path without its query string: ids only, never personal data.
      const line = { requestId: id, method: req.method, path: req.originalUrl.split('?')[0].slice(0, 300), status: res.statusCode, durationMs: Number((process.hrtime.bigint() - started) / 1000n) / 1000, user: (res.locals.opsUser as { name?: string } | undefined)?.name };
      if (QUIET.test(line.path) && res.statusCode < 400) hub.log.debug(line, 'request');
      else hub.log.info(line, 'request');
    });
    withLogContext({ requestId: id }, next);
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const report = await readiness(hub);
    res.status(report.ready ? 200 : 503).json(report);
  });

  if (role.api) mountApi(app, hub);

  for (const plugin of plugins) await plugin(app, hub);

  app.use((_req, res) => {
    res.status(404).json({ error: 'Not Found' });
  });
  // Express needs the four-argument signature to recognise an error handler.
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    // Already answered (e.g. 503 for a retryable intake failure) before the handler failed.
    if (res.headersSent) return;
    const status = (err as { status?: number }).status;
    if (status && status >= 400 && status < 500) return void res.status(status).json({ error: (err as Error).message });
    // Redis unavailable (a failover, a restart): nothing was done, a retry may succeed; 503, never 500.
    if (isRedisUnavailable(err)) {
      hub.log.warn({ requestId: res.locals.requestId, path: req.path, error: safeMessage(err) }, 'request failed: Redis unavailable, answered 503');
      return void sendServiceUnavailable(res, err);
    }
    hub.log.error({ requestId: res.locals.requestId, path: req.path, error: safeMessage(err) }, 'request failed');
    res.status(500).json({ error: 'Internal Server Error' });
  });
  return app;
}

function mountApi(app: Express, hub: Hub): void {
  const webhooks = express.Router();
  // A retryable intake failure (Redis unreachable, a reply with an error, replicas not reached) is answered
  // 503 + Retry-After here, for every webhook adapter alike.
  webhooks.use(trackWebhookResponse);
  hub.mountWebhooks(webhooks, answerRetryableIntakeFailure);
  app.use(webhooks);

  // Case-sensitive, so `/API/cases/1` is not an alias of `/api/cases/1` (requireApiToken also treats it as /api).
  const api = express.Router({ caseSensitive: true });
  api.use(requireApiToken);
  api.use(express.json({ limit: '1mb' }));
  api.use(apiInput(hub));

  api.get('/api/cases/:id', async (req, res) => {
    const rt = hub.runtime;
    const hubId = await rt.cases.findHubId(String(req.params.id), knownSystems(rt));
    if (!hubId) return void res.status(404).json({ error: 'No case with that id' });
    const [references, meta] = await Promise.all([rt.cases.references(hubId), rt.cases.meta(hubId)]);
    const merged = await rt.views.merged(hubId, meta?.sourceConnection, references, mergeRules(hub.config.hub?.merge));
    // A case stored before views existed has no views: its latest payload is all there is.
    const kase = merged.case ?? (await rt.cases.latestCase(hubId));
    res.json({ hubId, meta, references, case: kase, views: merged.views, unavailableViews: merged.unavailable });
  });

  api.get('/api/cases/:id/views/:connection', async (req, res) => {
    const rt = hub.runtime;
    const hubId = await rt.cases.findHubId(String(req.params.id), knownSystems(rt));
    const view = hubId ? (await rt.views.read(hubId)).find((v) => v.connection === String(req.params.connection)) : undefined;
    if (!hubId || !view) return void res.status(404).json({ error: 'No such case, or no view of it from that connection' });
    res.json({ hubId, view });
  });

  api.get('/api/cases/:id/trace', async (req, res) => {
    const rt = hub.runtime;
    const hubId = await rt.cases.findHubId(String(req.params.id), knownSystems(rt));
    if (!hubId) return void res.status(404).json({ error: 'No case with that id' });
    // The trace first: a delivery writes its references and its 'delivered' entry in one transaction, so reading the
    // references after the trace means every delivery the trace shows has its references in the answer (read the
    // other way round, a delivery landing between the two reads showed as delivered with no peer id).
    const trace = await rt.traces.read(hubId);
    res.json({ hubId, references: await rt.cases.references(hubId), trace });
  });

  api.get('/api/routes', async (req, res) => {
    const day = typeof req.query.day === 'string' ? req.query.day : dayOf(new Date());
    const routes = await Promise.all(
      hub.config.routes.map(async (r) => ({
        name: r.name,
        from: r.from,
        to: r.to.map((t) => ({ id: t.id, connection: t.connection, action: t.action })),
        stats: await hub.runtime.stats.read(day, r.name),
      })),
    );
    res.json({ day, routes });
  });

  api.get('/api/dead-letters', async (req, res) => {
    const connection = typeof req.query.connection === 'string' ? req.query.connection : undefined;
    res.json({ deadLetters: await hub.deadLetters.list(connection) });
  });
  api.post('/api/dead-letters/:connection/:id/replay', async (req, res) => {
    const ok = await hub.deadLetters.replay(String(req.params.connection), String(req.params.id), 'api');
    res.status(ok ? 202 : 404).json(ok ? { replayed: req.params.id } : { error: 'No such dead letter' });
  });
  api.delete('/api/dead-letters/:connection/:id', async (req, res) => {
    const ok = await hub.deadLetters.discard(String(req.params.connection), String(req.params.id), 'api');
    res.status(ok ? 200 : 404).json(ok ? { discarded: req.params.id } : { error: 'No such dead letter' });
  });

  api.get('/api/sandboxes', (_req, res) => {
    res.json({ sandboxes: Object.fromEntries([...hub.sandboxes].map(([name, h]) => [name, h.urls])) });
  });
  app.use(api);
}
