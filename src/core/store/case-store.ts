/**
 * Cases at rest: encrypted payloads (one per accepted source event), cross-references between the hub id and each
 * peer's id, and a small plaintext index of non-personal facts (type, source, latest payload).
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { CanonicalCase, CrossReference } from '../model/canonical.generated';
import type { Keys } from './keys';
import type { PayloadCipher } from './payload-cipher';
import { assertHubId, storeCall } from './replies';

export interface CaseMeta {
  hubId: string;
  type?: string;
  sourceSystem?: string;
  sourceConnection?: string;
  latestPayload?: string;
  createdAt?: string;
  updatedAt?: string;
}

function refField(ref: CrossReference): string {
  return `${ref.system}|${ref.connection ?? ''}|${ref.kind ?? ''}`;
}

export class CaseStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly cipher: PayloadCipher,
    private readonly ttlSeconds: number,
    /** Cross-references outlive payloads: a peer may come back to a case (a note, a status) long after delivery. */
    readonly referenceTtlSeconds: number = ttlSeconds,
  ) {}

  writePayload(tx: ChainableCommander, ref: string, kase: CanonicalCase): void {
    if (kase.hubId !== undefined) assertHubId(kase.hubId, 'storing a case payload');
    tx.set(this.keys.payload(ref), this.cipher.seal(JSON.stringify(kase)), 'EX', this.ttlSeconds);
  }

  async readPayload(ref: string): Promise<CanonicalCase | null> {
    return this.openPayload(await this.redis.getBuffer(this.keys.payload(ref)));
  }

  /** Keeps a peer's own words about a failed attempt (sensitive) encrypted like payloads, for operators only. */
  sealPeerError(tx: ChainableCommander, hubId: string, attemptId: string, detail: object): void {
    const key = this.keys.peerErrors(hubId);
    tx.hset(key, attemptId, this.cipher.seal(JSON.stringify(detail)));
    tx.expire(key, this.ttlSeconds);
  }

  /** The peers' error texts of a case, decrypted, by attempt id (`<deliveryId>#<attempt>`). */
  async peerErrors(hubId: string): Promise<Record<string, unknown>> {
    const sealed = await this.redis.hgetallBuffer(this.keys.peerErrors(hubId));
    return Object.fromEntries(Object.entries(sealed).map(([id, value]) => [id, JSON.parse(this.cipher.open(value)) as unknown]));
  }

  openPayload(sealed: Buffer | null): CanonicalCase | null {
    return sealed === null ? null : (JSON.parse(this.cipher.open(sealed)) as CanonicalCase);
  }

  /**
   * What a delivery needs, in one round trip: its delivery record (if already delivered), the case and its references.
   * Three plain commands issued together, not a pipeline of their own: the store connection auto-pipelines, so they
   * leave in the same socket write as the other deliveries' commands of this event-loop turn (an explicit pipeline is
   * always a write of its own). Any failed reply fails the read, as a checked pipeline would.
   */
  async forDelivery(deliveryKey: string, payloadRef: string, hubId: string): Promise<{ delivered: boolean; kase: CanonicalCase | null; references: CrossReference[] }> {
    const [delivered, sealed, refs] = await storeCall(
      'reading a case for delivery',
      () => Promise.all([this.redis.exists(deliveryKey), this.redis.getBuffer(this.keys.payload(payloadRef)), this.redis.hgetall(this.keys.caseRefs(hubId))]),
      { hubId },
    );
    return {
      delivered: delivered === 1,
      kase: this.openPayload(sealed),
      references: Object.values(refs).map((v) => JSON.parse(v) as CrossReference),
    };
  }

  /**
   * `newCase`: the hub id was minted for this very event (intake's claim chose its own new id), so no earlier writer
   * can hold createdAt, type or source: one HSET instead of four HSETNX and an HSET.
   */
  writeMeta(tx: ChainableCommander, kase: CanonicalCase & { hubId: string }, payloadRef: string, now: string, newCase = false): void {
    assertHubId(kase.hubId, 'storing a case');
    const key = this.keys.caseMeta(kase.hubId);
    if (newCase) {
      tx.hset(key, { createdAt: now, type: kase.type, sourceSystem: kase.source.system, sourceConnection: kase.source.connection ?? '', hubId: kase.hubId, latestPayload: payloadRef, updatedAt: now });
      tx.expire(key, this.ttlSeconds);
      return;
    }
    tx.hsetnx(key, 'createdAt', now);
    // Type and source are the origin's: a later system's view of the case does not make it "from" that system.
    tx.hsetnx(key, 'type', kase.type);
    tx.hsetnx(key, 'sourceSystem', kase.source.system);
    tx.hsetnx(key, 'sourceConnection', kase.source.connection ?? '');
    tx.hset(key, { hubId: kase.hubId, latestPayload: payloadRef, updatedAt: now });
    tx.expire(key, this.ttlSeconds);
  }

  async meta(hubId: string): Promise<CaseMeta | null> {
    const raw = await this.redis.hgetall(this.keys.caseMeta(hubId));
    return raw.hubId ? (raw as unknown as CaseMeta) : null;
  }

  /**
   * Records cross-references; an id already linked to another hub case is left as it is. Each id's link is written
   * once per call (two references may carry one id: a source id that is also an application number), and not at all
   * for the xref keys in `linked`: ones the caller has just claimed for this hub id with the same SET NX (intake's
   * claim script).
   */
  writeReferences(tx: ChainableCommander, hubId: string, refs: CrossReference[], linked?: ReadonlySet<string>): void {
    assertHubId(hubId, 'linking references');
    const written = new Set<string>(linked);
    for (const ref of refs) {
      if (!ref.id) continue;
      tx.hset(this.keys.caseRefs(hubId), refField(ref), JSON.stringify(ref));
      const xref = this.keys.xref(ref.system, ref.id);
      if (written.has(xref)) continue;
      written.add(xref);
      tx.set(xref, hubId, 'EX', this.referenceTtlSeconds, 'NX');
    }
    if (refs.length) tx.expire(this.keys.caseRefs(hubId), this.referenceTtlSeconds);
  }

  async references(hubId: string): Promise<CrossReference[]> {
    const raw: Record<string, string> = await this.redis.hgetall(this.keys.caseRefs(hubId));
    return Object.values(raw).map((v) => JSON.parse(v) as CrossReference);
  }

  /** Finds the hub case behind any id: a hub id, or a peer's id in one named system or any system we know. */
  async findHubId(id: string, systems: string[]): Promise<string | null> {
    if (await this.redis.exists(this.keys.caseMeta(id))) return id;
    if (systems.length === 0) return null;
    const found = await this.redis.mget(...systems.map((s) => this.keys.xref(s, id)));
    return found.find((v): v is string => v !== null) ?? null;
  }

  async latestCase(hubId: string): Promise<CanonicalCase | null> {
    const meta = await this.meta(hubId);
    return meta?.latestPayload ? this.readPayload(meta.latestPayload) : null;
  }
}
