/**
 * bull-board for every Caseway queue at /ops/queues, behind the ops sign-in, one board per role, so that the buttons
 * each role sees are the actions the server accepts from it.
 *
 * - Viewers: every queue in read-only mode (bull-board shows no action at all); every write answers 403.
 * - Operators: one action, retrying failed deliveries (a dead letter: one job, or "Retry all" of a delivery queue).
 *   The hub runs it as its own replay (DeadLetters.replay: the same job id, so delivery stays idempotent; attempts
 *   reset; a "replayed" hop in the case's trace; the reconciliation counts it), not as bull-board's bare job.retry(),
 *   and writes it to the audit log like the overview's actions. Nothing else: clean, delete, empty, obliterate, edit
 *   data, duplicate or add a job would lose or change cases behind the hub's back; pause, resume and promote are on
 *   the overview (/ops/queue-actions); discard is in /ops/dead-letters. Those answer 403 to every role.
 *
 * bull-board's options cannot say that alone: a queue is read-only (no buttons) or not (then every job card offers
 * duplicate, edit data and clean, and the queue offers clean all, empty, obliterate...); `allowRetries` only hides
 * Retry. So the operator's board is bull-board with `readOnlyMode: false, allowRetries: true, allowCompletedRetries:
 * false` on the delivery queues (the poll queue stays read-only), and its UI code is served with the other buttons
 * taken out (OPERATOR_UI_EDITS, checked against the pinned @bull-board/ui at start-up). If an edit no longer matches
 * (another bull-board version), operators get the read-only board and the hub logs why: never a button the server
 * refuses.
 *
 * Writes need the browser's same-origin proof (Sec-Fetch-Site / Origin) or the session's CSRF token in X-CSRF-Token,
 * on top of the console's cross-site refusal and the SameSite=Strict session cookie.
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import type { QueueAdapterOptions } from '@bull-board/api/typings/app';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, NextFunction, Request, Response } from 'express';
import type { Hub } from '../core/hub';
import { OpsAuth, requireUser, userOf, type OpsUser } from './auth';
import { bulkAction, queryDeadLetters } from './dead-letter-query';
import { hubQueueNames } from './overview';

export const QUEUES_BASE = '/ops/queues';
const DELIVERY_PREFIX = 'deliver.';

/** Queue actions an operator may take from the overview. */
export const QUEUE_ACTIONS = ['pause', 'resume', 'promote', 'clean-completed'] as const;
export type QueueAction = (typeof QUEUE_ACTIONS)[number];

/** Runs one queue action and writes it to the audit log. */
export async function queueAction(hub: Hub, queueName: string, action: QueueAction, user: string): Promise<number | undefined> {
  const queue = hub.runtime.queues.get(queueName);
  let count: number | undefined;
  if (action === 'pause') await queue.pause();
  else if (action === 'resume') await queue.resume();
  else if (action === 'promote') await queue.promoteJobs();
  else count = (await queue.clean(0, 10000, 'completed')).length;
  await audit(hub, user, `${action} ${queueName}${count === undefined ? '' : ` (${count} jobs)`}`);
  return count;
}

/**
 * What the operator's board UI must not offer, taken out of @bull-board/ui 9.10.1's code as served (by chunk file
 * name prefix). Each `find` must occur exactly once in its file.
 */
