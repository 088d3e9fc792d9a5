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
import { dayOf } from '../store/stats-store';
import { deliveryIdOf, eventKeyOf, newHubId } from './ids';

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
    const prepared = await this.prepare(connectionName, conn.adapter.name, sourceName, events);
    const now = new Date();
    const nowIso = now.toISOString();
    const day = dayOf(now);
    const routes = this.rt.config.routes.filter(
      (r) => r.enabled !== false && r.from.connection === connectionName && r.from.source === sourceName,
    );
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
        source: { ...p.event.case.source, system: conn.adapter.name, connection: connectionName, eventId: p.event.eventId },
      };
      const payloadRef = p.eventKey;
      this.rt.cases.writePayload(tx, payloadRef, kase);
      this.rt.cases.writeMeta(tx, kase, payloadRef, nowIso);
      this.rt.cases.writeReferences(tx, p.hubId, linkableReferences(kase).filter((r) => r.system !== 'hub'));
      tx.zadd(this.rt.keys.recentCases(), now.getTime(), p.hubId);
      this.rt.traces.append(tx, p.hubId, { at: nowIso, stage: 'received', connection: connectionName, summary: { source: sourceName, type: kase.type } });
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

  /** Finds each event's hub id: the one it was given before, a case it references, or a new one. */
  private async prepare(connection: string, system: string, source: string, events: SourceEvent[]): Promise<PreparedEvent[]> {
    const keyed = events.map((event) => ({ event, eventKey: eventKeyOf(connection, source, event.eventId) }));
    const seen = new Map<string, PreparedEvent>();
    const read = this.rt.redis.pipeline();
    for (const k of keyed) read.hmget(this.rt.keys.event(k.eventKey), 'hubId', 'accepted');
    const replies = (await read.exec()) ?? [];
    const systems = knownSystems(this.rt);
    const out: PreparedEvent[] = [];
    for (let i = 0; i < keyed.length; i += 1) {
      const { event, eventKey } = keyed[i];
      const inBatch = seen.get(eventKey);
      if (inBatch) {
        out.push({ ...inBatch, event, duplicate: true });
        continue;
      }
      const [hubIdBefore, accepted] = (replies[i]?.[1] as Array<string | null>) ?? [null, null];
      if (hubIdBefore && accepted) {
        const p = { event, eventKey, hubId: hubIdBefore, duplicate: true };
        seen.set(eventKey, p);
        out.push(p);
        continue;
      }
      const candidate = hubIdBefore ?? (await this.findExistingCase({ ...event.case, source: { ...event.case.source, system } }, systems)) ?? newHubId();
      // First writer wins: two processes taking the same event settle on one hub id.
      const claim = await this.rt.redis
        .multi()
        .hsetnx(this.rt.keys.event(eventKey), 'hubId', candidate)
        .expire(this.rt.keys.event(eventKey), this.rt.retentionSeconds)
        .hget(this.rt.keys.event(eventKey), 'hubId')
        .exec();
      const hubId = (claim?.[2]?.[1] as string | null) ?? candidate;
      const p = { event, eventKey, hubId, duplicate: false };
      seen.set(eventKey, p);
      out.push(p);
    }
    return out;
  }

  private async findExistingCase(kase: CanonicalCase, systems: string[]): Promise<string | null> {
    if (kase.hubId && (await this.rt.cases.meta(kase.hubId))) return kase.hubId;
    for (const ref of linkableReferences(kase)) {
      const lookIn = ref.system === 'hub' || ref.system === 'external' ? systems : [ref.system];
      const found = await this.rt.cases.findHubId(ref.id, lookIn);
      if (found) return found;
    }
    return null;
  }
}

