/**
 * Per-system views of a case: for each connection that said something about a hub case, its own latest view
 * (encrypted like a payload, with the event that brought it). The merged case is built from them on read
 * (src/core/store/merge.ts), so changing the merge rules in config applies to every stored case at once.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { CrossReference } from '../model/canonical.generated';
import type { Keys } from './keys';
import { mergeViews, viewSummary, type CaseView, type MergeRules } from './merge';
import type { PayloadCipher } from './payload-cipher';
import { execChecked } from './replies';
import { CachedScript } from './scripts';

export type ViewInfo = ReturnType<typeof viewSummary>[number];

/** A view as read, with the version a later write must find still stored (the SHA-1 of its sealed value). */
export interface VersionedView {
  view: CaseView;
  version: string;
}

/** A view to store, if the connection's stored view is still `expected` (its version; null: there was none). */
export interface ViewWrite {
  hubId: string;
  view: CaseView;
  expected: string | null;
}

const ABSENT = '-';

/**
 * Compare-and-set of views: each is written only if the stored one is still the one its writer read (by the SHA-1 of
 * the sealed value, or absent). Two intake flushes updating one view from the same read would otherwise both write,
 * and the last one would drop what the other added (a note, a document).
 * KEYS: views keys. ARGV: ttl, then per key <field> <expected version or '-'> <sealed view>. Returns 1/0 per key.
 */
const WRITE_IF_UNCHANGED = new CachedScript(`
local ttl, out = tonumber(ARGV[1]), {}
for i = 1, #KEYS do
  local field, expected, value = ARGV[3 * i - 1], ARGV[3 * i], ARGV[3 * i + 1]
  local current = redis.call('HGET', KEYS[i], field)
  local seen = current and redis.sha1hex(current) or '${ABSENT}'
  if seen == expected then
    redis.call('HSET', KEYS[i], field, value)
    redis.call('EXPIRE', KEYS[i], ttl)
    out[i] = 1
  else
    out[i] = 0
  end
end
return out`);

/** The SHA-1 of the stored bytes, as the script's redis.sha1hex computes it. */
function versionOf(sealed: Buffer): string {
  return createHash('sha1').update(sealed).digest('hex');
}

export class ViewStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly cipher: PayloadCipher,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Stores each view whose stored version is still the expected one, in one round trip; says per write whether it was
   * stored (false: another writer changed that view since it was read; read it again and redo the update).
   */
  async writeIfUnchanged(writes: readonly ViewWrite[]): Promise<boolean[]> {
    if (writes.length === 0) return [];
    const args: Array<string | number | Buffer> = [this.ttlSeconds];
    for (const w of writes) args.push(w.view.connection, w.expected ?? ABSENT, this.cipher.seal(JSON.stringify(w.view)));
    const reply = await WRITE_IF_UNCHANGED.run(this.redis, writes.map((w) => this.keys.views(w.hubId)), args);
    if (!Array.isArray(reply) || reply.length !== writes.length) throw new Error('writing case views: an unexpected reply');
    return reply.map((r) => r === 1);
  }

  private open(raw: Record<string, Buffer>): CaseView[] {
    return Object.values(raw).map((sealed) => JSON.parse(this.cipher.open(sealed)) as CaseView);
  }

  /** Views of several cases, with their versions, in one round trip (intake reads them to update a view and to tell a join). */
  async readMany(hubIds: string[]): Promise<Map<string, VersionedView[]>> {
    const unique = [...new Set(hubIds)];
    const out = new Map<string, VersionedView[]>();
    if (unique.length === 0) return out;
    const pipe = this.redis.pipeline();
    for (const id of unique) pipe.hgetallBuffer(this.keys.views(id));
    const replies = await execChecked(pipe, 'reading case views');
    unique.forEach((id, i) => {
      const raw = (replies[i] ?? {}) as Record<string, Buffer>;
      out.set(id, Object.values(raw).map((sealed) => ({ view: JSON.parse(this.cipher.open(sealed)) as CaseView, version: versionOf(sealed) })));
    });
    return out;
  }

  async read(hubId: string): Promise<CaseView[]> {
    return this.open(await this.redis.hgetallBuffer(this.keys.views(hubId)));
  }

  /** The merged case and which views made it; null when no view is stored (expired, or a case from before views). */
  async merged(hubId: string, origin: string | undefined, references: CrossReference[], rules: MergeRules): Promise<{ case: ReturnType<typeof mergeViews>; views: ViewInfo[] }> {
    const views = await this.read(hubId);
    return { case: mergeViews(hubId, views, { origin, references, rules }), views: viewSummary(views, origin) };
  }
}
