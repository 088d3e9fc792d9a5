/** The per-case trace: every hop (received, routed, delivered, failed, dead, replayed) with timings, no personal data. */
import { execTransaction } from './replies';
import type { ChainableCommander, Redis } from 'ioredis';
import type { TraceSummary } from '../adapter';
import type { Keys } from './keys';

export type TraceStage =
  | 'received'
  | 'echo'
  | 'joined'
  | 'deduplicated'
  | 'routed'
  | 'filtered'
  | 'delivered'
  | 'skipped'
  | 'retrying'
  | 'failed'
  | 'dead'
  | 'replayed'
  | 'discarded';

export interface TraceEntry {
  at: string;
  stage: TraceStage;
  route?: string;
  target?: string;
  connection?: string;
  action?: string;
  deliveryId?: string;
  attempt?: number;
  durationMs?: number;
  summary?: TraceSummary;
  error?: Record<string, unknown>;
  by?: string;
}

const MAX_ENTRIES = 500;

export class TraceStore {
  constructor(private readonly redis: Redis, private readonly keys: Keys, private readonly ttlSeconds: number) {}

  append(tx: ChainableCommander, hubId: string, entry: TraceEntry): void {
    this.appendMany(tx, hubId, [entry]);
  }

  /** Several entries of one case, in order, with one RPUSH (intake writes a case's received/routed hops together). */
  appendMany(tx: ChainableCommander, hubId: string, entries: TraceEntry[]): void {
    if (entries.length === 0) return;
    const key = this.keys.trace(hubId);
    tx.rpush(key, ...entries.map((e) => JSON.stringify(e)));
    tx.ltrim(key, -MAX_ENTRIES, -1);
    tx.expire(key, this.ttlSeconds);
  }

  async record(hubId: string, entry: TraceEntry): Promise<void> {
    const tx = this.redis.multi();
    this.append(tx, hubId, entry);
    await execTransaction(tx, 'recording a trace entry', { hubId });
  }

  async read(hubId: string): Promise<TraceEntry[]> {
    const raw = await this.redis.lrange(this.keys.trace(hubId), 0, -1);
    return raw.map((r) => JSON.parse(r) as TraceEntry);
  }
}