export const OPERATOR_UI_EDITS: ReadonlyArray<{ chunk: string; why: string; find: string; replace: string }> = [
  {
    chunk: '572.',
    why: 'job card: Retry on a failed job only (no duplicate, edit data, clean, promote, reschedule, reprioritise)',
    find: 'ed={[n.f.failed]:[ec.retry,ec.duplicate,ec.updateData,ec.clean],[n.f.delayed]:[ec.promote,ec.reschedule,ec.duplicate,ec.updateData,ec.clean],[n.f.completed]:[ec.duplicate,ec.retry,ec.clean],[n.f.waiting]:[ec.duplicate,ec.updateData,ec.clean],[n.f.waitingChildren]:[ec.removeChildren,ec.duplicate,ec.updateData,ec.clean],[n.f.prioritized]:[ec.reprioritise,ec.duplicate,ec.updateData,ec.clean],[n.f.paused]:[ec.duplicate,ec.updateData,ec.clean]}',
    replace: 'ed={[n.f.failed]:[ec.retry]}',
  },
  { chunk: '34.', why: 'queue page: no "Promote all"', find: '[n.f.delayed].includes(t)&&(0,r.jsx)("li",{children:(0,r.jsxs)(P.$,{onClick:a.promoteAll(', replace: '!1&&(0,r.jsx)("li",{children:(0,r.jsxs)(P.$,{onClick:a.promoteAll(' },
  { chunk: '34.', why: 'queue page: no "Clean all"', find: '[n.f.failed,n.f.delayed,n.f.completed].includes(t)&&(0,r.jsx)("li",{children:(0,r.jsxs)(P.$,{onClick:a.cleanAll(', replace: '!1&&(0,r.jsx)("li",{children:(0,r.jsxs)(P.$,{onClick:a.cleanAll(' },
  { chunk: '34.', why: 'queue page: no queue menu (add job, pause, concurrency, rate limit, empty, obliterate)', find: '!b.readOnlyMode&&(0,r.jsx)(R.K,{queue:b,', replace: '!1&&(0,r.jsx)(R.K,{queue:b,' },
  { chunk: '34.', why: 'queue page: no "release rate limit"', find: 'disabled:t.readOnlyMode,onClick:o.releaseQueueRateLimit', replace: 'disabled:!0,onClick:o.releaseQueueRateLimit' },
  { chunk: '276.', why: 'overview: no queue menu', find: '!s.readOnlyMode&&(0,l.jsx)(Y.K,{queue:s,', replace: '!1&&(0,l.jsx)(Y.K,{queue:s,' },
  { chunk: '276.', why: 'overview: no pause all, resume all, retry failed in all queues', find: 'u=a.every(e=>e.readOnlyMode)', replace: 'u=!0' },
  { chunk: '276.', why: 'overview: no group actions', find: 'n=(0,P.Oc)(s,{writableOnly:!0});if(!n.length)return null;', replace: 'n=[];if(!n.length)return null;' },
  { chunk: '276.', why: 'overview: no "release rate limit"', find: 'disabled:s.readOnlyMode,onClick:c.releaseQueueRateLimit', replace: 'disabled:!0,onClick:c.releaseQueueRateLimit' },
  { chunk: '108.', why: 'job schedulers: no actions', find: 'r=l?.readOnlyMode??!1', replace: 'r=!0' },
];

/** The operator board's edited UI chunks by request path (under /static/js/async/), or the reason they cannot be made. */
export function operatorUiChunks(uiDir = path.dirname(require.resolve('@bull-board/ui/package.json'))): { chunks: Map<string, string> } | { problem: string } {
  const dir = path.join(uiDir, 'dist/static/js/async');
  const chunks = new Map<string, string>();
  const files = readdirSync(dir).filter((f) => f.endsWith('.js'));
  for (const edit of OPERATOR_UI_EDITS) {
    const file = files.find((f) => f.startsWith(edit.chunk));
    if (!file) return { problem: `no bull-board UI chunk ${edit.chunk}*.js (${edit.why})` };
    const code = chunks.get(file) ?? readFileSync(path.join(dir, file), 'utf8');
    const at = code.indexOf(edit.find);
    if (at < 0 || code.indexOf(edit.find, at + 1) >= 0) return { problem: `bull-board UI chunk ${file}: the code to edit (${edit.why}) is not there exactly once` };
    chunks.set(file, code.slice(0, at) + edit.replace + code.slice(at + edit.find.length));
  }
  return { chunks: new Map([...chunks].map(([file, code]) => [`/static/js/async/${file}`, code])) };
}

function board(hub: Hub, role: OpsUser['role']) {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUES_BASE);
  createBullBoard({
    queues: hubQueueNames(hub).map((name) => {
      const delivery = name.startsWith(DELIVERY_PREFIX);
      // allowCompletedRetries is read by bull-board's base adapter (default: true) but missing from BullMQAdapter's
      // declared options, hence the typed variable.
      const options: Partial<QueueAdapterOptions> & { allowCompletedRetries: boolean } = {
        readOnlyMode: !(role === 'operator' && delivery),
        allowRetries: role === 'operator' && delivery,
        allowCompletedRetries: false,
        description: delivery
          ? `Deliveries to connection ${name.slice(DELIVERY_PREFIX.length)}; failed jobs are the dead letters${role === 'operator' ? ' (Retry replays one, audited; discard in /ops/dead-letters)' : ''}`
          : 'Scheduled polls of the poll sources',
      };
      return new BullMQAdapter(hub.runtime.queues.get(name), options);
    }),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Caseway queues', miscLinks: [{ text: 'Caseway overview', url: '/ops' }], hideDocsLink: true } },
  });
  return serverAdapter.getRouter() as (req: Request, res: Response, next: NextFunction) => void;
}

