/**
 * Intake: the only way a case enters the hub. For each source event it assigns (or finds) the hub id, stores the
 * case encrypted, records cross-references, evaluates every route fed by the source and queues one delivery job per
 * matching target. It resolves only after all of that is in Redis, so a source may acknowledge afterwards; a crash
 * before that leaves nothing acknowledged, and a retried event is recognised by its event key.
 */
import type { ValidateFunction } from 'ajv';
import type { Redis } from 'ioredis';
import canonicalCaseSchema from '../../../schemas/canonical-case.schema.json';
import type { EmitResult, SourceEvent } from '../adapter';
import { compileOnce, createAjv, describeAjvErrors } from '../config/ajv';
import { InvalidCanonicalCaseError } from '../errors';
import type { CanonicalCase, CrossReference } from '../model/canonical.generated';
import { deliveryJobOptions, deliveryQueueName, type DeliveryJobData } from '../queues';
import { matchesFilter } from '../routing/filter';
import { applyMapping } from '../routing/mapping';
import { connectionOf, knownSystems, type HubRuntime } from '../runtime';
import { forLookup, joinModeOf } from '../routing/joins';
import { CachedScript } from '../store/scripts';
import { asStoreFailure, execChecked, execTransaction, isRedisUnavailable, storeCall, StoreUnavailableError } from '../store/replies';
import { dayOf, StatsTally } from '../store/stats-store';
import { assessEvents, storeViews, storedCase } from './case-views';
import { deliveryIdOf, eventKeyOf, hubIdFor } from './ids';
import { indexCases } from '../store/case-index';
import type { TraceEntry } from '../store/trace-store';
import { GroupCommit } from './intake-batcher';

/**
 * Settles the hub id of each event of a batch, atomically and in batch order. An event already accepted keeps its
 * hub id and nothing is written for it. Otherwise: the event's own earlier claim, else the hub id already held by
 * any of its cross-references (ones claimed earlier in this very batch included), else its candidate. The event's
 * own references are then claimed for that id (SET NX: the first writer keeps them) and the event key records the id
 * (HSETNX). Two processes racing on one reference therefore end on one hub id. The event key is read here, not in a
 * round trip of its own before the script.
 * KEYS: per event, its event key, the xref keys it claims, then xref keys it only looks at.
 * ARGV: ttl of event keys, ttl of xrefs, then per event <claimed> <looked at> <candidate> <fixed: 1 = candidate wins>.
 * Returns per event: the hub id, then '1' if the event was accepted before, '3' if an earlier attempt stored it (its
 * transaction committed) but did not get as far as accepting it, '2' if it had a hub id (not stored), else '0'.
 * An accepted event seen again has its key's expiry renewed (a sliding window, see the script).
 */
const CLAIM_SCRIPT = new CachedScript(`
local eventTtl, refTtl = tonumber(ARGV[1]), tonumber(ARGV[2])
-- Every event key is read before anything is written: a key Redis cannot read fails the script with nothing claimed.
local priors, k, a = {}, 1, 3
while a <= #ARGV do
  priors[#priors + 1] = redis.call('HMGET', KEYS[k], 'hubId', 'accepted', 'stored')
  k, a = k + tonumber(ARGV[a]) + tonumber(ARGV[a + 1]) + 1, a + 4
end
local n, out = 0, {}
k, a = 1, 3
while a <= #ARGV do
  local nClaim, nLook, candidate, fixed = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), ARGV[a + 2], ARGV[a + 3]
  local eventKey = KEYS[k]
  n = n + 1
  local prior = priors[n]
  local chosen = prior[1]
  if chosen and prior[2] then
    -- Sliding: a source that re-sends an unchanged record on every poll (a content-hash event id) keeps it a duplicate;
    -- a fixed expiry made every such record new again once per retention period, and delivered it again.
    redis.call('EXPIRE', eventKey, eventTtl)
    out[#out + 1] = chosen
    out[#out + 1] = '1'
  else
    if not chosen and fixed ~= '1' then
      for i = 1, nClaim + nLook do
        local held = redis.call('GET', KEYS[k + i])
        if held then chosen = held break end
      end
    end
    if not chosen then chosen = candidate end
    for i = 1, nClaim do redis.call('SET', KEYS[k + i], chosen, 'EX', refTtl, 'NX') end
    redis.call('HSETNX', eventKey, 'hubId', chosen)
    redis.call('EXPIRE', eventKey, eventTtl)
    out[#out + 1] = chosen
    out[#out + 1] = prior[3] and '3' or (prior[1] and '2' or '0')
  end
  k, a = k + nClaim + nLook + 1, a + 4
end
return out`);

