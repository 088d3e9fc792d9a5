/**
 * A connection's first view of a case is the event's case as its payload holds it, so it is stored as a reference to
 * that payload instead of a second sealed copy (a third of a case's Redis memory). What must hold: it reads back as
 * the same case; every write to the views hash keeps the referenced payloads alive as long as the hash; a reference
 * is never written to a payload that is not stored; a view updated later holds its case again and stops renewing the
 * payload; a reference whose payload is gone reads as no view but keeps its version, so the event's retry mends
 * it. Real Redis.
 */
import { Redis } from 'ioredis';
import type { CanonicalCase } from '../../src/core/model/canonical.generated';
import { CaseStore } from '../../src/core/store/case-store';
import { Keys } from '../../src/core/store/keys';
import type { CaseView } from '../../src/core/store/merge';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { PAYLOAD_REFS_FIELD, ViewStore } from '../../src/core/store/view-store';
import { INBOX_TO_SINK_YAML, startTestHub, type TestHub } from '../helpers/hub';
import { REDIS_URL, quietRedis, testRedis } from '../helpers/redis';

const TTL = 3600;

describe('views stored as references to their event payload (ViewStore)', () => {
  const t = testRedis();
  const store = quietRedis(new Redis(REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: null }));
  const keys = new Keys(t.prefix);
  const cipher = new PayloadCipher(PayloadCipher.generateKey());
  const cases = new CaseStore(store, keys, cipher, TTL);
  const views = new ViewStore(store, keys, cipher, TTL);
  const caseOf = (id: string, connection: string): CanonicalCase => ({
    type: 'complaint',
    source: { system: 'recorder', connection, id, eventId: `ev-${id}` },
    title: 'x'.repeat(4000),
    parties: [{ roles: ['applicant'], person: { surname: 'Ångström', forenames: 'Zoë' } }],
    notes: [{ text: `note of ${id}` }],
  });
  const viewOf = (connection: string, eventKey: string, c: CanonicalCase): CaseView => ({ system: 'recorder', connection, source: 'inbox', eventId: `ev-${eventKey}`, eventKey, at: '2026-12-01T16:00:00.000Z', case: c });
  /** Stores the event's payload as intake does: the stored case plus the hub id. */
  const storePayload = async (hubId: string, eventKey: string, c: CanonicalCase): Promise<void> => {
    const tx = store.multi();
    cases.writePayload(tx, eventKey, { ...c, hubId });
    await tx.exec();
  };
  const refsLine = async (hubId: string) => t.redis.hget(keys.views(hubId), PAYLOAD_REFS_FIELD);

  afterAll(async () => {
    store.disconnect();
    await t.cleanup();
  });

  it('stores a first view as a reference of a few hundred bytes that reads back as the payload\'s case less its hub id', async () => {
    const c = caseOf('a-1', 'rec');
    await storePayload('hub-a', 'ek-a1', c);
    expect(await views.writeIfUnchanged([{ hubId: 'hub-a', view: viewOf('rec', 'ek-a1', c), expected: null, inPayload: true }])).toEqual([true]);
    const sealed = (await t.redis.hgetBuffer(keys.views('hub-a'), 'rec'))!;
    expect(sealed.length).toBeLessThan(600);
    expect(await refsLine('hub-a')).toBe('rec ek-a1');
    const [read] = await views.read('hub-a');
    expect(read).toEqual(viewOf('rec', 'ek-a1', c));
    expect(read.case).not.toHaveProperty('hubId');
  });

  it('the negative: a view not marked as its payload\'s case is stored whole, with no reference', async () => {
    const c = caseOf('b-1', 'rec');
    await storePayload('hub-b', 'ek-b1', c);
    expect(await views.writeIfUnchanged([{ hubId: 'hub-b', view: viewOf('rec', 'ek-b1', c), expected: null }])).toEqual([true]);
    expect((await t.redis.hgetBuffer(keys.views('hub-b'), 'rec'))!.length).toBeGreaterThan(4000);
    expect(await refsLine('hub-b')).toBeNull();
    expect((await views.read('hub-b'))[0]).toEqual(viewOf('rec', 'ek-b1', c));
  });

  it('renews a referenced payload with every write to the views hash, and stops once the view holds its case again', async () => {
    const c = caseOf('c-1', 'rec');
    await storePayload('hub-c', 'ek-c1', c);
    await views.writeIfUnchanged([{ hubId: 'hub-c', view: viewOf('rec', 'ek-c1', c), expected: null, inPayload: true }]);
    // Time passes for the payload (as it would for a case first seen weeks ago) ...
    await t.redis.expire(keys.payload('ek-c1'), 5);
    // ... and another connection's view renews the hash: the payload it refers to is renewed with it.
    const other = caseOf('c-2', 'other');
    await storePayload('hub-c', 'ek-c2', other);
    await views.writeIfUnchanged([{ hubId: 'hub-c', view: viewOf('other', 'ek-c2', other), expected: null, inPayload: true }]);
    expect(await t.redis.ttl(keys.payload('ek-c1'))).toBeGreaterThan(TTL - 60);
    expect((await refsLine('hub-c'))!.split('\n').sort()).toEqual(['other ek-c2', 'rec ek-c1']);

    // The rec view updated (a later event: its own case now): its line goes, the other connection's stays.
    const [recView] = (await views.readMany(['hub-c'])).get('hub-c')!.filter((v) => v.connection === 'rec');
    const updated = { ...c, status: 'closed' };
    expect(await views.writeIfUnchanged([{ hubId: 'hub-c', view: viewOf('rec', 'ek-c3', updated), expected: recView.version }])).toEqual([true]);
    expect(await refsLine('hub-c')).toBe('other ek-c2');
    await t.redis.expire(keys.payload('ek-c1'), 5);
    await t.redis.expire(keys.payload('ek-c2'), 5);
    const [otherView] = (await views.readMany(['hub-c'])).get('hub-c')!.filter((v) => v.connection === 'other');
    await views.writeIfUnchanged([{ hubId: 'hub-c', view: viewOf('other', 'ek-c2', other), expected: otherView.version, inPayload: true }]);
    expect(await t.redis.ttl(keys.payload('ek-c1'))).toBeLessThanOrEqual(5);
    expect(await t.redis.ttl(keys.payload('ek-c2'))).toBeGreaterThan(TTL - 60);
    expect((await views.read('hub-c')).map((v) => [v.connection, v.case.status ?? null]).sort()).toEqual([['other', null], ['rec', 'closed']]);
  });

  it('writes the view whole when its payload is not stored, so no reference ever points at nothing', async () => {
    const c = caseOf('d-1', 'rec');
    expect(await views.writeIfUnchanged([{ hubId: 'hub-d', view: viewOf('rec', 'ek-d-missing', c), expected: null, inPayload: true }])).toEqual([true]);
    expect(await refsLine('hub-d')).toBeNull();
    expect((await t.redis.hgetBuffer(keys.views('hub-d'), 'rec'))!.length).toBeGreaterThan(4000);
    expect((await views.read('hub-d'))[0].case).toEqual(c);
  });

  it('keeps the compare-and-set over a reference: its version replaces it, a stale one does not', async () => {
    const c = caseOf('e-1', 'rec');
    await storePayload('hub-e', 'ek-e1', c);
    await views.writeIfUnchanged([{ hubId: 'hub-e', view: viewOf('rec', 'ek-e1', c), expected: null, inPayload: true }]);
    const [read] = (await views.readMany(['hub-e'])).get('hub-e')!;
    expect(await views.writeIfUnchanged([{ hubId: 'hub-e', view: viewOf('rec', 'ek-e2', { ...c, status: 'stale' }), expected: 'f'.repeat(40) }])).toEqual([false]);
    expect(await views.writeIfUnchanged([{ hubId: 'hub-e', view: viewOf('rec', 'ek-e2', { ...c, status: 'open' }), expected: read.version }])).toEqual([true]);
    expect((await views.read('hub-e'))[0].case.status).toBe('open');
  });

  it('a reference whose payload is gone (a failover\'s loss, emulated) reads as no view, and the event\'s retry stores both again', async () => {
    const c = caseOf('f-1', 'rec');
    await storePayload('hub-f', 'ek-f1', c);
    await views.writeIfUnchanged([{ hubId: 'hub-f', view: viewOf('rec', 'ek-f1', c), expected: null, inPayload: true }]);
    const other = caseOf('f-2', 'other');
    await views.writeIfUnchanged([{ hubId: 'hub-f', view: viewOf('other', 'ek-f2', other), expected: null }]);
    await t.redis.del(keys.payload('ek-f1'));
    // No case to give (never a case made up), the other connection's view intact, and the version still known ...
    expect((await views.read('hub-f')).map((v) => v.connection)).toEqual(['other']);
    const gone = (await views.readMany(['hub-f'])).get('hub-f')!.find((v) => v.connection === 'rec')!;
    expect(gone.view).toBeNull();
    // ... so a stale writer is still refused, and the retry (payload stored again, then the view) replaces it.
    expect(await views.writeIfUnchanged([{ hubId: 'hub-f', view: viewOf('rec', 'ek-f1', c), expected: null, inPayload: true }])).toEqual([false]);
    await storePayload('hub-f', 'ek-f1', c);
    expect(await views.writeIfUnchanged([{ hubId: 'hub-f', view: viewOf('rec', 'ek-f1', c), expected: gone.version, inPayload: true }])).toEqual([true]);
    expect((await views.read('hub-f')).map((v) => v.connection).sort()).toEqual(['other', 'rec']);
  });
});

