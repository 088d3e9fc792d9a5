/**
 * Poll sources run as BullMQ job schedulers on one shared queue, so however many worker processes run, each source
 * is polled on schedule by one of them at a time (a per-source lock also stops a slow poll overlapping the next).
 */
import { Worker, type Job } from 'bullmq';
import type { Emit, PollSourceDefinition } from '../adapter';
import { safeMessage } from '../errors';
import { POLL_QUEUE, workerTakeover, type PollJobData } from '../queues';
import { withLogContext } from '../logger';
import { connectionOf, type HubRuntime } from '../runtime';
import type { Intake } from './intake';

export interface PollSourceRef {
  connection: string;
  source: string;
  everyMs: number;
  options: Record<string, unknown>;
}

/**
 * The per-source poll lock's TTL. The lock is a lease (ConnectionState.lock): renewed while the poll runs, however long
 * that is, so this bounds only how long a poll whose process died (SIGKILL, a lost host) keeps the source from being
 * polled again. Before the lease it had to outlast every poll: max(60 s, 10 × the interval), 10 minutes for iSupport's
 * default minute, and a poll longer than that was joined by a second one.
 */
export const POLL_LOCK_TTL_MS = 60_000;

const schedulerId = (ref: { connection: string; source: string }) => `poll.${ref.connection}.${ref.source}`;

/** Every poll source that an enabled route reads from, with its interval and options. */
export function activePollSources(rt: HubRuntime): PollSourceRef[] {
  const out = new Map<string, PollSourceRef>();
  for (const route of rt.config.routes) {
    if (route.enabled === false) continue;
    const conn = connectionOf(rt, route.from.connection);
    const def = conn.adapter.sources[route.from.source];
    if (!def || def.kind !== 'poll') continue;
    const settings = conn.config.sources?.[route.from.source];
    if (settings?.enabled === false) continue;
    out.set(schedulerId(route.from), {
      connection: conn.name,
      source: route.from.source,
      everyMs: settings?.everyMs ?? def.defaultIntervalMs,
      options: settings?.options ?? {},
    });
  }
  return [...out.values()];
}

export async function schedulePolls(rt: HubRuntime): Promise<PollSourceRef[]> {
  const queue = rt.queues.get(POLL_QUEUE);
  const wanted = activePollSources(rt);
  const wantedIds = new Set(wanted.map(schedulerId));
  for (const existing of await queue.getJobSchedulers()) {
    if (existing.key && !wantedIds.has(existing.key)) await queue.removeJobScheduler(existing.key);
  }
  for (const ref of wanted) {
    await queue.upsertJobScheduler(schedulerId(ref), { every: ref.everyMs }, {
      name: 'poll',
      data: { connection: ref.connection, source: ref.source },
      opts: { removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
    });
  }
  return wanted;
}

export class PollRunner {
  constructor(private readonly rt: HubRuntime, private readonly intake: Intake) {}

  /** Runs one poll now (also used by tests and `caseway poll`). Returns how many events were emitted. */
  async run(connection: string, source: string): Promise<number> {
    const conn = connectionOf(this.rt, connection);
    const def = conn.adapter.sources[source];
    if (!def || def.kind !== 'poll') throw new Error(`connection "${connection}" has no poll source "${source}"`);
    const options = conn.config.sources?.[source]?.options ?? {};
    const release = await conn.ctx.state.lock(`poll:${source}`, POLL_LOCK_TTL_MS);
    if (!release) {
      this.rt.metrics.pollRun(connection, source, 'locked', 0);
      return 0;
    }
    let emitted = 0;
    const emit: Emit = async (events) => {
      const results = await this.intake.ingest(connection, source, events);
      emitted += results.filter((r) => !r.duplicate).length;
      return results;
    };
    try {
      const outcome = await (def as PollSourceDefinition<unknown>).poll(conn.ctx, emit, options);
      this.rt.metrics.pollRun(connection, source, 'ok', emitted, outcome ? outcome.lagSeconds : undefined);
      await this.rt.redis.hset(this.rt.keys.health(connection), `poll:${source}:lastRun`, new Date().toISOString());
      return emitted;
    } catch (err) {
      this.rt.metrics.pollRun(connection, source, 'error', emitted);
      await this.rt.redis.hset(this.rt.keys.health(connection), { lastError: new Date().toISOString(), lastErrorMessage: safeMessage(err) });
      throw err;
    } finally {
      await release();
    }
  }
}

export function startPollWorker(rt: HubRuntime, runner: PollRunner): Worker<PollJobData, number> {
  const worker = new Worker<PollJobData, number>(POLL_QUEUE, (job: Job<PollJobData>) => withLogContext({ poll: `${job.data.connection}.${job.data.source}` }, () => runner.run(job.data.connection, job.data.source)), {
    connection: rt.workerRedis,
    prefix: rt.keys.queuePrefix,
    ...workerTakeover(rt.config),
    concurrency: 4,
  });
  worker.on('failed', (job, err) => rt.log.warn({ connection: job?.data.connection, source: job?.data.source, error: safeMessage(err) }, 'poll failed'));
  // Worker errors (Redis outages, mostly) go to the hub's connection watch: one line per state change.
  return worker;
}