interface PreparedEvent {
  event: SourceEvent;
  eventKey: string;
  hubId: string;
  duplicate: boolean;
  /** The claim chose the id minted for this event: a new hub case, with nothing stored under its id yet. */
  newCase: boolean;
  /** Xref keys the claim set (NX) for this hub id: intake need not set them again. */
  claimed: ReadonlySet<string>;
  /**
   * An earlier attempt's transaction stored this event (and counted and traced it) but the attempt failed before
   * accepting it (queueing, replicas, the accepted mark): this retry rewrites the same keys but counts nothing again.
   */
  storedBefore: boolean;
}

function linkableReferences(kase: CanonicalCase): CrossReference[] {
  const refs = [...(kase.references ?? [])];
  if (kase.source.id) refs.push({ system: kase.source.system, connection: kase.source.connection, id: kase.source.id, kind: 'source' });
  return refs;
}

let canonicalValidator: ValidateFunction | undefined;

/**
 * Refuses a batch holding a case the canonical schema does not accept (compiled once per process), before anything is
 * stored: the whole batch, because intake is all-or-nothing per batch (one transaction; the source acknowledges only
 * what ingest returned), so the source keeps every event of it (the webhook caller gets an error, the poller does not
 * advance) and nothing is half-accepted. Accepting the valid events would have to acknowledge the invalid one too,
 * with nowhere to keep it: it would be lost. Once the adapter is fixed, the retried batch goes through.
 */
function checkCanonical(events: SourceEvent[], adapter: string, connection: string, source: string): void {
  canonicalValidator ??= compileOnce(createAjv(), canonicalCaseSchema);
  const problems: Array<{ eventId: string; path: string; reason: string }> = [];
  for (const event of events) {
    // Checked as it will be stored: the hub sets the source's system, connection and event id itself.
    const kase = { ...event.case, source: { ...event.case.source, system: adapter, connection, eventId: event.eventId } };
    if (!canonicalValidator(kase)) {
      for (const e of describeAjvErrors(canonicalValidator.errors)) problems.push({ eventId: event.eventId, ...e });
    }
  }
  if (problems.length) throw new InvalidCanonicalCaseError(adapter, source, problems, { connection });
}

const LANE_SEPARATOR = '\u0000';

/**
 * A failure of the whole flush (Redis unreachable, a replica or a loading Redis, the transaction aborted): every
 * caller in it gets the retryable error. Any other error Redis gave in one reply (a key of the wrong type, say) may
 * concern one caller's event only, so that group is replayed caller by caller instead, like any other error.
 */
function redisDidNotTakeIt(err: unknown): boolean {
  if (!(err instanceof StoreUnavailableError)) return false;
  return !(err.cause instanceof Error && err.cause.name === 'ReplyError') || isRedisUnavailable(err.cause);
}

export class Intake {
  /** Concurrent callers of one source share one flush (group commit): see intake-batcher.ts. */
  private readonly group = new GroupCommit<SourceEvent, EmitResult>(
    (lane, events) => {
      const [connection, source] = lane.split(LANE_SEPARATOR);
      return this.ingestNow(connection, source, events);
    },
    { sharedFailure: redisDidNotTakeIt },
  );

  constructor(private readonly rt: HubRuntime) {}

  /**
   * Accepts events from one source of one connection; resolves (one result per event, in order) once they are
   * stored and queued. Concurrent calls for the same source are committed together. Refuses the whole batch if any
   * case is not canonical.
   */
  async ingest(connectionName: string, sourceName: string, events: SourceEvent[]): Promise<EmitResult[]> {
    if (events.length === 0) return [];
    // An unknown connection or a case that is not canonical fails its caller alone, before any group.
    checkCanonical(events, connectionOf(this.rt, connectionName).adapter.name, connectionName, sourceName);
    return this.group.submit(`${connectionName}${LANE_SEPARATOR}${sourceName}`, events);
  }

