/**
 * CaseStore.forDelivery: what a delivery reads before it calls the peer (its delivery record, the stored case, the
 * case's references), as plain commands the store connection auto-pipelines. Every reply is checked: a failed one
 * fails the read with the typed, retryable StoreUnavailableError, never reads as "no case" or "not delivered".
 */
import { Redis } from 'ioredis';
import { CaseStore } from '../../src/core/store/case-store';
import { Keys } from '../../src/core/store/keys';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { StoreUnavailableError } from '../../src/core/store/replies';
import { REDIS_URL, quietRedis, testRedis } from '../helpers/redis';
import type { CanonicalCase } from '../../src/core/model/canonical.generated';

describe('CaseStore.forDelivery', () => {
  const t = testRedis();
  // As the hub connects: auto-pipelining on, so the three reads share one socket write.
  const store = quietRedis(new Redis(REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: null }));
  const keys = new Keys(t.prefix);
  const cases = new CaseStore(store, keys, new PayloadCipher(PayloadCipher.generateKey()), 3600);
  const kase: CanonicalCase = { hubId: 'hub-read-1', type: 'complaint', source: { system: 'recorder', id: 'r-1' }, parties: [] };

  afterAll(async () => {
    store.disconnect();
    await t.cleanup();
  });

  it('reads the case, its references and whether it was delivered', async () => {
    const tx = store.multi();
    cases.writePayload(tx, 'ev-1', kase);
    cases.writeReferences(tx, 'hub-read-1', [{ system: 'icasework', connection: 'icw', id: '42', kind: 'caseid' }]);
    await tx.exec();
    const before = await cases.forDelivery(keys.delivered('d-1'), 'ev-1', 'hub-read-1');
    expect(before).toEqual({ delivered: false, kase, references: [{ system: 'icasework', connection: 'icw', id: '42', kind: 'caseid' }] });
    await t.redis.set(keys.delivered('d-1'), '{}');
    expect((await cases.forDelivery(keys.delivered('d-1'), 'ev-1', 'hub-read-1')).delivered).toBe(true);
    expect((await cases.forDelivery(keys.delivered('d-2'), 'ev-missing', 'hub-none'))).toEqual({ delivered: false, kase: null, references: [] });
  });

  it('fails with a retryable StoreUnavailableError when any reply is an error, instead of reading "no case"', async () => {
    // References of the wrong type: HGETALL answers WRONGTYPE while the other two reads succeed.
    await t.redis.set(keys.caseRefs('hub-broken'), 'not a hash');
    const read = cases.forDelivery(keys.delivered('d-3'), 'ev-1', 'hub-broken');
    await expect(read).rejects.toBeInstanceOf(StoreUnavailableError);
    await expect(read).rejects.toMatchObject({ retryable: true, context: { hubId: 'hub-broken', operation: 'reading a case for delivery' } });
    // The payload of the wrong type: GET answers WRONGTYPE.
    await t.redis.hset(keys.payload('ev-hash'), 'x', '1');
    await expect(cases.forDelivery(keys.delivered('d-4'), 'ev-hash', 'hub-read-1')).rejects.toBeInstanceOf(StoreUnavailableError);
  });
});