async function audit(hub: Hub, user: string, detail: string): Promise<void> {
  const rt = hub.runtime;
  const entry = { at: new Date().toISOString(), action: 'queues', by: `ops:${user}`, detail };
  await rt.redis.multi().lpush(rt.keys.audit(), JSON.stringify(entry)).ltrim(rt.keys.audit(), 0, 9999).exec();
}

/** The one write the operator's board may make: a retry of failed deliveries (one job, or all of a queue's). */
function allowedRetry(req: Request, queues: string[]): { queue: string; connection: string; jobId?: string } | undefined {
  if (req.method !== 'PUT') return undefined;
  const all = /^\/api\/queues\/([^/]+)\/retry\/failed$/.exec(req.path);
  const one = all ? undefined : /^\/api\/queues\/([^/]+)\/([^/]+)\/retry$/.exec(req.path);
  const m = all ?? one;
  if (!m) return undefined;
  const queue = decodeURIComponent(m[1]);
  if (!queue.startsWith(DELIVERY_PREFIX) || !queues.includes(queue)) return undefined;
  return { queue, connection: queue.slice(DELIVERY_PREFIX.length), jobId: one ? decodeURIComponent(one[2]) : undefined };
}

export function mountQueueBoard(app: Express, hub: Hub, auth: OpsAuth): void {
  const log = hub.log.child({ component: 'ops' });
  const viewerBoard = board(hub, 'viewer');
  const ui = operatorUiChunks();
  if ('problem' in ui) log.error({ problem: ui.problem }, 'queue dashboard: operators get the read-only board (its UI could not be limited to the actions the hub allows)');
  const operatorBoard = 'chunks' in ui ? board(hub, 'operator') : viewerBoard;
  const chunks = 'chunks' in ui ? ui.chunks : new Map<string, string>();
  const queues = hubQueueNames(hub);
  const needUser = (req: Request) => requireUser(auth, req.path.startsWith('/api/') ? 'api' : 'page');

  app.use(
    QUEUES_BASE,
    (req, res, next) => needUser(req)(req, res, next),
    async (req, res, next) => {
      const user = userOf(res);
      const operator = user.role === 'operator' && operatorBoard !== viewerBoard;
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        const retry = operator ? allowedRetry(req, queues) : undefined;
        if (!retry) {
          log.warn({ user: user.name, method: req.method, path: req.path }, 'queue dashboard write refused');
          return void res.status(403).json({
            error: user.role === 'operator'
              ? 'The queue dashboard only retries failed deliveries: pause, resume and promote queues on the overview (/ops); discard dead letters in /ops/dead-letters'
              : 'The queue dashboard is read-only for viewers',
          });
        }
        if (!auth.originOrCsrfOk(req, user)) {
          log.warn({ user: user.name, path: req.path }, 'queue dashboard write refused: no same-origin proof or CSRF token');
          return void res.status(403).json({ error: 'Request refused: not from this console' });
        }
        const by = `ops:${user.name}`;
        if (retry.jobId) {
          const ok = await hub.deadLetters.replay(retry.connection, retry.jobId, by).catch(() => false);
          if (!ok) return void res.status(404).json({ error: 'No such dead letter (already replayed or discarded?)' });
          await audit(hub, user.name, `retry ${retry.jobId} in ${retry.queue} (queue dashboard)`);
          log.info({ user: user.name, connection: retry.connection, deliveryId: retry.jobId }, 'ops replay from the queue dashboard');
          return void res.status(204).end();
        }
        const list = await queryDeadLetters(hub, { connection: retry.connection });
        const result = await bulkAction(hub, 'replay', list, by, { connection: retry.connection });
        await audit(hub, user.name, `retry all failed in ${retry.queue} (queue dashboard): ${result.done} of ${result.matched}`);
        log.info({ user: user.name, connection: retry.connection, done: result.done, of: result.matched }, 'ops replay of a queue from the queue dashboard');
        return void res.status(200).json({ retried: result.done, skipped: result.matched - result.done });
      }
      const edited = operator ? chunks.get(req.path) : undefined;
      if (edited !== undefined) return void res.type('text/javascript').send(edited);
      if (!req.path.startsWith('/api/') && !req.path.startsWith('/static/')) {
        // The board's page links a web font from a third party; the CSP would block it, so it is left out
        // (no request to another origin, and no console error).
        const send = res.send.bind(res);
        res.send = (body?: unknown) => send(typeof body === 'string' ? body.replace(/<link[^>]+\/\/fonts\.(googleapis|gstatic)\.com[^>]*>/g, '') : body);
      }
      (operator ? operatorBoard : viewerBoard)(req, res, next);
    },
  );
}
