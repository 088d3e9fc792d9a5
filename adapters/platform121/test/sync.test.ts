/** Full sync (GET /registrations pages, export-list) and transactions -> canonical payments, over real HTTP. */
import type { PollSourceDefinition } from '../../../src/core/adapter';
import { upsertRows } from './batch';
import { SYNC_CURSOR_KEY, type SyncCursor } from '../src/sources/registrations';
import { adapter, countingEmit, startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(() => env.sb.reset());

const registrations = adapter.sources.registrations as PollSourceDefinition<unknown>;
const transactions = adapter.sources.transactions as PollSourceDefinition<unknown>;

async function addRegistrations(h: ReturnType<TestEnv['harness']>, n: number): Promise<void> {
  await upsertRows(
    h.ctx,
    Array.from({ length: n }, (_, i) => ({
      referenceId: `sync-row-${String(i).padStart(3, '0')}`,
      programFspConfigurationName: 'ironBank',
      fullName: `Person ${i}`,
      phoneNumber: `3161234${String(1000 + i)}`,
      house: i % 2 ? 'stark' : 'greyjoy',
    })),
  );
}

describe('registrations source (full sync)', () => {
  it('pages through GET /registrations with keyset pages, resumes after a restart, then stops', async () => {
    const a = env.harness('sync-conn');
    await addRegistrations(a, 7); // 3 seeded + 7 = 10
    env.sb.clearRequests();
    const count = countingEmit(a.emit);

    const first = await registrations.poll(a.ctx, count.emit, { pageSize: 3, maxPagesPerPoll: 2 });
    expect(first?.emitted).toBe(6);
    const cursor = await a.ctx.state.getJson<SyncCursor>(SYNC_CURSOR_KEY);
    expect(cursor).toEqual(expect.objectContaining({ done: false, lastId: 6 }));
    const pages = env.sb.apiRequests({ method: 'GET', path: '/registrations' });
    expect(pages.map((p) => [p.query['filter.id'], p.query.limit, p.query.sortBy, p.query.page])).toEqual([
      ['$gt:0', '3', 'id:ASC', '1'],
      ['$gt:3', '3', 'id:ASC', '1'],
    ]);

    await adapter.close?.(a.ctx);
    const b = env.harness('sync-conn');
    const second = await registrations.poll(b.ctx, count.emit, { pageSize: 3, maxPagesPerPoll: 2 });
    expect(second?.emitted).toBe(4);
    expect((await b.ctx.state.getJson<SyncCursor>(SYNC_CURSOR_KEY))?.done).toBe(true);
    const third = await registrations.poll(b.ctx, count.emit, { pageSize: 3 });
    expect(third?.emitted).toBe(0);

    expect(new Set(count.handed).size).toBe(10);
    const refs = [...a.emitted, ...b.emitted].map((e) => e.case.source.id).sort();
    expect(refs).toEqual(env.sb.registrations(2).map((r) => String(r.referenceId)).sort());
    const sample = [...a.emitted, ...b.emitted].find((e) => e.case.source.id === 'sync-row-004');
    expect(sample?.case).toEqual(
      expect.objectContaining({
        type: 'cash-assistance',
        status: 'new',
        parties: [expect.objectContaining({ roles: ['beneficiary'], person: expect.objectContaining({ fullName: 'Person 4' }) })],
      }),
    );
    expect(sample?.eventId).toMatch(/^registration:sync-row-004:[0-9a-f]{16}$/);
  });

  it('in repeat mode a changed registration gets a new eventId, an unchanged one the same', async () => {
    const h = env.harness();
    await registrations.poll(h.ctx, h.emit, { mode: 'repeat' });
    const before = new Map(h.emitted.map((e) => [e.case.source.id, e.eventId]));
    env.sb.portalUpdate('westeros987654321', { motto: 'Valar morghulis' });
    const count = countingEmit(h.emit);
    await registrations.poll(h.ctx, count.emit, { mode: 'repeat' });
    await registrations.poll(h.ctx, count.emit, { mode: 'repeat' });
    expect(h.emitted).toHaveLength(4);
    expect(h.emitted[3].case.source.id).toBe('westeros987654321');
    expect(h.emitted[3].eventId).not.toBe(before.get('westeros987654321'));
    // Every pass hands the unchanged registrations again with the same eventId (the hub drops them as duplicates).
    const unchanged = count.handed.filter((id) => id.startsWith('registration:westeros123456789:'));
    expect(unchanged).toEqual([before.get('westeros123456789'), before.get('westeros123456789')]);
  });

  it('applies configured filters', async () => {
    const h = env.harness();
    env.sb.portalChangeStatus('westeros123456789', 'included');
    await registrations.poll(h.ctx, h.emit, { filters: { status: '$in:included,validated' } });
    expect(h.emitted.map((e) => e.case.source.id)).toEqual(['westeros123456789']);
    expect(env.sb.apiRequests({ path: '/registrations' }).at(-1)?.query['filter.status']).toBe('$in:included,validated');
  });

  it('can read the export-list instead (one unpaginated call)', async () => {
    const h = env.harness();
    const outcome = await registrations.poll(h.ctx, h.emit, { via: 'export-list', filters: { status: '$eq:new' } });
    expect(outcome?.emitted).toBe(3);
    const req = env.sb.apiRequests({ path: '/metrics/export-list/registrations' });
    expect(req).toHaveLength(1);
    expect(req[0].query).toEqual({ format: 'json', 'filter.status': '$eq:new' });
    expect(h.emitted.map((e) => e.case.parties[0].person?.fullName).sort()).toEqual(['Arya Stark', 'John Snow', 'Tyrion Lannister']);
  });
});

describe('transactions source', () => {
  it('emits new transactions and status changes as canonical payments, once each', async () => {
    const h = env.harness();
    const count = countingEmit(h.emit);
    const start = new Date(Date.now() - 1000).toISOString();
    const tx1 = env.sb.addTransaction({ referenceId: 'westeros123456789', amount: 20, status: 'waiting', paymentId: 3 });
    env.sb.addTransaction({ referenceId: 'westeros987654321', amount: 10, status: 'success', paymentId: 3 });

    const first = await transactions.poll(h.ctx, count.emit, { startAt: start });
    expect(first?.emitted).toBe(2);
    expect(h.emitted[0].eventId).toBe(`transaction:${tx1.id}:waiting`);
    expect(h.emitted[0].case).toEqual(
      expect.objectContaining({
        type: 'cash-assistance',
        status: 'new',
        source: expect.objectContaining({ system: 'platform121', id: 'westeros123456789' }),
        parties: [{ id: 'westeros123456789', roles: ['beneficiary'], person: { fullName: 'John Snow' } }],
        payments: [
          expect.objectContaining({
            id: String(tx1.id),
            paymentId: '3',
            direction: 'out',
            amount: 20,
            currency: 'MWK',
            status: 'waiting',
            method: 'ironBank',
            partyId: 'westeros123456789',
          }),
        ],
      }),
    );

    expect((await transactions.poll(h.ctx, count.emit, {}))?.emitted).toBe(0);
    env.sb.setTransactionStatus(tx1.id, 'success');
    const third = await transactions.poll(h.ctx, count.emit, {});
    expect(third?.emitted).toBe(1);
    expect(h.emitted[2].eventId).toBe(`transaction:${tx1.id}:success`);
    expect(h.emitted[2].case.payments?.[0].status).toBe('success');
    expect(new Set(count.handed).size).toBe(count.handed.length);
  });

  it('starts "now" by default and treats the 404 "no data" as empty', async () => {
    const h = env.harness();
    env.sb.addTransaction({ referenceId: 'westeros123456789', amount: 5, created: new Date(Date.now() - 3600_000).toISOString() });
    const outcome = await transactions.poll(h.ctx, h.emit, {});
    expect(outcome?.emitted).toBe(0);
    expect(env.sb.apiRequests({ path: '/transactions' }).map((r) => r.status)).toEqual([404]);
  });
});
