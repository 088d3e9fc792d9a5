/**
 * Intake: the only way a case enters the hub. For each source event it assigns (or finds) the hub id, stores the
 * case encrypted, records cross-references, evaluates every route fed by the source and queues one delivery job per
 * matching target. It resolves only after all of that is in Redis, so a source may acknowledge afterwards; a crash
 * before that leaves nothing acknowledged, and a retried event is recognised by its event key.
 */
import type { EmitResult, SourceEvent } from '../adapter';
import type { CanonicalCase, CrossReference } from '../model/canonical.generated';
import { deliveryJobOptions, deliveryQueueName, type DeliveryJobData } from '../queues';
import { matchesFilter } from '../routing/filter';
import { applyMapping } from '../routing/mapping';
import { connectionOf, knownSystems, type HubRuntime } from '../runtime';
import { forLookup, joinModeOf } from '../routing/joins';
import { dayOf } from '../store/stats-store';
import { assessEvents } from './case-views';
import { deliveryIdOf, eventKeyOf, newHubId } from './ids';
import { indexCase } from '../store/case-index';

interface PreparedEvent {
  event: SourceEvent;
  eventKey: string;
  hubId: string;
  duplicate: boolean;
}

function linkableReferences(kase: CanonicalCase): CrossReference[] {
  const refs = [...(kase.references ?? [])];
  if (kase.source.id) refs.push({ system: kase.source.system, connection: kase.source.connection, id: kase.source.id, kind: 'source' });
  return refs;
}

export class Intake {
  constructor(private readonly rt: HubRuntime) {}

