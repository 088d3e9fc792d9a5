/**
 * bull-board for every Caseway queue at /ops/queues, behind the ops sign-in.
 * bull-board can only show all of its actions or none (per queue: readOnlyMode, allowRetries), and most of them
 * (clean all, delete, edit, retry) the hub does not allow there. So every role gets the read-only board and sees no
 * button the hub would refuse; the actions an operator may take on a queue (pause, resume, promote delayed jobs,
 * clean completed jobs) are offered on the overview (/ops/queue-actions, audited), and dead letters are replayed
 * and discarded through /ops so that every replay is audited per case and shows in its trace.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express, Request } from 'express';
import type { Hub } from '../core/hub';
import { OpsAuth, requireUser, userOf } from './auth';
import { hubQueueNames } from './overview';

export const QUEUES_BASE = '/ops/queues';

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
  const readOnlyBoard = board(hub, true);
  const needUser = (req: Request) => requireUser(auth, req.path.startsWith('/api/') ? 'api' : 'page');
  app.use(
    QUEUES_BASE,
    (req, res, next) => needUser(req)(req, res, next),
    async (req, res, next) => {
      const user = userOf(res);
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        return void res.status(403).json({
          error: user.role === 'operator' ? 'The queue dashboard is read-only: pause, resume, promote and clean queues on the overview (/ops); replay and discard dead letters in /ops/dead-letters' : 'The queue dashboard is read-only',
        });
      }
      if (req.method === 'GET' && !req.path.startsWith('/api/') && !req.path.startsWith('/static/')) {
        // The board's page links a web font from a third party; the CSP would block it, so it is left out
        // (no request to another origin, and no console error).
        const send = res.send.bind(res);
        res.send = (body?: unknown) => send(typeof body === 'string' ? body.replace(/<link[^>]+\/\/fonts\.(googleapis|gstatic)\.com[^>]*>/g, '') : body);
      }
      readOnlyBoard(req, res, next);
    },
  );
}