describe('views stored as references, through intake', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ yaml: INBOX_TO_SINK_YAML, roles: { api: true, workers: false } });
  });
  afterAll(() => t.stop());

  const ingest = async (eventId: string, kase: CanonicalCase) => (await t.hub.intake.ingest('inbox', 'inbox', [{ eventId, case: kase }]))[0].hubId;
  const applicant = { roles: ['applicant'], person: { surname: 'Intake-Surname' } };

  it('a new case\'s first view refers to its payload and reads as the stored case; a later event stores the view whole', async () => {
    const hubId = await ingest('ref-1', { type: 'complaint', source: { system: 'recorder', id: 'ref-case' }, title: 'first', parties: [applicant] });
    const viewsKey = t.hub.runtime.keys.views(hubId);
    const [eventKey] = (await t.redis.hget(viewsKey, PAYLOAD_REFS_FIELD))!.split(' ').slice(1);
    expect(await t.hub.runtime.cases.readPayload(eventKey)).toMatchObject({ hubId, title: 'first' });
    const [first] = await t.hub.runtime.views.read(hubId);
    expect(first.case).toEqual({ type: 'complaint', source: { system: 'recorder', id: 'ref-case', connection: 'inbox', eventId: 'ref-1' }, title: 'first', parties: [applicant] });

    await ingest('ref-2', { type: 'complaint', source: { system: 'recorder', id: 'ref-case' }, title: 'second', status: 'closed', parties: [applicant] });
    expect(await t.redis.hget(viewsKey, PAYLOAD_REFS_FIELD)).toBeNull();
    const [second] = await t.hub.runtime.views.read(hubId);
    expect(second.case).toMatchObject({ title: 'second', status: 'closed' });
  });

  it('the negative: an event whose case names a hub id itself is stored whole (its view is not its payload less the hub id)', async () => {
    const hubId = await ingest('own-id-1', { hubId: 'not-the-hub-id', type: 'complaint', source: { system: 'recorder', id: 'own-id-case' }, parties: [applicant] });
    expect(await t.redis.hget(t.hub.runtime.keys.views(hubId), PAYLOAD_REFS_FIELD)).toBeNull();
    expect((await t.hub.runtime.views.read(hubId))[0].case.hubId).toBe('not-the-hub-id');
  });
});