  /**
   * One flush. Whatever step met an unavailable Redis (a read outside the checked helpers included), the caller gets
   * the typed, retryable StoreUnavailableError: the HTTP layer answers it 503, never 500.
   */
  private async ingestNow(connectionName: string, sourceName: string, events: SourceEvent[]): Promise<EmitResult[]> {
    try {
      return await this.ingestChecked(connectionName, sourceName, events);
    } catch (err) {
      throw asStoreFailure(err, 'intake', { connection: connectionName, source: sourceName });
    }
  }

  /** One flush: every event given, in one set of round trips. */
  private async ingestChecked(connectionName: string, sourceName: string, events: SourceEvent[]): Promise<EmitResult[]> {
    if (events.length === 0) return [];
    const conn = connectionOf(this.rt, connectionName);
    const system = conn.adapter.name;
    const join = joinModeOf(this.rt, connectionName, sourceName);
    const lookups = events.map((e) => forLookup(e, join, system, connectionName));
    const where = { connection: connectionName, source: sourceName };
    // Read before the first write of this flush (the claim), to tell afterwards whether WAIT counted in the same history.
    const history = await this.replicationHistory(where);
    // prepare() sees the look-up copy (the join rule); everything stored is the event as the source sent it.
    const prepared = (await this.prepare(connectionName, system, sourceName, lookups)).map((p, i) => ({ ...p, event: events[i], lookup: lookups[i] }));
    const now = new Date();
    const nowIso = now.toISOString();
    const day = dayOf(now);
    const routes = this.rt.config.routes.filter(
      (r) => r.enabled !== false && r.from.connection === connectionName && r.from.source === sourceName,
    );
    const fresh = prepared.filter((p) => !p.duplicate);
    const { assessments, viewWrites } = await assessEvents(this.rt, { connection: connectionName, system, source: sourceName, at: nowIso }, fresh);
    const assessmentOf = new Map(fresh.map((p, i) => [p, assessments[i]]));
    const jobsByQueue = new Map<string, Array<{ name: string; data: DeliveryJobData; opts: ReturnType<typeof deliveryJobOptions> }>>();
    const tx = this.rt.redis.multi();
    // Counters are summed over the whole group and written once per (route, field).
    const allCounts = new StatsTally(this.rt.stats, day);
    // Trace entries are gathered per case (one RPUSH each) and new cases indexed with one ZADD.
    const traces = new Map<string, TraceEntry[]>();
    const traceEntry = (hubId: string, entry: TraceEntry): void => {
      const list = traces.get(hubId);
      if (list) list.push(entry);
      else traces.set(hubId, [entry]);
    };
    const indexed: string[] = [];
    // What an earlier attempt's committed transaction already counted and traced is not counted again (reconciliation
    // would show a gap for good); its writes are redone, being idempotent.
    const uncounted = { add: () => undefined, caseRouted: () => undefined };
    for (const p of prepared) {
      const counts = p.storedBefore ? uncounted : allCounts;
      const metrics = p.storedBefore ? uncounted : this.rt.metrics;
      const trace = p.storedBefore ? () => undefined : traceEntry;
      if (p.duplicate) {
        trace(p.hubId, { at: nowIso, stage: 'deduplicated', connection: connectionName });
        for (const route of routes) {
          counts.add(route.name, 'received');
          counts.add(route.name, 'deduplicated');
          metrics.caseRouted(route.name, 'deduplicated');
        }
        continue;
      }
      // The payload is the stored case with its hub id: a first view refers to it instead of copying it (case-views.ts).
      const kase: CanonicalCase & { hubId: string } = { ...storedCase(p.event, system, connectionName), hubId: p.hubId };
      const assessment = assessmentOf.get(p)!;
      if (assessment.echo) {
        // The peer repeating what the hub delivered: its ids are kept, nothing else; never routed, never a view.
        this.rt.cases.writeReferences(tx, p.hubId, linkableReferences(kase).filter((r) => r.system !== 'hub'), p.claimed);
        if (assessment.setsBaseline) this.rt.echoes.setBaseline(tx, p.hubId, connectionName, kase);
        trace(p.hubId, { at: nowIso, stage: 'echo', connection: connectionName, summary: { source: sourceName, system, ...(kase.source.id ? { id: kase.source.id } : {}) } });
        for (const route of routes) {
          counts.add(route.name, 'received');
          counts.add(route.name, 'echo');
          metrics.caseRouted(route.name, 'echo');
        }
        continue;
      }
      const payloadRef = p.eventKey;
      this.rt.cases.writePayload(tx, payloadRef, kase);
      this.rt.cases.writeMeta(tx, kase, payloadRef, nowIso, p.newCase);
      indexed.push(p.hubId);
      this.rt.cases.writeReferences(tx, p.hubId, linkableReferences(kase).filter((r) => r.system !== 'hub'), p.claimed);
      if (assessment.joined) {
        const by = assessment.joined;
        trace(p.hubId, { at: nowIso, stage: 'joined', connection: connectionName, summary: { hubId: p.hubId, system: by.system, kind: by.kind ?? 'id', id: by.id, join } });
      }
      trace(p.hubId, { at: nowIso, stage: 'received', connection: connectionName, summary: { source: sourceName, type: kase.type, view: assessment.viewChange ?? 'updated' } });
      for (const route of routes) {
        counts.add(route.name, 'received');
        if (!matchesFilter(route.filter, kase)) {
          counts.add(route.name, 'filtered');
          trace(p.hubId, { at: nowIso, stage: 'filtered', route: route.name });
          metrics.caseRouted(route.name, 'filtered');
          continue;
        }
        counts.add(route.name, 'routed');
        metrics.caseRouted(route.name, 'routed');
        for (const target of route.to) {
          const deliveryId = deliveryIdOf(route.name, target.id, p.eventKey);
          counts.add(route.name, 'deliveries');
          if (target.filter && !matchesFilter(target.filter, applyMapping(kase, target.mapping))) {
            counts.add(route.name, 'targetFiltered');
            trace(p.hubId, { at: nowIso, stage: 'filtered', route: route.name, target: target.id });
            continue;
          }
          const queueName = deliveryQueueName(target.connection);
          const list = jobsByQueue.get(queueName) ?? [];
          list.push({
            name: target.action,
            data: { hubId: p.hubId, payloadRef, route: route.name, target: target.id, eventKey: p.eventKey, day },
            opts: deliveryJobOptions(connectionOf(this.rt, target.connection).delivery, deliveryId),
          });
          jobsByQueue.set(queueName, list);
          trace(p.hubId, { at: nowIso, stage: 'routed', route: route.name, target: target.id, connection: target.connection, action: target.action, deliveryId });
        }
      }
    }
    // Every step below is checked and idempotent: a failure leaves the events unaccepted (the source gets a
    // retryable error) and a retry redoes the same writes under the same hub ids and job ids.
    for (const p of prepared) if (!p.duplicate) tx.hset(this.rt.keys.event(p.eventKey), 'stored', nowIso);
    allCounts.writeTo(tx);
    for (const [hubId, entries] of traces) this.rt.traces.appendMany(tx, hubId, entries);
    indexCases(tx, this.rt, indexed, now);
    await execTransaction(tx, 'storing the cases', where);
    // Views after the cases: compare-and-set, so a flush racing this one on a view cannot drop what this one adds. A
    // failure here leaves the events unaccepted; their retry (stored before: nothing counted twice) writes them.
    await storeViews(this.rt, viewWrites, where);
    // Job ids are deterministic, so re-adding after a crash between these steps adds nothing twice.
    await storeCall('queueing the deliveries', () => Promise.all([...jobsByQueue].map(([queue, jobs]) => this.rt.queues.addJobs(queue, jobs))), where);
    // The jobs went over the queues' own connection: WAIT counts only the writes of the connection it is sent on.
    await this.awaitReplicas(where, jobsByQueue.size ? [this.rt.redis, this.rt.queues.connection] : [this.rt.redis], history);
    const accept = this.rt.redis.pipeline();
    for (const p of prepared) {
      if (!p.duplicate) accept.hset(this.rt.keys.event(p.eventKey), 'accepted', nowIso);
    }
    if (accept.length) await execChecked(accept, 'marking the events accepted', where);
    return prepared.map((p) => ({ eventId: p.event.eventId, hubId: p.hubId, duplicate: p.duplicate }));
  }

