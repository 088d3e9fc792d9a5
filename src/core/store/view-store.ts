/**
 * Per-system views of a case: for each connection that said something about a hub case, its own latest view
 * (encrypted like a payload, with the event that brought it). The merged case is built from them on read
 * (src/core/store/merge.ts), so changing the merge rules in config applies to every stored case at once.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { CrossReference } from '../model/canonical.generated';
import type { Keys } from './keys';
import { mergeViews, viewSummary, type CaseView, type MergeRules } from './merge';
import type { PayloadCipher } from './payload-cipher';
import { execChecked } from './replies';

export type ViewInfo = ReturnType<typeof viewSummary>[number];

export class ViewStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly cipher: PayloadCipher,
    private readonly ttlSeconds: number,
  ) {}

  write(tx: ChainableCommander, hubId: string, view: CaseView): void {
    const key = this.keys.views(hubId);
    tx.hset(key, view.connection, this.cipher.encrypt(JSON.stringify(view)));
    tx.expire(key, this.ttlSeconds);
  }

  private open(raw: Record<string, string>): CaseView[] {
    return Object.values(raw).map((sealed) => JSON.parse(this.cipher.decrypt(sealed)) as CaseView);
  }

  /** Views of several cases in one round trip (intake reads them to update a view and to tell a join). */
  async readMany(hubIds: string[]): Promise<Map<string, CaseView[]>> {
    const unique = [...new Set(hubIds)];
    const out = new Map<string, CaseView[]>();
    if (unique.length === 0) return out;
    const pipe = this.redis.pipeline();
    for (const id of unique) pipe.hgetall(this.keys.views(id));
    const replies = await execChecked(pipe, 'reading case views');
    unique.forEach((id, i) => {
      out.set(id, this.open((replies[i] ?? {}) as Record<string, string>));
    });
    return out;
  }

  async read(hubId: string): Promise<CaseView[]> {
    return this.open(await this.redis.hgetall(this.keys.views(hubId)));
  }

  /** The merged case and which views made it; null when no view is stored (expired, or a case from before views). */
  async merged(hubId: string, origin: string | undefined, references: CrossReference[], rules: MergeRules): Promise<{ case: ReturnType<typeof mergeViews>; views: ViewInfo[] }> {
    const views = await this.read(hubId);
    return { case: mergeViews(hubId, views, { origin, references, rules }), views: viewSummary(views, origin) };
  }
}
