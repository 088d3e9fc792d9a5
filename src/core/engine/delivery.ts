/**
 * Delivery: one BullMQ worker per target connection. A job names a stored case, a route and a target; the worker
 * applies the route's mapping to the case and calls the adapter's action. Success records the peer's new
 * cross-references and a delivery record (checked first, so a job re-run after a crash does not deliver twice).
 * Permanent errors skip the remaining attempts; the failed set is the dead-letter queue.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { CasewayError, PermanentError, isRetryable, safeMessage } from '../errors';
import type { CrossReference } from '../model/canonical.generated';
import { DEFAULT_DELIVERY, deliveryQueueName, workerTakeover, type DeliveryJobData } from '../queues';
import { applyMapping } from '../routing/mapping';
import { withLogContext } from '../logger';
import { findRoute, findTarget, type ConnectionRuntime, type HubRuntime } from '../runtime';

export interface DeliveryOutcome {
  status: 'delivered' | 'skipped';
  references?: CrossReference[];
}

function errorRecord(err: unknown): Record<string, unknown> {
  if (err instanceof CasewayError) return err.toJSON();
  return { name: err instanceof Error ? err.name : 'Error', message: safeMessage(err), retryable: true };
}

export class DeliveryProcessor {
  constructor(private readonly rt: HubRuntime, private readonly conn: ConnectionRuntime) {}

  async process(job: Job<DeliveryJobData>): Promise<DeliveryOutcome> {
    const { hubId, payloadRef, route: routeName, target: targetId, day } = job.data;
    const deliveryId = job.id ?? '';
    const started = Date.now();
    const attempt = job.attemptsMade + 1;
    const route = findRoute(this.rt, routeName);
    const target = route ? findTarget(route, targetId) : undefined;
    const base = { route: routeName, target: targetId, connection: this.conn.name, action: job.name, deliveryId, attempt };
    try {
      if (!route || !target) throw new PermanentError(`route "${routeName}" target "${targetId}" is no longer configured`, { route: routeName, hubId });
      const { delivered: already, kase, references } = await this.rt.cases.forDelivery(this.rt.keys.delivered(deliveryId), payloadRef, hubId);
      if (already) {
        await this.rt.traces.record(hubId, { at: new Date().toISOString(), stage: 'skipped', ...base, summary: { reason: 'already delivered' } });
        this.rt.metrics.delivery(routeName, this.conn.name, 'skipped', 0);
        return { status: 'skipped' };
      }
      if (!kase) throw new PermanentError('the stored case has expired or was removed', { route: routeName, hubId });
      const action = this.conn.adapter.actions[target.action];
      if (!action) throw new PermanentError(`adapter "${this.conn.adapter.name}" has no action "${target.action}"`, { route: routeName, hubId });
      const result = await action.deliver(
        {
          case: applyMapping(kase, target.mapping),
          hubId,
          action: target.action,
          options: target.options ?? {},
          route: routeName,
          deliveryId,
          attempt,
          references,
        },
        this.conn.ctx,
      );
      const refs = (result.references ?? []).map((r) => ({ ...r, connection: r.connection ?? this.conn.name }));
      const durationMs = Date.now() - started;
      const tx = this.rt.redis.multi();
      this.rt.cases.writeReferences(tx, hubId, refs);
      tx.set(this.rt.keys.delivered(deliveryId), JSON.stringify({ at: new Date().toISOString(), summary: result.summary ?? {} }), 'EX', this.rt.retentionSeconds);
      this.rt.traces.append(tx, hubId, { at: new Date().toISOString(), stage: 'delivered', ...base, durationMs, summary: result.summary });
      this.rt.stats.increment(tx, day, routeName, 'delivered');
      tx.hset(this.rt.keys.health(this.conn.name), 'lastSuccess', new Date().toISOString());
      await tx.exec();
      this.rt.metrics.delivery(routeName, this.conn.name, 'delivered', durationMs / 1000);
      return { status: 'delivered', references: refs };
    } catch (err) {
      await this.recordFailure(job, err, base, started);
      if (!isRetryable(err)) throw new UnrecoverableError(safeMessage(err));
      throw new Error(safeMessage(err));
    }
  }

  private async recordFailure(job: Job<DeliveryJobData>, err: unknown, base: Record<string, unknown> & { attempt: number }, started: number): Promise<void> {
    const { hubId, route, day } = job.data;
    const attempts = job.opts.attempts ?? DEFAULT_DELIVERY.attempts;
    const final = !isRetryable(err) || base.attempt >= attempts;
    const error = errorRecord(err);
    const now = new Date().toISOString();
    const tx = this.rt.redis.multi();
    this.rt.traces.append(tx, hubId, { at: now, stage: final ? 'dead' : 'retrying', ...base, durationMs: Date.now() - started, error });
    this.rt.stats.increment(tx, day, route, 'failedAttempts');
    if (final) this.rt.stats.increment(tx, day, route, 'dead');
    tx.hset(this.rt.keys.health(this.conn.name), { lastError: now, lastErrorMessage: safeMessage(err) });
    await tx.exec();
    this.rt.metrics.delivery(route, this.conn.name, final ? 'dead' : 'retrying', (Date.now() - started) / 1000);
    this.rt.log.warn({ hubId, route, deliveryId: job.id, connection: this.conn.name, attempt: base.attempt, final, error }, final ? 'delivery dead-lettered' : 'delivery failed, will retry');
    if (final && this.conn.adapter.onDeadLetter) {
      const info = { route, hubId, action: job.name, deliveryId: job.id ?? '', error: { message: safeMessage(err), code: String(error.code ?? 'ERROR'), retryable: isRetryable(err) } };
      await this.conn.adapter.onDeadLetter(info, this.conn.ctx).catch((hookErr: unknown) => {
        this.rt.log.error({ connection: this.conn.name, error: safeMessage(hookErr) }, 'dead-letter hook failed');
      });
    }
  }
}

export function startDeliveryWorker(rt: HubRuntime, conn: ConnectionRuntime): Worker<DeliveryJobData, DeliveryOutcome> {
  const processor = new DeliveryProcessor(rt, conn);
  const worker = new Worker<DeliveryJobData, DeliveryOutcome>(
    deliveryQueueName(conn.name),
    (job) => withLogContext({ hubId: job.data.hubId, deliveryId: job.id ?? '', route: job.data.route, target: job.data.target }, () => processor.process(job)),
    {
    connection: rt.workerRedis,
    prefix: rt.keys.queuePrefix,
    ...workerTakeover(rt.config),
    concurrency: conn.delivery.concurrency ?? DEFAULT_DELIVERY.concurrency,
    limiter: conn.delivery.rateLimit ? { max: conn.delivery.rateLimit.max, duration: conn.delivery.rateLimit.durationMs } : undefined,
    autorun: true,
    },
  );
  // Worker errors (Redis outages, mostly) go to the hub's connection watch: one line per state change.
  return worker;
}
