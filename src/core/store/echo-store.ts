/**
 * Echo recognition from the hub's own delivery records, for any adapter.
 *
 * Before a delivery calls its action, the worker records what it is about to send to that connection for that hub
 * case (the notes' texts and the parties' identifying fields, encrypted); after it succeeds, the peer ids it got back.
 * When a source event of the same connection arrives for the same hub case, intake asks whether the hub's own
 * deliveries explain it: the same peer id (when one is known), every note one the hub sent, every party one the hub
 * sent, no change event the hub did not send, and the status the peer gave the case when it first echoed it. Then it is an echo: traced and counted, not
 * stored as a view, not routed. Anything the hub did not send (a caseworker's note, a new status, another person)
 * makes it a real event.
 */
import type { ChainableCommander, Redis } from 'ioredis';
import type { CanonicalCase, Party } from '../model/canonical.generated';
import type { Keys } from './keys';
import type { PayloadCipher } from './payload-cipher';
import { execChecked } from './replies';

/** Identifying fields of one party as sent, normalised. */
interface PartyPrint {
  surname?: string;
  forenames?: string;
  fullName?: string;
  birthDate?: string;
  organisation?: string;
}

interface SentPrint {
  notes: string[];
  parties: PartyPrint[];
  /** type|field|newValue of each change event sent. */
  events?: string[];
}

/** What the hub delivered to one connection for one case, read back by intake. */
export interface EchoRecord {
  sent: SentPrint[];
  peerIds: string[];
  /** The status the peer's first echo carried: a later, different status is the peer's own change. */
  baseline?: { status: string };
}

const norm = (v: unknown): string | undefined => {
  if (v === undefined || v === null) return undefined;
  const s = String(v).normalize('NFKC').replace(/\s+/g, ' ').trim().toLowerCase();
  return s === '' ? undefined : s;
};

function partyPrint(p: Party): PartyPrint {
  const person = p.person;
  return {
    surname: norm(person?.surname),
    forenames: norm(person?.forenames),
    fullName: norm(person?.fullName),
    birthDate: norm(person?.birthDate),
    organisation: norm(p.organisation?.name),
  };
}

function printOf(kase: CanonicalCase): SentPrint {
  return {
    notes: (kase.notes ?? []).map((n) => norm(n.text)).filter((t): t is string => t !== undefined),
    parties: (kase.parties ?? []).map(partyPrint),
    events: (kase.events ?? []).map(eventPrint),
  };
}

const eventPrint = (e: NonNullable<CanonicalCase['events']>[number]): string => [e.type, e.field, e.newValue].map((v) => norm(v) ?? '').join('|');

/** A party the peer sent back matches one the hub sent on every identifying field both carry (and at least one). */
function partyExplained(back: PartyPrint, sent: PartyPrint[]): boolean {
  const fields = (Object.keys(back) as Array<keyof PartyPrint>).filter((f) => back[f] !== undefined);
  if (fields.length === 0) return true;
  return sent.some((s) => {
    const shared = fields.filter((f) => s[f] !== undefined);
    return shared.length > 0 && shared.every((f) => s[f] === back[f] || (f === 'fullName' && nameParts(s[f]) === nameParts(back[f])));
  });
}

/** "Doe, Jane" and "jane doe" are the same full name. */
const nameParts = (v: string | undefined): string => (v ?? '').replace(/,/g, ' ').split(' ').filter(Boolean).sort().join(' ');

/** The baseline an echo sets: the status the peer gave the case. */
export function baselineOf(kase: CanonicalCase): { status: string } {
  return { status: norm(kase.status) ?? '' };
}

/** True when the hub's own deliveries to this connection explain everything the event says. */
export function isEcho(record: EchoRecord | null, kase: CanonicalCase): boolean {
  if (!record || record.sent.length === 0) return false;
  if (record.peerIds.length && kase.source.id && !record.peerIds.includes(kase.source.id)) return false;
  const sentNotes = record.sent.flatMap((s) => s.notes);
  const sentParties = record.sent.flatMap((s) => s.parties);
  const back = printOf(kase);
  // A peer may frame a note (a prefix, a heading): the text the hub sent inside it is enough.
  if (!back.notes.every((n) => sentNotes.some((s) => n === s || n.includes(s)))) return false;
  if (!back.parties.every((p) => partyExplained(p, sentParties))) return false;
  // A change event (a status change made in the peer's own UI) is news unless the hub sent that very change.
  const sentEvents = record.sent.flatMap((s) => s.events ?? []);
  if (!(back.events ?? []).every((e) => sentEvents.includes(e))) return false;
  if (record.baseline && (norm(kase.status) ?? '') !== record.baseline.status) return false;
  return true;
}

export class EchoStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: Keys,
    private readonly cipher: PayloadCipher,
    private readonly ttlSeconds: number,
  ) {}

  /**
   * Before a delivery: what it sends (written before the peer call, so a peer poll racing the delivery still finds it).
   * Plain commands, not a transaction: the store connection auto-pipelines them with the delivery's attempt record and
   * the other deliveries' commands of this event-loop turn (one socket write). The caller awaits them (with
   * storeCall) before calling the peer; nothing here needs to be atomic (a retry rewrites the same field).
   */
  expect(hubId: string, connection: string, deliveryId: string, sent: CanonicalCase): Promise<[number, number]> {
    const key = this.keys.echo(hubId, connection);
    return Promise.all([this.redis.hset(key, `sent:${deliveryId}`, this.cipher.seal(JSON.stringify(printOf(sent)))), this.redis.expire(key, this.ttlSeconds)]);
  }

  /**
   * After a delivery: the peer ids it got back. Only after `expect` in the same attempt: that gave the key its expiry
   * moments before (before the peer call), and HSET keeps it, so no second EXPIRE here.
   */
  recordPeers(tx: ChainableCommander, hubId: string, connection: string, peerIds: string[]): void {
    if (peerIds.length === 0) return;
    const key = this.keys.echo(hubId, connection);
    tx.hset(key, Object.fromEntries(peerIds.map((id) => [`peer:${id}`, '1'])));
  }

  /** Records the status of the peer's first echo (later echoes must carry the same). */
  setBaseline(tx: ChainableCommander, hubId: string, connection: string, kase: CanonicalCase): void {
    tx.hsetnx(this.keys.echo(hubId, connection), 'baseline', this.cipher.seal(JSON.stringify(baselineOf(kase))));
  }

  /** Records for several (hub case, connection) pairs in one round trip. */
  async readMany(pairs: Array<{ hubId: string; connection: string }>): Promise<Array<EchoRecord | null>> {
    if (pairs.length === 0) return [];
    const pipe = this.redis.pipeline();
    for (const p of pairs) pipe.hgetallBuffer(this.keys.echo(p.hubId, p.connection));
    const replies = await execChecked(pipe, 'reading echo records');
    return pairs.map((_, i) => this.open((replies[i] ?? {}) as Record<string, Buffer>));
  }

  private open(raw: Record<string, Buffer>): EchoRecord | null {
    const record: EchoRecord = { sent: [], peerIds: [] };
    for (const [field, value] of Object.entries(raw)) {
      if (field.startsWith('sent:')) record.sent.push(JSON.parse(this.cipher.open(value)) as SentPrint);
      else if (field.startsWith('peer:')) record.peerIds.push(field.slice(5));
      else if (field === 'baseline') record.baseline = JSON.parse(this.cipher.open(value)) as { status: string };
    }
    return record.sent.length ? record : null;
  }
}
