/**
 * Delivery: one BullMQ worker per target connection. A job names a stored case, a route and a target; the worker
 * applies the route's mapping to the case and calls the adapter's action. Success records the peer's new
 * cross-references and a delivery record (checked first, so a job re-run after a crash does not deliver twice).
 * Permanent errors skip the remaining attempts; the failed set is the dead-letter queue.
 */
import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { CasewayError, PermanentError, isRetryable, safeErrorDetail, safeMessage, sensitiveErrorDetail } from '../errors';
import type { CanonicalCase, CrossReference } from '../model/canonical.generated';
import { DEFAULT_DELIVERY, deliveryQueueName, workerTakeover, type DeliveryJobData } from '../queues';
import { applyMappingInPlace } from '../routing/mapping';
import { withLogContext } from '../logger';
import { snapshotFailedTarget } from '../store/failure-snapshot';
import { storeCall } from '../store/replies';
import { findRoute, findTarget, type ConnectionRuntime, type HubRuntime } from '../runtime';

export interface DeliveryOutcome {
  status: 'delivered' | 'skipped';
  references?: CrossReference[];
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
      if (!kase) throw this.missingCase(job, routeName, hubId);
      const action = this.conn.adapter.actions[target.action];
      if (!action) throw new PermanentError(`adapter "${this.conn.adapter.name}" has no action "${target.action}"`, { route: routeName, hubId });
      // The case was just decrypted for this job alone: the mapping rewrites it in place, no copy of the whole case.
      const sent = applyMappingInPlace(kase, target.mapping);
      // Recorded before the peer hears of it, so a poll racing this delivery still recognises the echo; the
      // attempt record goes in the same round trip, before the peer call.
      const earlier = await this.recordAttemptStart(deliveryId, hubId, sent);
      const result = await action.deliver(
        {
          case: sent,
          hubId,
          action: target.action,
          options: target.options ?? {},
          route: routeName,
          deliveryId,
          attempt,
          earlierAttempts: earlier.started,
          earlierUncertain: earlier.uncertain,
          references,
          onExisting: target.onExisting ?? 'update',
        },
        this.conn.ctx,
      );
      const refs = (result.references ?? []).map((r) => ({ ...r, connection: r.connection ?? this.conn.name }));
      const durationMs = Date.now() - started;
      const tx = this.rt.redis.multi();
      this.rt.cases.writeReferences(tx, hubId, refs);
      const peerIds = [...refs, ...references].filter((r) => r.system === this.conn.adapter.name && (r.connection ?? this.conn.name) === this.conn.name).map((r) => r.id);
      this.rt.echoes.recordPeers(tx, hubId, this.conn.name, [...new Set(peerIds)]);
      tx.set(this.rt.keys.delivered(deliveryId), JSON.stringify({ at: new Date().toISOString(), summary: result.summary ?? {} }), 'EX', this.rt.retentionSeconds);
      // After an uncertain attempt the adapter's summary says how it decided (e.g. via: lookup); flag it for operators.
      const summary = earlier.uncertain ? { ...result.summary, afterUncertainOutcome: true } : result.summary;
      this.rt.traces.append(tx, hubId, { at: new Date().toISOString(), stage: 'delivered', ...base, durationMs, summary });
      this.rt.stats.increment(tx, day, routeName, 'delivered');
      this.rt.stamps.stamp(tx, this.rt.keys.health(this.conn.name), 'lastSuccess', new Date().toISOString());
      await tx.exec();
      this.rt.metrics.delivery(routeName, this.conn.name, 'delivered', durationMs / 1000);
      return { status: 'delivered', references: refs };
    } catch (err) {
      await this.recordFailure(job, err, base, started);
      if (!isRetryable(err)) throw new UnrecoverableError(safeMessage(err));
      throw new Error(safeMessage(err));
    }
  }

  /**
   * No stored case for a job. Older than the retention period: the case expired, and no attempt can change that. Younger:
   * it cannot have expired, so its writes were lost or are not there yet (a failover can drop a flush's stored case and
   * keep its job, added on another connection moments later; intake then answered 503, and the source's retry stores
   * the case again, under the same job id, which BullMQ does not add twice): retryable, so the job delivers once the
   * retry has stored it, instead of becoming a dead letter that the retry's 200 hides.
   */
  private missingCase(job: Job<DeliveryJobData>, route: string, hubId: string): CasewayError {
    if (Date.now() - job.timestamp >= this.rt.retentionSeconds * 1000) return new PermanentError('the stored case has expired', { route, hubId });
    return new CasewayError('the stored case is not there (lost with a Redis failover, or not stored yet); the source\'s retry stores it again', {
      code: 'CASE_NOT_STORED',
      retryable: true,
      context: { route, hubId },
    });
  }

  /**
   * A job BullMQ failed without running it: it stalled (its worker stopped, or lost Redis, mid-delivery) more often
   * than hub.worker.maxStalledCount allows. The processor never saw that failure, so it is recorded here as any dead
   * letter is (trace, counters, health, the adapter's hook): otherwise the case would show in flight for ever and the
   * dead-letter counts would not add up.
   */
  async recordStalledOut(job: Job<DeliveryJobData>): Promise<void> {
    const { hubId, route, target } = job.data;
    const err = new CasewayError('the delivery stalled more often than hub.worker.maxStalledCount allows (its worker stopped or lost Redis mid-delivery); replay it once the workers are steady', {
      code: 'DELIVERY_STALLED',
      retryable: false,
      context: { route, hubId, connection: this.conn.name },
    });
    const base = { route, target, connection: this.conn.name, action: job.name, deliveryId: job.id ?? '', attempt: job.attemptsMade + 1 };
    await this.recordFailure(job, err, base, Date.now());
  }

  /**
   * Records that an attempt of this delivery is about to call the peer, before it does; returns what earlier
   * attempts left (how many started, whether one ended uncertain). A failure here fails the attempt unsent.
   * The echo expectation and the attempt record are plain commands issued together, not a transaction: the store
   * connection auto-pipelines them (one socket write shared with the other deliveries of this event-loop turn, where
   * a MULTI is always a write of its own). Neither needs the other to be atomic: an echo expectation written for an
   * attempt that then fails is rewritten by the retry (same field), and an attempt counted whose echo write failed
   * only makes the retry more careful (it assumes an earlier attempt may have reached the peer).
   */
  private async recordAttemptStart(deliveryId: string, hubId: string, sent: CanonicalCase): Promise<{ started: number; uncertain: boolean }> {
    const key = this.rt.keys.attempts(deliveryId);
    const redis = this.rt.redis;
    const [, started, uncertain] = await storeCall(
      'recording a delivery attempt',
      () => Promise.all([this.rt.echoes.expect(hubId, this.conn.name, deliveryId, sent), redis.hincrby(key, 'started', 1), redis.hget(key, 'uncertain'), redis.expire(key, this.rt.retentionSeconds)]),
      { hubId, connection: this.conn.name, deliveryId },
    );
    return { started: started - 1, uncertain: uncertain === '1' };
  }

  private async recordFailure(job: Job<DeliveryJobData>, err: unknown, base: Record<string, unknown> & { attempt: number }, started: number): Promise<void> {
    const { hubId, route, day } = job.data;
    const attempts = job.opts.attempts ?? DEFAULT_DELIVERY.attempts;
    const final = !isRetryable(err) || base.attempt >= attempts;
    // Traces, logs and dead letters get only the safe view; the peer's own words, if any, are kept encrypted.
    const error = safeErrorDetail(err, this.rt.detailHasher);
    const sensitive = sensitiveErrorDetail(err);
    const now = new Date().toISOString();
    const tx = this.rt.redis.multi();
    if (sensitive) this.rt.cases.sealPeerError(tx, hubId, `${job.id ?? ''}#${base.attempt}`, { at: now, connection: this.conn.name, route, ...sensitive });
    // The peer may have acted although the attempt failed (timeout, reset, 5xx after a write): the next attempt
    // learns it from the attempt record, and the trace shows it.
    const uncertain = err instanceof CasewayError && err.context.outcome === 'uncertain';
    if (uncertain) tx.hset(this.rt.keys.attempts(job.id ?? ''), 'uncertain', '1');
    const summary = uncertain ? { outcome: 'uncertain' } : undefined;
    this.rt.traces.append(tx, hubId, { at: now, stage: final ? 'dead' : 'retrying', ...base, durationMs: Date.now() - started, error, summary });
    this.rt.stats.increment(tx, day, route, 'failedAttempts');
    if (final) this.rt.stats.increment(tx, day, route, 'dead');
    snapshotFailedTarget(tx, this.rt, job.id ?? '', route, job.data.target);
    tx.hset(this.rt.keys.health(this.conn.name), { lastError: now, lastErrorMessage: safeMessage(err) });
    // The next success is stamped at once, so the connection does not show this failure longer than it lasted.
    this.rt.stamps.reset(this.rt.keys.health(this.conn.name), 'lastSuccess');
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
  // A job BullMQ itself failed (stalled too often; `deferredFailure` says so) is a dead letter the processor never
  // saw: record it. Every other failure was recorded by the processor before it threw.
  worker.on('failed', (job) => {
    if (!job?.deferredFailure) return;
    processor.recordStalledOut(job).catch((err: unknown) => {
      rt.log.error({ connection: conn.name, deliveryId: job.id, error: safeMessage(err) }, 'could not record a stalled-out delivery');
    });
  });
  // Worker errors (Redis outages, mostly) go to the hub's connection watch: one line per state change.
  return worker;
}
