/** Dead letters are the failed jobs of the delivery queues: listed, replayed (after a fix) or discarded, each audited. */
import type { Job } from 'bullmq';
import type { DeliveryJobData } from '../queues';
import { deliveryQueueName } from '../queues';
import type { HubRuntime } from '../runtime';
import { dayOf } from '../store/stats-store';

export interface DeadLetter {
  id: string;
  connection: string;
  queue: string;
  action: string;
  hubId: string;
  route: string;
  target: string;
  failedReason: string;
  attemptsMade: number;
  failedAt?: string;
}

export class DeadLetters {
  constructor(private readonly rt: HubRuntime) {}

  private queueOf(connection: string) {
    if (!this.rt.connections.has(connection)) throw new Error(`unknown connection "${connection}"`);
    return this.rt.queues.get(deliveryQueueName(connection));
  }

  private describe(connection: string, job: Job<DeliveryJobData>): DeadLetter {
    return {
      id: job.id ?? '',
      connection,
      queue: job.queueName,
      action: job.name,
      hubId: job.data.hubId,
      route: job.data.route,
      target: job.data.target,
      failedReason: job.failedReason,
      attemptsMade: job.attemptsMade,
      failedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : undefined,
    };
  }

  async list(connection?: string, limit = 500): Promise<DeadLetter[]> {
    const names = connection ? [connection] : [...this.rt.connections.keys()];
    const out: DeadLetter[] = [];
    for (const name of names) {
      const jobs = (await this.queueOf(name).getFailed(0, limit - 1)) as Array<Job<DeliveryJobData>>;
      out.push(...jobs.filter(Boolean).map((j) => this.describe(name, j)));
    }
    return out;
  }

  async get(connection: string, id: string): Promise<(DeadLetter & { job: Job<DeliveryJobData> }) | null> {
    const job = (await this.queueOf(connection).getJob(id)) as Job<DeliveryJobData> | undefined;
    if (!job || !(await job.isFailed())) return null;
    return { ...this.describe(connection, job), job };
  }

  /** Moves a dead letter back to waiting with fresh attempts; the current route config (and mapping) applies. */
  async replay(connection: string, id: string, by = 'cli'): Promise<boolean> {
    const found = await this.get(connection, id);
    if (!found) return false;
    await found.job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    await this.audit('replay', by, found);
    return true;
  }

  async discard(connection: string, id: string, by = 'cli'): Promise<boolean> {
    const found = await this.get(connection, id);
    if (!found) return false;
    await found.job.remove();
    await this.audit('discard', by, found);
    return true;
  }

  private async audit(action: 'replay' | 'discard', by: string, dl: DeadLetter & { job: Job<DeliveryJobData> }): Promise<void> {
    const now = new Date();
    const tx = this.rt.redis.multi();
    tx.lpush(this.rt.keys.audit(), JSON.stringify({ at: now.toISOString(), action, by, connection: dl.connection, deliveryId: dl.id, hubId: dl.hubId, route: dl.route }));
    tx.ltrim(this.rt.keys.audit(), 0, 9999);
    this.rt.traces.append(tx, dl.hubId, { at: now.toISOString(), stage: action === 'replay' ? 'replayed' : 'discarded', route: dl.route, target: dl.target, connection: dl.connection, deliveryId: dl.id, by });
    this.rt.stats.increment(tx, dl.job.data.day ?? dayOf(now), dl.route, action === 'replay' ? 'replayed' : 'discarded');
    await tx.exec();
  }

  async auditLog(limit = 100): Promise<Array<Record<string, string>>> {
    const raw = await this.rt.redis.lrange(this.rt.keys.audit(), 0, limit - 1);
    return raw.map((r) => JSON.parse(r) as Record<string, string>);
  }
}
