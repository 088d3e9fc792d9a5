/**
 * The ops console: /ops (overview, reconciliation, case search and timeline, dead letters with dry run, replay and
 * discard, audit log), its JSON twins under /ops/api, sign-in, and the BullMQ dashboard at /ops/queues.
 * Every route is declared with an EndpointSpec, which validates its input and documents it in /openapi.json.
 */
import { randomBytes } from 'node:crypto';
import express, { type Express, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Hub } from '../core/hub';
import { safeMessage } from '../core/errors';
import { OPS_CSS, OPS_JS } from './assets';
import { htmlPage, inputOf, json, validated, type EndpointSpec, type JsonSchema, type SecurityName } from './api-spec';
import { LOGIN_COOKIE, OpsAuth, SESSION_COOKIE, clientAddress, crossSite, parseCookies, requireUser, safeNext, userOf, type OpsUser } from './auth';
import { caseViewPanels } from './case-views';
import { dryRun } from './dry-run';
import { raw } from './html';
import { caseTimeline, deadLetterList, findCase, hubQueueNames, overview } from './overview';
import { QUEUE_ACTIONS, mountQueueBoard, queueAction } from './queue-board';
import { reconcile } from './reconciliation';
import { opsSettings } from './settings';
import { CASE_STATUSES, caseHistory, defaultRange } from './case-history';
import { bulkAction, describeFilter, errorOf, matches, queryDeadLetters, type DeadLetterFilter } from './dead-letter-query';
import { casesPage, deadLettersPage } from './list-pages';
import { overviewPage } from './overview-page';
import { targetConnections } from './reconciliation';
import { dayOf } from '../core/store/stats-store';
import { auditPage, casePage, peerErrorsPage, dryRunPage, layout, loginPage, messagePage, reconciliationPage, type PageContext } from './views';

/** Endpoint descriptions collected by the ops plugins, published by the API docs plugin. */
export class EndpointRegistry {
  readonly specs: EndpointSpec[] = [];
  add(spec: EndpointSpec): EndpointSpec {
    this.specs.push(spec);
    return spec;
  }
}

export const PAGE_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
/** bull-board's page sets a <base> and inline style attributes; scripts stay same-origin only. */
export const QUEUES_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'self'";

