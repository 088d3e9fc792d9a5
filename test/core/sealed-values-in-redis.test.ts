/**
 * Sealed values in Redis (payloads, views, echo records, peers' error texts) are stored as bytes (format v2), and
 * what a hub before 2026-12-01 stored as text (format v1) still reads after an upgrade: a delivery finds its case,
 * intake finds the views and echo records it compares against, and the views' compare-and-set accepts the version
 * of a v1 view it read (and refuses a stale one). Real Redis; the v1 values are built here from the format.
 */
import { Redis } from 'ioredis';
import type { CanonicalCase } from '../../src/core/model/canonical.generated';
import { CaseStore } from '../../src/core/store/case-store';
import { EchoStore } from '../../src/core/store/echo-store';
import { Keys } from '../../src/core/store/keys';
import type { CaseView } from '../../src/core/store/merge';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { ViewStore } from '../../src/core/store/view-store';
import { REDIS_URL, quietRedis, testRedis } from '../helpers/redis';
import { sealV1 as sealV1With } from '../helpers/sealed-v1';

const KEY = PayloadCipher.generateKey();

const sealV1 = (plain: string): string => sealV1With(KEY, plain);

describe('sealed values in Redis', () => {
  const t = testRedis();
  const store = quietRedis(new Redis(REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: null }));
  const keys = new Keys(t.prefix);
  const cipher = new PayloadCipher(KEY);
  const cases = new CaseStore(store, keys, cipher, 3600);
  const views = new ViewStore(store, keys, cipher, 3600);
  const echoes = new EchoStore(store, keys, cipher, 3600);
  const kase: CanonicalCase = {
    hubId: 'hub-sealed-1',
    type: 'complaint',
    source: { system: 'recorder', id: 'r-1' },
    parties: [{ roles: ['applicant'], person: { surname: 'Ångström', forenames: 'Zoë', birthDate: '1990-02-03' } }],
  };
  const view = (eventId: string, c: CanonicalCase): CaseView => ({ system: 'recorder', connection: 'rec', source: 'cases', eventId, eventKey: `k-${eventId}`, at: '2026-12-01T12:00:00.000Z', case: c });

  afterAll(async () => {
    store.disconnect();
    await t.cleanup();
  });

  it('writes payloads, views and echo records as v2 bytes with no plaintext, and reads them back', async () => {
    const tx = store.multi();
    cases.writePayload(tx, 'ev-new', kase);
    cases.sealPeerError(tx, 'hub-sealed-1', 'd-1#1', { message: 'Surname Ångström rejected' });
    echoes.setBaseline(tx, 'hub-sealed-1', 'rec', { ...kase, status: 'open' });
    await tx.exec();
    await echoes.expect('hub-sealed-1', 'rec', 'd-1', kase);
    expect(await views.writeIfUnchanged([{ hubId: 'hub-sealed-1', view: view('e-1', kase), expected: null }])).toEqual([true]);

    const stored = [
      await t.redis.getBuffer(keys.payload('ev-new')),
      ...Object.values(await t.redis.hgetallBuffer(keys.views('hub-sealed-1'))),
      ...Object.values(await t.redis.hgetallBuffer(keys.echo('hub-sealed-1', 'rec'))),
      ...Object.values(await t.redis.hgetallBuffer(keys.peerErrors('hub-sealed-1'))),
    ];
    expect(stored).toHaveLength(5);
    for (const value of stored) {
      expect(value!.subarray(0, 3).toString('latin1')).toBe('v2:');
      expect(value!.includes(Buffer.from('Ångström'))).toBe(false);
    }
    expect(await cases.readPayload('ev-new')).toEqual(kase);
    expect((await cases.forDelivery(keys.delivered('d-1'), 'ev-new', 'hub-sealed-1')).kase).toEqual(kase);
    expect(await cases.peerErrors('hub-sealed-1')).toEqual({ 'd-1#1': { message: 'Surname Ångström rejected' } });
    expect((await views.read('hub-sealed-1')).map((v) => v.case)).toEqual([kase]);
    const [record] = await echoes.readMany([{ hubId: 'hub-sealed-1', connection: 'rec' }]);
    expect(record?.baseline).toEqual({ status: 'open' });
    expect(record?.sent[0].parties[0].surname).toBe('ångström');
  });

  it('a view written now is replaced only by a writer that read its version (compare-and-set over bytes)', async () => {
    const [read] = (await views.readMany(['hub-sealed-1'])).get('hub-sealed-1')!;
    const next = { ...kase, status: 'closed' };
    expect(await views.writeIfUnchanged([{ hubId: 'hub-sealed-1', view: view('e-2', next), expected: read.version }])).toEqual([true]);
    // The version read before that write is stale now.
    expect(await views.writeIfUnchanged([{ hubId: 'hub-sealed-1', view: view('e-3', kase), expected: read.version }])).toEqual([false]);
    expect((await views.read('hub-sealed-1'))[0].case.status).toBe('closed');
  });

  describe('values a hub before 2026-12-01 stored as text (v1)', () => {
    const hubId = 'hub-v1';
    beforeAll(async () => {
      await t.redis.set(keys.payload('ev-v1'), sealV1(JSON.stringify({ ...kase, hubId })));
      await t.redis.hset(keys.views(hubId), 'rec', sealV1(JSON.stringify(view('e-v1', { ...kase, hubId }))));
      await t.redis.hset(keys.echo(hubId, 'rec'), 'sent:d-v1', sealV1(JSON.stringify({ notes: ['n'], parties: [{ surname: 'ångström' }] })), 'baseline', sealV1(JSON.stringify({ status: 'open' })), 'peer:42', '1');
      await t.redis.hset(keys.peerErrors(hubId), 'd-v1#1', sealV1(JSON.stringify({ message: 'old text' })));
    });

    it('are read by a delivery, by intake and by the operator page', async () => {
      expect(await cases.readPayload('ev-v1')).toEqual({ ...kase, hubId });
      expect((await cases.forDelivery(keys.delivered('d-v1'), 'ev-v1', hubId)).kase).toEqual({ ...kase, hubId });
      expect((await views.read(hubId))[0].eventId).toBe('e-v1');
      expect(await echoes.readMany([{ hubId, connection: 'rec' }])).toEqual([{ sent: [{ notes: ['n'], parties: [{ surname: 'ångström' }] }], peerIds: ['42'], baseline: { status: 'open' } }]);
      expect(await cases.peerErrors(hubId)).toEqual({ 'd-v1#1': { message: 'old text' } });
    });

    it('a v1 view is replaced by a writer holding its version, not by one holding another', async () => {
      const [read] = (await views.readMany([hubId])).get(hubId)!;
      expect(await views.writeIfUnchanged([{ hubId, view: view('e-x', kase), expected: 'f'.repeat(40) }])).toEqual([false]);
      expect(await views.writeIfUnchanged([{ hubId, view: view('e-v2', { ...kase, hubId, status: 'closed' }), expected: read.version }])).toEqual([true]);
      const [now] = await views.read(hubId);
      expect(now.eventId).toBe('e-v2');
      expect((await t.redis.hgetBuffer(keys.views(hubId), 'rec'))!.subarray(0, 3).toString('latin1')).toBe('v2:');
    });
  });
});
