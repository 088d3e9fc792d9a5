/**
 * bull-board for every Caseway queue at /ops/queues, behind the ops sign-in.
 * Viewers get a read-only board. Operators get a board without job retries and may only pause, resume, promote
 * (run a delayed retry now) and clean completed jobs there, each written to the audit log; dead letters are
 * replayed and discarded through /ops so that every replay is audited per case and shows in its trace.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, Request } from 'express';
import type { Hub } from '../core/hub';
import { OpsAuth, requireUser, userOf } from './auth';
import { hubQueueNames } from './overview';

export const QUEUES_BASE = '/ops/queues';

/** Board actions an operator may take (paths relative to the board). Everything else that changes state is refused. */
const OPERATOR_ACTIONS = [
  /^\/api\/queues\/(pause|resume)$/,
  /^\/api\/queues\/[^/]+\/(pause|resume|promote)$/,
  /^\/api\/queues\/[^/]+\/clean\/completed$/,
  /^\/api\/queues\/[^/]+\/[^/]+\/promote$/,
];

export function allowedBoardAction(path: string): boolean {
  return OPERATOR_ACTIONS.some((re) => re.test(path));
}

function board(hub: Hub, readOnly: boolean) {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUES_BASE);
  createBullBoard({
    queues: hubQueueNames(hub).map(
      (name) =>
        new BullMQAdapter(hub.runtime.queues.get(name), {
          readOnlyMode: readOnly,
          allowRetries: false,
          description: name.startsWith('deliver.') ? `Deliveries to connection ${name.slice(8)}; failed jobs are the dead letters (replay them in /ops)` : 'Scheduled polls of the poll sources',
        }),
    ),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Caseway queues', miscLinks: [{ text: 'Caseway overview', url: '/ops' }], hideDocsLink: true } },
  });
  return serverAdapter.getRouter();
}

async function audit(hub: Hub, user: string, detail: string): Promise<void> {
  const rt = hub.runtime;
  const entry = { at: new Date().toISOString(), action: 'queues', by: `ops:${user}`, detail };
  await rt.redis.multi().lpush(rt.keys.audit(), JSON.stringify(entry)).ltrim(rt.keys.audit(), 0, 9999).exec();
}

export function mountQueueBoard(app: Express, hub: Hub, auth: OpsAuth): void {
  const operatorBoard = board(hub, false);
  const viewerBoard = board(hub, true);
  const needUser = (req: Request) => requireUser(auth, req.path.startsWith('/api/') ? 'api' : 'page');
  app.use(
    QUEUES_BASE,
    (req, res, next) => needUser(req)(req, res, next),
    async (req, res, next) => {
      const user = userOf(res);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        if (user.role !== 'operator') return void res.status(403).json({ error: 'The queue dashboard is read-only for viewers' });
        if (!auth.originOrCsrfOk(req, user)) return void res.status(403).json({ error: 'Refused: no proof this came from the dashboard (same-origin Origin header or X-CSRF-Token)' });
        if (!allowedBoardAction(req.path)) return void res.status(403).json({ error: 'Not available here: replay and discard dead letters in /ops (audited per case)' });
        const detail = `${req.method} ${req.path}`;
        res.on('finish', () => {
          if (res.statusCode < 400) audit(hub, user.name, detail).catch((err: unknown) => hub.log.warn({ error: String(err) }, 'ops audit write failed'));
        });
      }
      if (req.method === 'GET' && !req.path.startsWith('/api/') && !req.path.startsWith('/static/')) {
        // The board's page links a web font from a third party; the CSP would block it, so it is left out
        // (no request to another origin, and no console error).
        const send = res.send.bind(res);
        res.send = (body?: unknown) => send(typeof body === 'string' ? body.replace(/<link[^>]+\/\/fonts\.(googleapis|gstatic)\.com[^>]*>/g, '') : body);
      }
      (user.role === 'operator' ? operatorBoard : viewerBoard)(req, res, next);
    },
  );
}