  /**
   * hub.redis.minReplicas: the writes so far must reach that many replicas before anything is acknowledged. Redis's
   * WAIT answers for the writes of the connection it is sent on (up to that connection's last write), so it is sent on
   * every connection this flush wrote through: the store's (the cases) and the queues' (the delivery jobs). Waiting on
   * the store's alone acknowledged cases whose jobs a failover could still lose (issue 18: found stored, never
   * delivered). The fewest replicas any of them reached is what the flush reached.
   */
  private async awaitReplicas(where: Record<string, string>, wrote: Redis[], history: string | undefined): Promise<void> {
    const wanted = this.rt.config.hub?.redis?.minReplicas ?? 0;
    if (wanted <= 0) return;
    const timeout = this.rt.config.hub?.redis?.minReplicasTimeoutMs ?? 1000;
    const reached = Math.min(...(await storeCall('waiting for replicas', () => Promise.all(wrote.map((c) => c.wait(wanted, timeout))), where)));
    if (reached < wanted) throw new StoreUnavailableError('waiting for replicas', `${reached} of ${wanted} replicas acknowledged within ${timeout} ms`, { ...where, replicas: reached, minReplicas: wanted });
    // WAIT compares replica offsets with the offset of the connection's last write. A primary demoted in between (its
    // data set replaced by a new primary's: these writes gone) and promoted again counts offsets afresh from the other
    // history, and the replicas soon pass the old offset: WAIT then counts writes that no longer exist (seen in the
    // Redis outage test: applications acknowledged, nothing of them stored but the accepted mark). A promotion always
    // gives the primary a new replication id, so an unchanged id says the offsets are of one history.
    const after = await this.replicationHistory(where);
    if (after !== history) throw new StoreUnavailableError('waiting for replicas', 'the Redis primary changed while the writes waited for replicas', { ...where, minReplicas: wanted });
  }

