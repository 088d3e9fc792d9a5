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
import { StoreUnavailableError, storeCall } from './replies';
import { CachedScript } from './scripts';

export type ViewInfo = ReturnType<typeof viewSummary>[number];

/**
 * A view as read, with the version a later write must find still stored (the SHA-1 of its sealed value). `view` is
 * null for a reference whose payload is not stored (a failover that lost it, or a hand-made deletion): it has no case
 * to give, but its version lets the event's retry, which stores the payload again, replace it.
 */
export interface VersionedView {
  connection: string;
  view: CaseView | null;
  version: string;
}

/** A view to store, if the connection's stored view is still `expected` (its version; null: there was none). */
export interface ViewWrite {
  hubId: string;
  view: CaseView;
  expected: string | null;
  /**
   * Set when the view's case is exactly the case stored as this event's payload without its `hubId` (a connection's
   * first view: the event's case as it came): the view is then stored as a reference to that payload, not a second
   * copy of the case. The payload key is the event key's (`Keys.payload(view.eventKey)`).
   */
  inPayload?: boolean;
}

const ABSENT = '-';

/**
 * The views hash's one field that is not a connection (connection names match ^[a-z][a-z0-9-]*$): the views stored as
 * references, one "<connection> <event key>" line each, in plaintext so the scripts can keep those payloads alive.
 * Event keys are hashes (src/core/engine/ids.ts), nothing of the case.
 */
export const PAYLOAD_REFS_FIELD = '~payload-refs';

/** A view as sealed in Redis: the case itself, or (`caseIn: 'payload'`) a reference to its event's payload. */
type StoredView = Omit<CaseView, 'case'> & ({ case: CaseView['case']; caseIn?: undefined } | { case?: undefined; caseIn: 'payload' });

/**
 * Compare-and-set of views: each is written only if the stored one is still the one its writer read (by the SHA-1 of
 * the sealed value, or absent). Two intake flushes updating one view from the same read would otherwise both write,
 * and the last one would drop what the other added (a note, a document).
 *
 * A view stored as a reference to its event's payload is written only while that payload exists, and every write to
 * the hash gives each referenced payload the hash's own expiry, in the same script: a payload lives as long as the
 * views that use it, however often other connections' views renew the hash. (The payload keys are made in the script
 * from the prefix, not passed as KEYS: the hub runs on one Redis primary, with Sentinel for failover, not on a Cluster.)
 * KEYS: views keys. ARGV: ttl, the payload key prefix, then per key <field> <expected version or '-'> <sealed view>
 * <event key, or '' for a view holding its case>. Returns per key 1 (stored), 0 (changed since read: not stored) or
 * 2 (its payload is not stored: not stored; write the case in full).
 */
const WRITE_IF_UNCHANGED = new CachedScript(`
local ttl, payloads, out = tonumber(ARGV[1]), ARGV[2], {}
for i = 1, #KEYS do
  local b = 4 * i - 1
  local field, expected, value, ref = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3]
  local current = redis.call('HGET', KEYS[i], field)
  local seen = current and redis.sha1hex(current) or '${ABSENT}'
  if seen ~= expected then
    out[i] = 0
  elseif ref ~= '' and redis.call('EXISTS', payloads .. ref) == 0 then
    out[i] = 2
  else
    redis.call('HSET', KEYS[i], field, value)
    local kept, lines = redis.call('HGET', KEYS[i], '${PAYLOAD_REFS_FIELD}'), {}
    if kept then
      for line in string.gmatch(kept, '[^\\n]+') do
        if string.match(line, '^(%S+) ') ~= field then lines[#lines + 1] = line end
      end
    end
    if ref ~= '' then lines[#lines + 1] = field .. ' ' .. ref end
    if #lines > 0 then
      redis.call('HSET', KEYS[i], '${PAYLOAD_REFS_FIELD}', table.concat(lines, '\\n'))
    elseif kept then
      redis.call('HDEL', KEYS[i], '${PAYLOAD_REFS_FIELD}')
    end
    redis.call('EXPIRE', KEYS[i], ttl)
    for _, line in ipairs(lines) do redis.call('EXPIRE', payloads .. string.match(line, ' (%S+)$'), ttl) end
    out[i] = 1
  end
end
return out`);

/**
 * The views of several cases with the payloads their references name, in one round trip and one moment.
 * KEYS: views keys. ARGV: the payload key prefix. Returns per key { HGETALL, { event key, payload or nil, ... } }.
 */