  /** Accepts events from one source of one connection. */
  async ingest(connectionName: string, sourceName: string, events: SourceEvent[]): Promise<EmitResult[]> {
    if (events.length === 0) return [];
    const conn = connectionOf(this.rt, connectionName);
    const system = conn.adapter.name;
    const join = joinModeOf(this.rt, connectionName, sourceName);
    const lookups = events.map((e) => forLookup(e, join, system, connectionName));
    // prepare() sees the look-up copy (the join rule); everything stored is the event as the source sent it.
    const prepared = (await this.prepare(connectionName, system, sourceName, lookups)).map((p, i) => ({ ...p, event: events[i], lookup: lookups[i] }));
    const now = new Date();
    const nowIso = now.toISOString();
    const day = dayOf(now);
    const routes = this.rt.config.routes.filter(
      (r) => r.enabled !== false && r.from.connection === connectionName && r.from.source === sourceName,
    );
    const fresh = prepared.filter((p) => !p.duplicate);
    const assessments = await assessEvents(this.rt, { connection: connectionName, system, source: sourceName, at: nowIso }, fresh);
    const assessmentOf = new Map(fresh.map((p, i) => [p, assessments[i]]));
    const jobsByQueue = new Map<string, Array<{ name: string; data: DeliveryJobData; opts: ReturnType<typeof deliveryJobOptions> }>>();
    const tx = this.rt.redis.multi();
    for (const p of prepared) {
      if (p.duplicate) {
        this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'deduplicated', connection: connectionName });
        for (const route of routes) {
          this.rt.stats.increment(tx, day, route.name, 'received');
          this.rt.stats.increment(tx, day, route.name, 'deduplicated');
          this.rt.metrics.caseRouted(route.name, 'deduplicated');
        }
        continue;
      }
      const kase: CanonicalCase & { hubId: string } = {
        ...p.event.case,
        hubId: p.hubId,
        source: { ...p.event.case.source, system, connection: connectionName, eventId: p.event.eventId },
      };
      const assessment = assessmentOf.get(p)!;
      if (assessment.echo) {
        // The peer repeating what the hub delivered: its ids are kept, nothing else; never routed, never a view.
        this.rt.cases.writeReferences(tx, p.hubId, linkableReferences(kase).filter((r) => r.system !== 'hub'));
        if (assessment.setsBaseline) this.rt.echoes.setBaseline(tx, p.hubId, connectionName, kase);
        this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'echo', connection: connectionName, summary: { source: sourceName, system, ...(kase.source.id ? { id: kase.source.id } : {}) } });
        for (const route of routes) {
          this.rt.stats.increment(tx, day, route.name, 'received');
          this.rt.stats.increment(tx, day, route.name, 'echo');
          this.rt.metrics.caseRouted(route.name, 'echo');
        }
        continue;
      }
      const payloadRef = p.eventKey;
      this.rt.cases.writePayload(tx, payloadRef, kase);
      this.rt.cases.writeMeta(tx, kase, payloadRef, nowIso);
      if (assessment.view) this.rt.views.write(tx, p.hubId, assessment.view);
      indexCase(tx, this.rt, p.hubId, now);
      this.rt.cases.writeReferences(tx, p.hubId, linkableReferences(kase).filter((r) => r.system !== 'hub'));
      if (assessment.joined) {
        const by = assessment.joined;
        this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'joined', connection: connectionName, summary: { hubId: p.hubId, system: by.system, kind: by.kind ?? 'id', id: by.id, join } });
      }
      this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'received', connection: connectionName, summary: { source: sourceName, type: kase.type, view: assessment.viewChange ?? 'updated' } });
      for (const route of routes) {
        this.rt.stats.increment(tx, day, route.name, 'received');
        if (!matchesFilter(route.filter, kase)) {
          this.rt.stats.increment(tx, day, route.name, 'filtered');
          this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'filtered', route: route.name });
          this.rt.metrics.caseRouted(route.name, 'filtered');
          continue;
        }
        this.rt.stats.increment(tx, day, route.name, 'routed');
        this.rt.metrics.caseRouted(route.name, 'routed');
        for (const target of route.to) {
          const deliveryId = deliveryIdOf(route.name, target.id, p.eventKey);
          this.rt.stats.increment(tx, day, route.name, 'deliveries');
          if (target.filter && !matchesFilter(target.filter, applyMapping(kase, target.mapping))) {
            this.rt.stats.increment(tx, day, route.name, 'targetFiltered');
            this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'filtered', route: route.name, target: target.id });
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
          this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'routed', route: route.name, target: target.id, connection: target.connection, action: target.action, deliveryId });
        }
      }
    }
    await tx.exec();
    // Job ids are deterministic, so re-adding after a crash between these steps adds nothing twice.
    await Promise.all([...jobsByQueue].map(([queue, jobs]) => this.rt.queues.get(queue).addBulk(jobs)));
    const accept = this.rt.redis.pipeline();
    for (const p of prepared) {
      if (!p.duplicate) accept.hset(this.rt.keys.event(p.eventKey), 'accepted', nowIso);
    }
    await accept.exec();
    return prepared.map((p) => ({ eventId: p.event.eventId, hubId: p.hubId, duplicate: p.duplicate }));
  }

  /**
   * Finds each event's hub id: the one it was given before, a case it references, or a new one. Three pipelined
   * round trips per batch (event keys, reference look-ups, claims), whatever the batch size.
   */
  private async prepare(connection: string, system: string, source: string, events: SourceEvent[]): Promise<PreparedEvent[]> {
    const redis = this.rt.redis;
    const keyed = events.map((event) => ({ event, eventKey: eventKeyOf(connection, source, event.eventId) }));
    const read = redis.pipeline();
    for (const k of keyed) read.hmget(this.rt.keys.event(k.eventKey), 'hubId', 'accepted');
    const replies = (await read.exec()) ?? [];
    const known = keyed.map((k, i) => {
      const [hubId, accepted] = (replies[i]?.[1] as Array<string | null>) ?? [null, null];
      return { ...k, hubIdBefore: hubId, accepted: Boolean(accepted) };
    });

    // Candidate ids for events seen for the first time: the case's own hubId, then each reference in order.
    const systems = knownSystems(this.rt);
    const lookups: Array<{ index: number; keys: string[]; hubIdCheck?: string }> = [];
    known.forEach((k, index) => {
      if (k.hubIdBefore) return;
      const kase = { ...k.event.case, source: { ...k.event.case.source, system } };
      if (kase.hubId) lookups.push({ index, keys: [this.rt.keys.caseMeta(kase.hubId)], hubIdCheck: kase.hubId });
      for (const ref of linkableReferences(kase)) {
        const lookIn = ref.system === 'hub' || ref.system === 'external' ? systems : [ref.system];
        lookups.push({ index, keys: lookIn.map((s) => this.rt.keys.xref(s, ref.id)) });
        if (ref.system === 'hub' || ref.system === 'external') lookups.push({ index, keys: [this.rt.keys.caseMeta(ref.id)], hubIdCheck: ref.id });
      }
    });
    const found = new Map<number, string>();
    if (lookups.length) {
      const look = redis.pipeline();
      for (const l of lookups) {
        if (l.hubIdCheck) look.exists(l.keys[0]);
        else look.mget(...l.keys);
      }
      const answers = (await look.exec()) ?? [];
      lookups.forEach((l, i) => {
        if (found.has(l.index)) return;
        const answer = answers[i]?.[1];
        if (l.hubIdCheck && answer === 1) found.set(l.index, l.hubIdCheck);
        else if (Array.isArray(answer)) {
          const hit = (answer as Array<string | null>).find((v): v is string => v !== null);
          if (hit) found.set(l.index, hit);
        }
      });
    }

    // First writer wins: two processes taking the same event settle on one hub id.
    const firstInBatch = new Map<string, number>();
    const claim = redis.pipeline();
    const claimed: number[] = [];
    known.forEach((k, index) => {
      if (firstInBatch.has(k.eventKey) || (k.hubIdBefore && k.accepted)) {
        if (!firstInBatch.has(k.eventKey)) firstInBatch.set(k.eventKey, index);
        return;
      }
      firstInBatch.set(k.eventKey, index);
      const eventKeyName = this.rt.keys.event(k.eventKey);
      claim.hsetnx(eventKeyName, 'hubId', k.hubIdBefore ?? found.get(index) ?? newHubId());
      claim.expire(eventKeyName, this.rt.retentionSeconds);
      claim.hget(eventKeyName, 'hubId');
      claimed.push(index);
    });
    const claims = claimed.length ? ((await claim.exec()) ?? []) : [];
    const hubIds = new Map<number, string>();
    claimed.forEach((index, n) => hubIds.set(index, claims[n * 3 + 2]?.[1] as string));

    return known.map((k, index) => {
      const first = firstInBatch.get(k.eventKey)!;
      if (first !== index) return { event: k.event, eventKey: k.eventKey, hubId: k.hubIdBefore ?? hubIds.get(first)!, duplicate: true };
      if (k.hubIdBefore && k.accepted) return { event: k.event, eventKey: k.eventKey, hubId: k.hubIdBefore, duplicate: true };
      return { event: k.event, eventKey: k.eventKey, hubId: hubIds.get(index)!, duplicate: false };
    });
  }
}