  /** The primary's replication id (master_replid), when hub.redis.minReplicas asks for replicas; else undefined. */
  private async replicationHistory(where: Record<string, string>): Promise<string | undefined> {
    if ((this.rt.config.hub?.redis?.minReplicas ?? 0) <= 0) return undefined;
    const info = await storeCall('reading the replication id', () => this.rt.redis.info('replication'), where);
    const id = /^master_replid:(\w+)/m.exec(info)?.[1];
    if (!id) throw new StoreUnavailableError('reading the replication id', 'INFO replication gave no master_replid', where);
    return id;
  }

  /**
   * Finds each event's hub id: the one it was given before, a case it references, or a new one. Events of one batch
   * that share a cross-reference settle on one hub id, in order, and so do processes racing on one reference (the
   * claim is one Lua script, which also reads the event keys). One round trip per batch, two when an event names a
   * hub id explicitly (its look-up comes first).
   */
  private async prepare(connection: string, system: string, source: string, events: SourceEvent[]): Promise<PreparedEvent[]> {
    const redis = this.rt.redis;
    const where = { connection, source };
    const known = events.map((event) => ({ event, eventKey: eventKeyOf(connection, source, event.eventId) }));

    // Explicit hub ids (the case's own hubId, or a reference in system "hub"/"external") join that case if it exists;
    // peer references go to the claim script, which also sees what earlier events of this batch claimed. An event
    // that already has a hub id (a retry) keeps it: the script reads it before anything else.
    const systems = knownSystems(this.rt);
    const hubIdChecks: Array<{ index: number; hubId: string }> = [];
    const xrefKeys = new Map<number, { claim: string[]; look: string[] }>();
    known.forEach((k, index) => {
      const kase = { ...k.event.case, source: { ...k.event.case.source, system } };
      const claim: string[] = [];
      const look: string[] = [];
      if (kase.hubId) hubIdChecks.push({ index, hubId: kase.hubId });
      for (const ref of linkableReferences(kase)) {
        if (!ref.id) continue;
        if (ref.system === 'hub' || ref.system === 'external') {
          hubIdChecks.push({ index, hubId: ref.id });
          // An "external" id may be any peer's: look it up (not claimed) in every system we know.
          for (const s of systems) look.push(this.rt.keys.xref(s, ref.id));
        } else claim.push(this.rt.keys.xref(ref.system, ref.id));
      }
      const claimSet = new Set(claim);
      xrefKeys.set(index, { claim: [...claimSet], look: [...new Set(look)].filter((key) => !claimSet.has(key)) });
    });
    const explicit = new Map<number, string>();
    if (hubIdChecks.length) {
      const look = redis.pipeline();
      for (const c of hubIdChecks) look.exists(this.rt.keys.caseMeta(c.hubId));
      const answers = await execChecked(look, 'looking up hub ids', where);
      hubIdChecks.forEach((c, i) => {
        if (!explicit.has(c.index) && answers[i] === 1) explicit.set(c.index, c.hubId);
      });
    }

    // Duplicates within the batch are claimed once, by their first event.
    const firstInBatch = new Map<string, number>();
    const claimed: number[] = [];
    /** The new hub id offered for each event that had none: chosen back, it is a new case. */
    const minted = new Map<number, string>();
    const keys: string[] = [];
    const args: Array<string | number> = [this.rt.retentionSeconds, this.rt.cases.referenceTtlSeconds];
    known.forEach((k, index) => {
      if (firstInBatch.has(k.eventKey)) return;
      firstInBatch.set(k.eventKey, index);
      // Peer references are claimed by the event that brings them; "external" look-up keys stay read-only.
      const refs = xrefKeys.get(index) ?? { claim: [], look: [] };
      const fixed = explicit.get(index);
      const candidate = fixed ?? hubIdFor(k.eventKey);
      keys.push(this.rt.keys.event(k.eventKey), ...refs.claim, ...refs.look);
      args.push(refs.claim.length, refs.look.length, candidate, fixed ? 1 : 0);
      claimed.push(index);
      if (!fixed) minted.set(index, candidate);
    });
    const hubIds = new Map<number, { hubId: string; before: 'accepted' | 'stored' | 'claimed' | 'none' }>();
    if (claimed.length) {
      const chosen = await storeCall('claiming hub ids', () => CLAIM_SCRIPT.run(redis, keys, args), where);
      if (!Array.isArray(chosen) || chosen.length !== 2 * claimed.length) throw new StoreUnavailableError('claiming hub ids', 'an unexpected reply', where);
      claimed.forEach((index, n) => {
        const id: unknown = chosen[2 * n];
        const flag: unknown = chosen[2 * n + 1];
        if (typeof id !== 'string' || !id) throw new StoreUnavailableError('claiming hub ids', 'no hub id in the reply', where);
        if (flag !== '0' && flag !== '1' && flag !== '2' && flag !== '3') throw new StoreUnavailableError('claiming hub ids', 'an unexpected reply', where);
        hubIds.set(index, { hubId: id, before: flag === '1' ? 'accepted' : flag === '3' ? 'stored' : flag === '2' ? 'claimed' : 'none' });
      });
    }

    return known.map((k, index) => {
      const first = firstInBatch.get(k.eventKey)!;
      const settled = hubIds.get(first);
      if (!settled) throw new StoreUnavailableError('claiming hub ids', 'an event was left without a hub id', where);
      const { hubId } = settled;
      const duplicate = first !== index || settled.before === 'accepted';
      // The id minted here for this very event and chosen back by the claim: no other event can hold it (only an earlier
      // attempt of this event whose claim a failover lost, and whatever of it survived belongs to this case).
      const newCase = !duplicate && settled.before === 'none' && minted.get(index) === hubId;
      const storedBefore = !duplicate && settled.before === 'stored';
      return { event: k.event, eventKey: k.eventKey, hubId, duplicate, newCase, storedBefore, claimed: new Set(duplicate ? [] : (xrefKeys.get(index)?.claim ?? [])) };
    });
  }
}