const READ_VIEWS = new CachedScript(`
local out = {}
for i = 1, #KEYS do
  local found, refs = {}, redis.call('HGET', KEYS[i], '${PAYLOAD_REFS_FIELD}')
  if refs then
    for ref in string.gmatch(refs, ' (%S+)') do
      found[#found + 1] = ref
      found[#found + 1] = redis.call('GET', ARGV[1] .. ref)
    end
  end
  out[i] = { redis.call('HGETALL', KEYS[i]), found }
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

  private seal(view: CaseView, inPayload: boolean): Buffer {
    if (!inPayload) return this.cipher.seal(JSON.stringify(view));
    const { case: _inPayload, ...rest } = view;
    const stored: StoredView = { ...rest, caseIn: 'payload' };
    return this.cipher.seal(JSON.stringify(stored));
  }

  private async runWrites(writes: readonly ViewWrite[], asReference: (w: ViewWrite) => boolean): Promise<number[]> {
    const args: Array<string | number | Buffer> = [this.ttlSeconds, this.keys.payload('')];
    for (const w of writes) {
      const ref = asReference(w);
      args.push(w.view.connection, w.expected ?? ABSENT, this.seal(w.view, ref), ref ? w.view.eventKey : '');
    }
    const reply = await WRITE_IF_UNCHANGED.run(this.redis, writes.map((w) => this.keys.views(w.hubId)), args);
    if (!Array.isArray(reply) || reply.length !== writes.length) throw new Error('writing case views: an unexpected reply');
    return reply.map(Number);
  }

  /**
   * Stores each view whose stored version is still the expected one, in one round trip; says per write whether it was
   * stored (false: another writer changed that view since it was read; read it again and redo the update). A view
   * meant as a reference whose payload is not stored is written in full instead (one more round trip, for those).
   */
  async writeIfUnchanged(writes: readonly ViewWrite[]): Promise<boolean[]> {
    if (writes.length === 0) return [];
    const first = await this.runWrites(writes, (w) => w.inPayload === true);
    const again = writes.filter((_, i) => first[i] === 2);
    const second = again.length ? await this.runWrites(again, () => false) : [];
    let n = 0;
    return first.map((r) => (r === 2 ? second[n++] === 1 : r === 1));
  }

  /** Opens one case's views from READ_VIEWS's reply for it, each with its version (the SHA-1 of its stored bytes). */
  private open(reply: unknown): VersionedView[] {
    const [flat, found] = Array.isArray(reply) ? reply : [];
    const fields: unknown[] = Array.isArray(flat) ? flat : [];
    const refs: unknown[] = Array.isArray(found) ? found : [];
    const payloads = new Map<string, Buffer | null>();
    for (let i = 0; i + 1 < refs.length; i += 2) {
      const sealed = refs[i + 1];
      payloads.set(String(refs[i]), Buffer.isBuffer(sealed) ? sealed : null);
    }
    const out: VersionedView[] = [];
    for (let i = 0; i + 1 < fields.length; i += 2) {
      const sealed = fields[i + 1];
      if (String(fields[i]) === PAYLOAD_REFS_FIELD || !Buffer.isBuffer(sealed)) continue;
      const stored = JSON.parse(this.cipher.open(sealed)) as StoredView;
      out.push({ connection: stored.connection, view: stored.caseIn === 'payload' ? this.withPayloadCase(stored, payloads.get(stored.eventKey)) : stored, version: versionOf(sealed) });
    }
    return out;
  }

  /**
   * A reference view with its case: the event's payload without the hub id the payload carries; null when the payload
   * is not stored. The write script keeps a referenced payload as long as the views, so only a loss outside the hub's
   * writes (a failover, a deletion by hand) gets here; the payload's own event, sent again, stores both again.
   */
  private withPayloadCase(stored: StoredView, sealed: Buffer | null | undefined): CaseView | null {
    if (!sealed) return null;
    const { hubId: _stored, ...kase } = JSON.parse(this.cipher.open(sealed)) as CaseView['case'];
    const { caseIn: _ref, ...rest } = stored;
    return { ...rest, case: kase };
  }

  /** Views of several cases, with their versions, in one round trip (intake reads them to update a view and to tell a join). */
  async readMany(hubIds: string[]): Promise<Map<string, VersionedView[]>> {
    const unique = [...new Set(hubIds)];
    const out = new Map<string, VersionedView[]>();
    if (unique.length === 0) return out;
    const reply = await storeCall('reading case views', () => READ_VIEWS.runBuffer(this.redis, unique.map((id) => this.keys.views(id)), [this.keys.payload('')]));
    if (!Array.isArray(reply) || reply.length !== unique.length) throw new StoreUnavailableError('reading case views', 'an unexpected reply');
    unique.forEach((id, i) => out.set(id, this.open(reply[i])));
    return out;
  }

  async read(hubId: string): Promise<CaseView[]> {
    return (await this.readWithGaps(hubId)).views;
  }

  /**
   * A case's views, and the connections whose view cannot be read: a reference to an event payload that is not stored
   * (see withPayloadCase). The console and the case API name those, so a view missing from the merged case is seen.
   */
  async readWithGaps(hubId: string): Promise<{ views: CaseView[]; unavailable: string[] }> {
    const stored = (await this.readMany([hubId])).get(hubId) ?? [];
    return { views: stored.flatMap((v) => (v.view ? [v.view] : [])), unavailable: stored.filter((v) => !v.view).map((v) => v.connection) };
  }

  /**
   * The merged case and which views made it (null when no view is stored: expired, or a case from before views), and
   * the connections whose view could not be read (left out of the merge).
   */
  async merged(hubId: string, origin: string | undefined, references: CrossReference[], rules: MergeRules): Promise<{ case: ReturnType<typeof mergeViews>; views: ViewInfo[]; unavailable: string[] }> {
    const { views, unavailable } = await this.readWithGaps(hubId);
    return { case: mergeViews(hubId, views, { origin, references, rules }), views: viewSummary(views, origin), unavailable };
  }
}