export function securityHeaders(csp: string): RequestHandler {
  return (_req, res, next) => {
    res.setHeader('Content-Security-Policy', csp);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('Referrer-Policy', 'same-origin');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
}

const OPS: SecurityName[] = ['opsSession', 'opsProxy'];
const days = (max: number, description: string): JsonSchema => ({ type: 'integer', minimum: 1, maximum: max, description });
const pathName = { type: 'string', pattern: '^[a-z][a-z0-9-]{0,62}$' };
const deliveryId = { type: 'string', minLength: 1, maxLength: 200 };
const csrf = { type: 'string', minLength: 1, maxLength: 200, description: 'The CSRF token of the session (in every form of the console).' };
const back = { type: 'string', maxLength: 500, description: 'Console page to return to.' };
const doneQuery = {
  done: { type: 'string', enum: ['replayed', 'discarded', 'gone'], description: 'Result of the action just taken (shown as a notice).' },
  count: { type: 'integer', minimum: 0 },
};
const redirect = { description: 'Done; back to the page given in `back`' };
const forbidden = { description: 'Viewer role, missing CSRF token, or a cross-site request', content: htmlPage };
const unauthorised = { description: 'Not signed in', content: json({ $ref: '#/components/schemas/Error' }) };

function notice(res: Response): PageContext['notice'] {
  const q = inputOf(res).query;
  const n = Number(q.count ?? 0);
  if (q.done === 'replayed') return { kind: 'ok', text: `Replayed ${n} dead letter${n === 1 ? '' : 's'}; ${n === 1 ? 'it is' : 'they are'} queued for delivery again.` };
  if (q.done === 'discarded') return { kind: 'ok', text: `Discarded ${n} dead letter${n === 1 ? '' : 's'}.` };
  if (q.done === 'gone') return { kind: 'bad', text: 'That dead letter no longer exists (already replayed or discarded).' };
  return undefined;
}

function withDone(back: string, done: string, count: number): string {
  const target = safeNext(back);
  return `${target}${target.includes('?') ? '&' : '?'}done=${done}&count=${count}`;
}

export function opsConsolePlugin(registry: EndpointRegistry) {
  return async (app: Express, hub: Hub): Promise<void> => {
    const settings = opsSettings(hub.config);
    const auth = new OpsAuth(hub, settings);
    const log = hub.log.child({ component: 'ops' });
    const form = express.urlencoded({ extended: false, limit: '20kb', parameterLimit: 50 });

    app.use('/ops', (req, res, next) => securityHeaders(req.originalUrl.startsWith('/ops/queues') ? QUEUES_CSP : PAGE_CSP)(req, res, next));
    // Whatever else each endpoint checks: no state change under /ops is started by another site.
    app.use('/ops', (req, res, next) => {
      if (['GET', 'HEAD', 'OPTIONS'].includes(req.method) || !crossSite(req)) return next();
      log.warn({ path: req.path }, 'ops request refused: cross-site');
      res.status(403).type('text/plain').send('Cross-site request refused');
    });

    const page = (res: Response, status: number, markup: string) => res.status(status).type('html').send(markup);
    const ctx = (res: Response, extra: Partial<PageContext> = {}): PageContext => ({ user: res.locals.opsUser as OpsUser | undefined, ...extra });

    const requireOperator: RequestHandler = (_req, res, next) => {
      if (userOf(res).role === 'operator') return next();
      page(res, 403, messagePage('Not allowed', 'Replaying and discarding dead letters need the operator role; your role is viewer.', ctx(res)));
    };
    const requireCsrf: RequestHandler = (req, res, next) => {
      if (auth.csrfOk(req, userOf(res))) return next();
      log.warn({ user: userOf(res).name, path: req.path }, 'ops request refused: missing or wrong CSRF token, or cross-site');
      page(res, 403, messagePage('Request refused', 'The form has expired or did not come from this console. Reload the page and try again.', ctx(res)));
    };

    /** Declares one endpoint: documents it and wires guards, body parsing and validation in front of the handler. */
    const route = (spec: EndpointSpec, handler: (req: Request, res: Response, next: NextFunction) => unknown) => {
      registry.add(spec);
      const guards: RequestHandler[] = [];
      if (spec.body?.contentType === 'application/x-www-form-urlencoded') guards.push(form);
      if (spec.security?.includes('opsSession')) {
        guards.push(requireUser(auth, spec.path.startsWith('/ops/api/') ? 'api' : 'page'));
        if (spec.operatorOnly) guards.push(requireOperator);
        if (spec.method !== 'get') guards.push(requireCsrf);
      }
      app[spec.method](spec.path, ...guards, validated(spec), handler);
    };

    // ---- assets and sign-in (public)
    route(
      { method: 'get', path: '/ops/assets/:file', operationId: 'opsAsset', summary: 'Stylesheet and script of the console', tags: ['Ops console'], params: { file: { type: 'string', enum: ['ops.css', 'ops.js'] } }, responses: { 200: { description: 'The file', content: { 'text/css': { type: 'string' }, 'text/javascript': { type: 'string' } } } } },
      (_req, res) => {
        const file = inputOf(res).params.file;
        res.setHeader('Cache-Control', 'public, max-age=300');
        res.type(file === 'ops.css' ? 'text/css' : 'text/javascript').send(file === 'ops.css' ? OPS_CSS : OPS_JS);
      },
    );

    const showLogin = (req: Request, res: Response, status: number, error?: string) => {
      const token = randomBytes(24).toString('base64url');
      res.append('Set-Cookie', `${LOGIN_COOKIE}=${token}; ${auth.cookieOptions(req, 3600, '/ops/login')}`);
      const next = safeNext(req.method === 'GET' ? req.query.next : (req.body as Record<string, unknown> | undefined)?.next);
      page(res, status, loginPage({ csrf: token, next, error, noUsers: settings.users.length === 0 }));
    };

    route(
      { method: 'get', path: '/ops/login', operationId: 'opsLoginPage', summary: 'Sign-in page (login mode)', tags: ['Ops console'], query: { properties: { next: back } }, responses: { 200: { description: 'The form', content: htmlPage }, 303: { description: 'Already signed in (or proxy mode)' } } },
      async (req, res) => {
        if (auth.mode === 'proxy' || (await auth.authenticate(req))) return void res.redirect(303, safeNext(req.query.next));
        showLogin(req, res, 200);
      },
    );

    route(
      {
        method: 'post', path: '/ops/login', operationId: 'opsLogin', summary: 'Sign in with a user name and password', tags: ['Ops console'], security: ['opsLoginForm'],
        description: 'Sets the session cookie (HttpOnly, SameSite=Strict). After five failed attempts for one user name from one client address, each further attempt from that address waits twice as long (1 s, 2 s, 4 s ... 15 min; 429 with Retry-After); other addresses are not affected.',
        body: { contentType: 'application/x-www-form-urlencoded', schema: { type: 'object', required: ['username', 'password', '_csrf'], properties: { username: { type: 'string', minLength: 1, maxLength: 64 }, password: { type: 'string', minLength: 1, maxLength: 200 }, _csrf: csrf, next: back } } },
        responses: { 303: { description: 'Signed in: redirect to `next`' }, 401: { description: 'Wrong user name or password', content: htmlPage }, 403: { description: 'Expired form or cross-site request', content: htmlPage }, 429: { description: 'Too many failed attempts', content: htmlPage } },
      },
      async (req, res) => {
        const body = inputOf(res).body as { username: string; password: string; _csrf: string; next?: string };
        if (auth.mode === 'proxy') return void res.redirect(303, '/ops');
        const expected = parseCookies(req.headers.cookie)[LOGIN_COOKIE];
        if (crossSite(req) || !expected || expected !== body._csrf) return showLogin(req, res, 403, 'The sign-in form expired. Please try again.');
        const result = await auth.login(body.username, body.password, clientAddress(req));
        if (!result.ok) {
          log.warn({ reason: result.reason, retryAfterSeconds: result.retryAfterSeconds }, 'ops sign-in refused');
          if (result.reason === 'invalid') return showLogin(req, res, 401, 'Wrong user name or password.');
          res.setHeader('Retry-After', String(result.retryAfterSeconds));
          return showLogin(req, res, 429, `Too many failed attempts for this user from your address. Try again in ${result.retryAfterSeconds} s.`);
        }
        log.info({ user: result.user.name, role: result.user.role }, 'ops sign-in');
        res.append('Set-Cookie', `${SESSION_COOKIE}=${result.token}; ${auth.cookieOptions(req, settings.session.ttlSeconds)}`);
        res.append('Set-Cookie', `${LOGIN_COOKIE}=; ${auth.cookieOptions(req, 0, '/ops/login')}`);
        res.redirect(303, safeNext(body.next));
      },
    );

    route(
      { method: 'post', path: '/ops/logout', operationId: 'opsLogout', summary: 'Sign out (ends the session in Redis)', tags: ['Ops console'], security: OPS, body: { contentType: 'application/x-www-form-urlencoded', schema: { type: 'object', required: ['_csrf'], properties: { _csrf: csrf } } }, responses: { 303: { description: 'Signed out' }, 401: unauthorised, 403: forbidden } },
      async (req, res) => {
        const user = userOf(res);
        await auth.logout(user);
        log.info({ user: user.name }, 'ops sign-out');
        res.append('Set-Cookie', `${SESSION_COOKIE}=; ${auth.cookieOptions(req, 0)}`);
        res.redirect(303, auth.mode === 'login' ? '/ops/login' : '/ops');
      },
    );

    // ---- pages
    route(
      { method: 'get', path: '/ops', operationId: 'opsOverview', summary: 'Overview: routes, queues, connections, dead letters', tags: ['Ops console'], security: OPS, query: { properties: { days: days(90, 'Period of the route counts (default 7).'), refresh: { type: 'integer', minimum: 2, maximum: 3600, description: 'Auto-refresh interval in seconds (default 30); paused while the operator types.' }, ...doneQuery } }, responses: { 200: { description: 'The page', content: htmlPage }, 303: { description: 'Not signed in: to the sign-in page' } } },
      async (_req, res) => {
        const q = inputOf(res).query;
        const data = await overview(hub, settings, Number(q.days ?? 7));
        page(res, 200, overviewPage(data, ctx(res, { notice: notice(res) }), q.refresh === undefined ? undefined : Number(q.refresh)));
      },
    );

    route(
      { method: 'get', path: '/ops/reconciliation', operationId: 'opsReconciliationPage', summary: 'Reconciliation per route and day', tags: ['Ops console'], security: OPS, query: { properties: { days: days(90, 'Days to check (default: ops.reconciliationDays, 7).') } }, responses: { 200: { description: 'The page', content: htmlPage } } },
      async (_req, res) => {
        const rec = await reconcile(hub.runtime, Number(inputOf(res).query.days ?? settings.reconciliationDays));
        page(res, 200, reconciliationPage(rec, ctx(res)));
      },
    );

    route(
      { method: 'get', path: '/ops/audit', operationId: 'opsAuditPage', summary: 'Audit log: who replayed, discarded or changed queues', tags: ['Ops console'], security: OPS, query: { properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } } }, responses: { 200: { description: 'The page', content: htmlPage } } },
      async (_req, res) => {
        page(res, 200, auditPage(await hub.deadLetters.auditLog(Number(inputOf(res).query.limit ?? 200)), ctx(res)));
      },
    );

    const caseFilters = {
      q: { type: 'string', minLength: 1, maxLength: 200, description: 'Any id of a case: goes straight to its timeline.' },
      route: pathName,
      connection: pathName,
      status: { type: 'string', enum: [...CASE_STATUSES] },
      origin: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$', description: 'The system the case came from (its adapter).' },
      from: { type: 'string', format: 'date', description: 'First UTC day (default: 6 days before `to`).' },
      to: { type: 'string', format: 'date', description: 'Last UTC day (default: today).' },
      page: { type: 'integer', minimum: 1, maximum: 1000 },
    };
    const choices = () => ({
      routes: hub.config.routes.map((r) => r.name),
      connections: [...hub.runtime.connections.keys()],
      origins: [...new Set([...hub.runtime.connections.values()].map((c) => c.adapter.name))],
    });
    const historyOf = async (q: Record<string, unknown>) => {
      const range = defaultRange(7);
      const to = typeof q.to === 'string' ? q.to : range.to;
      const from = typeof q.from === 'string' ? q.from : q.to ? dayOf(new Date(Date.parse(`${to}T00:00:00Z`) - 6 * 86400000)) : range.from;
      const status = CASE_STATUSES.find((s) => s === q.status);
      return caseHistory(hub, { route: q.route as string | undefined, connection: q.connection as string | undefined, status, origin: q.origin as string | undefined, from, to, page: Number(q.page ?? 1), size: 50 });
    };

    route(
      {
        method: 'get', path: '/ops/cases', operationId: 'opsCases', summary: 'Case history: recent cases with filters and paging, newest first; or find one case by any id (q)', tags: ['Ops console'], security: OPS,
        description: 'Backed by a per-day case index kept as long as traces. One query examines at most 5000 cases.',
        query: { properties: caseFilters }, responses: { 200: { description: 'The list', content: htmlPage }, 303: { description: 'q found a case: to /ops/cases/{hubId}' }, 404: { description: 'q matches no case', content: htmlPage } },
      },
      async (_req, res) => {
        const q = inputOf(res).query;
        if (q.q !== undefined) {
          const hubId = await findCase(hub, String(q.q));
          if (hubId) return void res.redirect(303, `/ops/cases/${encodeURIComponent(hubId)}`);
          return void page(res, 404, messagePage('No case found', 'No case has that id (the hub id or a peer system\'s id; system:id narrows the search). Cases are kept for the retention period only.', ctx(res)));
        }
        page(res, 200, casesPage(await historyOf(q), choices(), ctx(res)));
      },
    );

    const deadLetterFilters = {
      connection: pathName,
      route: pathName,
      code: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'Error code (e.g. PEER_VALIDATION) or HTTP status (e.g. 422).' },
      olderThanHours: { type: 'integer', minimum: 1, maximum: 8760, description: 'Only dead letters that failed at least this many hours ago.' },
      newerThanHours: { type: 'integer', minimum: 1, maximum: 8760, description: 'Only dead letters that failed within this many hours.' },
    };
    const filterOf = (q: Record<string, unknown>): DeadLetterFilter => ({
      connection: q.connection as string | undefined,
      route: q.route as string | undefined,
      code: q.code as string | undefined,
      olderThanHours: q.olderThanHours === undefined ? undefined : Number(q.olderThanHours),
      newerThanHours: q.newerThanHours === undefined ? undefined : Number(q.newerThanHours),
    });
    const unknownConnection = (f: DeadLetterFilter) => f.connection !== undefined && !hub.runtime.connections.has(f.connection);

    route(
      {
        method: 'get', path: '/ops/dead-letters', operationId: 'opsDeadLetters', summary: 'Dead letters with filters, paging (50 a page, newest first), error detail and bulk actions', tags: ['Ops console'], security: OPS,
        query: { properties: { ...deadLetterFilters, page: { type: 'integer', minimum: 1, maximum: 10000 }, ...doneQuery } }, responses: { 200: { description: 'The page', content: htmlPage }, 404: { description: 'No such connection', content: htmlPage } },
      },
      async (_req, res) => {
        const q = inputOf(res).query;
        const filter = filterOf(q);
        if (unknownConnection(filter)) return void page(res, 404, messagePage('No such connection', `The config has no connection "${filter.connection}".`, ctx(res)));
        const everything = await queryDeadLetters(hub, {});
        const now = Date.now();
        const all = everything.filter((d) => matches(d, filter, now));
        const size = 50;
        const pageNo = Number(q.page ?? 1);
        const codes = [...new Set(everything.flatMap((d) => [d.error.code, d.error.status ? String(d.error.status) : undefined]).filter((c): c is string => Boolean(c)))].sort();
        page(res, 200, deadLettersPage({ filter, page: pageNo, size, total: all.length, items: all.slice((pageNo - 1) * size, pageNo * size), choices: { routes: hub.config.routes.map((r) => r.name), connections: targetConnections(hub.runtime), codes } }, ctx(res, { notice: notice(res) })));
      },
    );

    route(
      { method: 'get', path: '/ops/cases/:hubId', operationId: 'opsCasePage', summary: "A case's references, delivery states and trace timeline", tags: ['Ops console'], security: OPS, params: { hubId: { type: 'string', minLength: 1, maxLength: 200 } }, query: { properties: doneQuery }, responses: { 200: { description: 'The page', content: htmlPage }, 404: { description: 'No such case', content: htmlPage } } },
      async (_req, res) => {
        const asked = String(inputOf(res).params.hubId);
        const hubId = (await findCase(hub, asked)) ?? asked;
        const timeline = await caseTimeline(hub, hubId);
        if (!timeline) return void page(res, 404, messagePage('No case found', 'No case has that id.', ctx(res)));
        const dead = (await deadLetterList(hub)).filter((d) => d.hubId === hubId).map((d) => ({ ...d, error: errorOf(timeline.trace, d.id) }));
        const views = await caseViewPanels(hub, hubId, timeline.meta?.sourceConnection, userOf(res).role !== 'operator');
        page(res, 200, casePage(timeline, dead, ctx(res, { notice: notice(res) }), views));
      },
    );

    route(
      { method: 'get', path: '/ops/cases/:hubId/peer-errors', operationId: 'opsPeerErrorsPage', summary: "The peers' own error texts of a case (decrypted; operators only; each viewing audited)", tags: ['Ops console'], security: OPS, operatorOnly: true, params: { hubId: { type: 'string', minLength: 1, maxLength: 200 } }, responses: { 200: { description: 'The page', content: htmlPage }, 403: forbidden, 404: { description: 'No such case', content: htmlPage } } },
      async (_req, res) => {
        const hubId = (await findCase(hub, String(inputOf(res).params.hubId))) ?? '';
        if (!hubId) return void page(res, 404, messagePage('No case found', 'No case has that id.', ctx(res)));
        const errors = await hub.runtime.cases.peerErrors(hubId);
        const rt = hub.runtime;
        await rt.redis.multi().lpush(rt.keys.audit(), JSON.stringify({ at: new Date().toISOString(), action: 'view-peer-errors', by: `ops:${userOf(res).name}`, hubId, detail: `${Object.keys(errors).length} error text(s)` })).ltrim(rt.keys.audit(), 0, 9999).exec();
        log.info({ user: userOf(res).name, hubId }, 'ops viewed peer error texts');
        page(res, 200, peerErrorsPage(hubId, errors, ctx(res)));
      },
    );

    route(
      {
        method: 'get', path: '/ops/dead-letters/:connection/:id/preview', operationId: 'opsDryRunPage', summary: 'Dry run: what the target would receive if this dead letter were replayed now', tags: ['Ops console'], security: OPS,
        description: 'Personal data is masked for viewers.',
        params: { connection: pathName, id: deliveryId }, responses: { 200: { description: 'The page', content: htmlPage }, 404: { description: 'No such dead letter', content: htmlPage } },
      },
      async (_req, res) => {
        const { connection, id } = inputOf(res).params as { connection: string; id: string };
        const result = await dryRun(hub, connection, id, userOf(res).role !== 'operator');
        if (!result) return void page(res, 404, messagePage('No such dead letter', 'It may have been replayed or discarded already.', ctx(res)));
        page(res, 200, dryRunPage(result, ctx(res)));
      },
    );

    // ---- actions (operator)
    const by = (res: Response) => `ops:${userOf(res).name}`;
    const actionBody = (extra: Record<string, JsonSchema> = {}) => ({ contentType: 'application/x-www-form-urlencoded' as const, schema: { type: 'object', required: ['_csrf'], properties: { _csrf: csrf, back, ...extra } } });

    route(
      { method: 'post', path: '/ops/dead-letters/:connection/:id/replay', operationId: 'opsReplay', summary: 'Replay one dead letter (audited with the user)', tags: ['Ops console'], security: OPS, operatorOnly: true, params: { connection: pathName, id: deliveryId }, body: actionBody(), responses: { 303: redirect, 401: unauthorised, 403: forbidden } },
      async (_req, res) => {
        const { params, body } = inputOf(res);
        const ok = await hub.deadLetters.replay(String(params.connection), String(params.id), by(res)).catch(() => false);
        log.info({ user: userOf(res).name, connection: params.connection, deliveryId: params.id, ok }, 'ops replay');
        res.redirect(303, ok ? withDone(String(body.back ?? '/ops'), 'replayed', 1) : withDone(String(body.back ?? '/ops'), 'gone', 0));
      },
    );

    route(
      { method: 'post', path: '/ops/dead-letters/:connection/:id/discard', operationId: 'opsDiscard', summary: 'Discard one dead letter (audited with the user)', tags: ['Ops console'], security: OPS, operatorOnly: true, params: { connection: pathName, id: deliveryId }, body: actionBody(), responses: { 303: redirect, 401: unauthorised, 403: forbidden } },
      async (_req, res) => {
        const { params, body } = inputOf(res);
        const ok = await hub.deadLetters.discard(String(params.connection), String(params.id), by(res)).catch(() => false);
        log.info({ user: userOf(res).name, connection: params.connection, deliveryId: params.id, ok }, 'ops discard');
        res.redirect(303, ok ? withDone(String(body.back ?? '/ops'), 'discarded', 1) : withDone(String(body.back ?? '/ops'), 'gone', 0));
      },
    );

    route(
      {
        method: 'post', path: '/ops/routes/:route/replay', operationId: 'opsReplayRoute', summary: "Replay every dead letter of a route (optionally only those with one error); each is audited", tags: ['Ops console'], security: OPS, operatorOnly: true,
        params: { route: pathName }, body: actionBody({ error: { type: 'string', maxLength: 2000, description: 'Only dead letters that failed with exactly this message.' } }), responses: { 303: redirect, 401: unauthorised, 403: forbidden },
      },
      async (_req, res) => {
        const { params, body } = inputOf(res);
        const list = (await deadLetterList(hub)).filter((d) => d.route === params.route && (body.error === undefined || d.failedReason === body.error));
        let replayed = 0;
        for (const dl of list) if (await hub.deadLetters.replay(dl.connection, dl.id, by(res)).catch(() => false)) replayed += 1;
        log.info({ user: userOf(res).name, route: params.route, replayed, of: list.length }, 'ops replay of a route');
        res.redirect(303, withDone(String(body.back ?? '/ops'), 'replayed', replayed));
      },
    );

    route(
      {
        method: 'post', path: '/ops/dead-letters/bulk', operationId: 'opsBulkDeadLetters', summary: 'Replay or discard every dead letter matching a filter (each audited, and the bulk action once)', tags: ['Ops console'], security: OPS, operatorOnly: true,
        description: '`expected` is the count the operator confirmed; if the matching set has changed since, nothing is done and the page says so.',
        body: actionBody({ action: { type: 'string', enum: ['replay', 'discard'] }, expected: { type: 'integer', minimum: 0 }, ...deadLetterFilters }),
        responses: { 303: redirect, 401: unauthorised, 403: forbidden, 404: { description: 'No such connection', content: htmlPage }, 409: { description: 'The matching set changed since it was confirmed', content: htmlPage } },
      },
      async (_req, res) => {
        const body = inputOf(res).body;
        const filter = filterOf(body);
        if (unknownConnection(filter)) return void page(res, 404, messagePage('No such connection', `The config has no connection "${filter.connection}".`, ctx(res)));
        const list = await queryDeadLetters(hub, filter);
        const action = body.action === 'discard' ? 'discard' : 'replay';
        const listUrl = `/ops/dead-letters?${new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== undefined).map(([k, v]): [string, string] => [k, String(v)])).toString()}`;
        if (body.expected !== undefined && Number(body.expected) !== list.length) {
          return void page(res, 409, messagePage('The dead letters changed', `You confirmed ${String(body.expected)} dead letters, but ${list.length} match now. Nothing was done: review the list and confirm again (${listUrl}).`, ctx(res)));
        }
        const result = await bulkAction(hub, action, list, by(res), filter);
        log.info({ user: userOf(res).name, action, filter: describeFilter(filter), done: result.done, of: result.matched }, 'ops bulk action on dead letters');
        res.redirect(303, withDone(listUrl, action === 'replay' ? 'replayed' : 'discarded', result.done));
      },
    );

    route(
      {
        method: 'post', path: '/ops/queue-actions/:queue/:action', operationId: 'opsQueueAction', summary: 'Pause, resume, promote delayed jobs of, or clean completed jobs from a queue (audited)', tags: ['Ops console'], security: OPS, operatorOnly: true,
        params: { queue: { type: 'string', pattern: '^[a-z][a-z0-9.-]{0,80}$' }, action: { type: 'string', enum: [...QUEUE_ACTIONS] } }, body: actionBody(),
        responses: { 303: redirect, 401: unauthorised, 403: forbidden, 404: { description: 'No such queue', content: htmlPage } },
      },
      async (_req, res) => {
        const { params, body } = inputOf(res);
        const queue = String(params.queue);
        if (!hubQueueNames(hub).includes(queue)) return void page(res, 404, messagePage('No such queue', `The hub has no queue "${queue}".`, ctx(res)));
        const action = QUEUE_ACTIONS.find((a) => a === params.action) ?? 'pause';
        await queueAction(hub, queue, action, userOf(res).name);
        log.info({ user: userOf(res).name, queue, action }, 'ops queue action');
        res.redirect(303, safeNext(body.back ?? '/ops'));
      },
    );

    // ---- JSON
    route(
      { method: 'get', path: '/ops/api/overview', operationId: 'opsOverviewJson', summary: 'The overview as JSON', tags: ['Ops API'], security: OPS, query: { properties: { days: days(90, 'Period of the route counts (default 7).') } }, responses: { 200: { description: 'Overview', content: json({ $ref: '#/components/schemas/OpsOverview' }) }, 401: unauthorised } },
      async (_req, res) => {
        res.json(await overview(hub, settings, Number(inputOf(res).query.days ?? 7)));
      },
    );
    route(
      { method: 'get', path: '/ops/api/reconciliation', operationId: 'opsReconciliationJson', summary: 'Reconciliation per route and day as JSON', tags: ['Ops API'], security: OPS, query: { properties: { days: days(90, 'Days to check.') } }, responses: { 200: { description: 'Reconciliation', content: json({ $ref: '#/components/schemas/Reconciliation' }) }, 401: unauthorised } },
      async (_req, res) => {
        res.json(await reconcile(hub.runtime, Number(inputOf(res).query.days ?? settings.reconciliationDays)));
      },
    );
    route(
      { method: 'get', path: '/ops/api/cases/:id', operationId: 'opsCaseJson', summary: "A case's timeline by any of its ids (no personal data)", tags: ['Ops API'], security: OPS, params: { id: { type: 'string', minLength: 1, maxLength: 200 } }, responses: { 200: { description: 'Timeline', content: json({ $ref: '#/components/schemas/CaseTimeline' }) }, 401: unauthorised, 404: { description: 'No such case', content: json({ $ref: '#/components/schemas/Error' }) } } },
      async (_req, res) => {
        const hubId = await findCase(hub, String(inputOf(res).params.id));
        const timeline = hubId ? await caseTimeline(hub, hubId) : null;
        if (!timeline) return void res.status(404).json({ error: 'No case with that id' });
        res.json(timeline);
      },
    );
    route(
      { method: 'get', path: '/ops/api/dead-letters/:connection/:id/dry-run', operationId: 'opsDryRunJson', summary: 'Dry run of a replay as JSON (personal data masked for viewers)', tags: ['Ops API'], security: OPS, params: { connection: pathName, id: deliveryId }, responses: { 200: { description: 'Dry run', content: json({ $ref: '#/components/schemas/DryRun' }) }, 401: unauthorised, 404: { description: 'No such dead letter', content: json({ $ref: '#/components/schemas/Error' }) } } },
      async (_req, res) => {
        const { connection, id } = inputOf(res).params as { connection: string; id: string };
        const result = await dryRun(hub, connection, id, userOf(res).role !== 'operator');
        if (!result) return void res.status(404).json({ error: 'No such dead letter' });
        res.json(result);
      },
    );

    route(
      { method: 'get', path: '/ops/api/cases', operationId: 'opsCasesJson', summary: 'Case history as JSON (same filters as /ops/cases)', tags: ['Ops API'], security: OPS, query: { properties: caseFilters }, responses: { 200: { description: 'A page of cases', content: json({ type: 'object' }) }, 400: { description: 'Invalid filter', content: json({ $ref: '#/components/schemas/Error' }) }, 401: unauthorised } },
      async (_req, res) => {
        res.json(await historyOf(inputOf(res).query));
      },
    );
    route(
      { method: 'get', path: '/ops/api/dead-letters', operationId: 'opsDeadLettersJson', summary: 'Dead letters with their error detail as JSON (same filters as /ops/dead-letters)', tags: ['Ops API'], security: OPS, query: { properties: deadLetterFilters }, responses: { 200: { description: 'Every matching dead letter, newest first', content: json({ type: 'array', items: { type: 'object' } }) }, 400: { description: 'Invalid filter', content: json({ $ref: '#/components/schemas/Error' }) }, 401: unauthorised, 404: { description: 'No such connection', content: json({ $ref: '#/components/schemas/Error' }) } } },
      async (_req, res) => {
        const filter = filterOf(inputOf(res).query);
        if (unknownConnection(filter)) return void res.status(404).json({ error: `No connection "${filter.connection}"` });
        res.json(await queryDeadLetters(hub, filter));
      },
    );

    // ---- queue dashboard
    registry.add({ method: 'get', path: '/ops/queues', operationId: 'opsQueues', summary: 'Queue dashboard (bull-board) for every Caseway queue', description: 'Its own JSON API lives under /ops/queues/api/ (same sign-in). Viewers get a read-only board. Operators may retry failed deliveries there (one job, or all failed jobs of a delivery queue: PUT /ops/queues/api/queues/{queue}/{jobId}/retry and /ops/queues/api/queues/{queue}/retry/failed), which the hub runs as its own replay, audited, and which need a same-origin request or the X-CSRF-Token header; every other write answers 403. Pause, resume, promote and clean queues on the overview (/ops/queue-actions, audited); discard dead letters in /ops/dead-letters.', tags: ['Ops console'], security: OPS, responses: { 200: { description: 'The dashboard', content: htmlPage }, 303: { description: 'Not signed in: to the sign-in page' } } });
    mountQueueBoard(app, hub, auth);

    // Errors inside the console render as a page, not JSON, and never with details.
    app.use('/ops', (err: unknown, req: Request, res: Response, next: NextFunction) => {
      if (res.headersSent) return next(err);
      const status = (err as { status?: number }).status;
      if (status && status >= 400 && status < 500) return void page(res, status, messagePage('Bad request', 'The request could not be read.', ctx(res)));
      log.error({ requestId: res.locals.requestId, path: req.path, error: safeMessage(err) }, 'ops page failed');
      page(res, 500, layout('Error', ctx(res), raw("<h1>Something went wrong</h1><p>The error was logged with this request's id (X-Request-Id).</p>")));
    });
  };
}
