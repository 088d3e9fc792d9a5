/**
 * Seed-002 payment endpoints over loopback HTTP against the sandbox: payments, payment transactions, the Excel
 * reconciliation upload, the paper-voucher image, the unused-vouchers export and GET /registrations/{id}.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createAjv } from '../../../src/core/config/ajv';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { PermanentError } from '../../../src/core/errors';
import { getPaperVoucherImage } from '../src/endpoints';
import { Platform121Error } from '../src/errors';
import { reconciliationCsv } from '../src/payment-actions';
import { runtimeFor } from '../src/runtime';
import { VOUCHERS_FETCHED_KEY } from '../src/sources/payment-transactions';
import { adapter, deliveryRequest, startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(() => env.sb.reset());

const JOHN = 'westeros123456789';
const ARYA = 'westeros987654321';
const TYRION = 'westeros135792468';

function seedPayments(): void {
  env.sb.addTransaction({ referenceId: JOHN, amount: 25, status: 'success', paymentId: 1 });
  env.sb.addTransaction({ referenceId: ARYA, amount: 25, status: 'error', paymentId: 1 });
  env.sb.addTransaction({ referenceId: JOHN, amount: 30, status: 'waiting', paymentId: 2 });
  env.sb.addTransaction({ referenceId: ARYA, amount: 30, status: 'waiting', paymentId: 2 });
}

describe('GET /api/programs/{programId}/payments (source payments)', () => {
  it('emits each payment run, newest first, and again only when its aggregates change', async () => {
    seedPayments();
    const h = env.harness();
    const source = adapter.sources.payments;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    await source.poll(h.ctx, h.emit, {});
    expect(h.emitted.map((e) => e.case.source.id)).toEqual(['payment:2', 'payment:1']);
    const p1 = h.emitted[1].case;
    expect(p1.extensions?.platform121).toEqual(
      expect.objectContaining({ kind: 'payment', payment: expect.objectContaining({ paymentId: 1, name: 'Payment 1', isPaymentApproved: true }) }),
    );
    expect(p1.payments?.find((p) => p.status === 'success')).toEqual(expect.objectContaining({ paymentId: '1', amount: 25, currency: 'MWK' }));
    expect(p1.payments?.find((p) => p.status === 'failed')?.amount).toBe(25);
    expect(env.sb.apiRequests({ method: 'GET', path: '/api/programs/2/payments' }).map((r) => r.status)).toEqual([200]);

    const again = await source.poll(h.ctx, h.emit, {});
    expect(again?.emitted).toBe(0);
    env.sb.setTransactionStatus(3, 'success');
    const changed = await source.poll(h.ctx, h.emit, {});
    expect(changed?.emitted).toBe(1);
  });

  it('403 without payment.read', async () => {
    const h = env.harness(undefined, { username: 'viewer@example.org', password: 'password' });
    const source = adapter.sources.payments;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    await expect(source.poll(h.ctx, h.emit, {})).rejects.toMatchObject({ status: 403, code: 'PEER_FORBIDDEN' });
  });
});

describe('GET /api/programs/{programId}/payments/{paymentId}/transactions (source paymentTransactions)', () => {
  it('pages through the chosen payments, emits each transaction per status once, with the registration (GET /registrations/{id})', async () => {
    seedPayments();
    const h = env.harness();
    const source = adapter.sources.paymentTransactions;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    await source.poll(h.ctx, h.emit, { paymentIds: [1], pageSize: 1, includeRegistration: true });
    const pages = env.sb.apiRequests({ path: '/payments/1/transactions' });
    expect(pages.map((r) => [r.status, r.query.page, r.query.limit, r.query.sortBy])).toEqual([
      [200, '1', '1', 'id:ASC'],
      [200, '2', '1', 'id:ASC'],
    ]);
    expect(h.emitted.map((e) => e.eventId)).toEqual(['payment-transaction:1:success', 'payment-transaction:2:error']);
    const first = h.emitted[0].case;
    expect(first.payments).toEqual([expect.objectContaining({ id: '1', paymentId: '1', amount: 25, status: 'success', method: 'ironBank', partyId: JOHN, currency: 'MWK' })]);
    expect(first.parties[0].person?.fullName).toBe('John Snow');
    const byId = env.sb.apiRequests({ method: 'GET', path: /\/api\/programs\/2\/registrations\/\d+$/ });
    expect(byId.map((r) => r.status)).toEqual([200, 200]);

    // Filters go to 121 (nestjs-paginate); the newest payments are the default.
    const other = env.harness();
    await source.poll(other.ctx, other.emit, { filters: { status: '$in:waiting' }, latestPayments: 1 });
    expect(other.emitted.map((e) => e.eventId)).toEqual(['payment-transaction:3:waiting', 'payment-transaction:4:waiting']);
    expect(env.sb.apiRequests({ path: '/payments/2/transactions' })[0].query['filter.status']).toBe('$in:waiting');
  });

  it('an unknown payment is a 404 with 121\'s message', async () => {
    const h = env.harness();
    const source = adapter.sources.paymentTransactions;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    const err = await source.poll(h.ctx, h.emit, { paymentIds: [9] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Platform121Error);
    expect(err).toMatchObject({ status: 404, code: 'PEER_NOT_FOUND' });
  });
});

describe('POST /api/programs/{programId}/payments/{paymentId}/excel-reconciliation (action uploadReconciliation)', () => {
  function reconciliationCase(): CanonicalCase {
    return {
      type: 'payment-reconciliation',
      source: { system: 'scandroid', id: 'scan-1' },
      parties: [
        { id: 'p1', roles: ['beneficiary'], contacts: [{ kind: 'phone', value: '+1 415 523 5554' }] },
        { id: 'p2', roles: ['beneficiary'], person: { attributes: { phoneNumber: '14155235556' } } },
        { id: 'p3', roles: ['beneficiary'], person: { attributes: { phoneNumber: '19999999999' } } },
      ],
      payments: [
        { id: 'a', paymentId: '1', status: 'paid', partyId: 'p1' },
        { id: 'b', paymentId: '1', status: 'failed', partyId: 'p2', extensions: { platform121: { errorMessage: 'Card blocked' } } },
        { id: 'c', paymentId: '1', status: 'paid', partyId: 'p3' },
        { id: 'd', paymentId: '1', status: 'pending', partyId: 'p1' },
      ],
    };
  }

  it('uploads a multipart CSV keyed by the Excel configuration\'s columnToMatch and reports 121\'s counts', async () => {
    env.sb.addTransaction({ referenceId: JOHN, amount: 25, status: 'waiting', paymentId: 1 });
    env.sb.addTransaction({ referenceId: TYRION, amount: 25, status: 'waiting', paymentId: 1 });
    const h = env.harness();
    const result = await adapter.actions.uploadReconciliation.deliver(deliveryRequest(reconciliationCase(), { options: {} }), h.ctx);
    expect(result.summary).toEqual({ paymentId: 1, matchColumn: 'phoneNumber', rows: 3, skipped: 1, countPaymentSuccess: 1, countPaymentFailed: 1, countNotFound: 1 });
    expect(env.sb.transactions().map((t) => [t.status, t.errorMessage])).toEqual([
      ['success', null],
      ['error', 'Card blocked'],
    ]);
    expect(env.sb.apiRequests({ path: '/fsp-configurations' }).map((r) => r.status)).toEqual([200]);
    expect(env.sb.apiRequests({ method: 'POST', path: '/payments/1/excel-reconciliation' }).map((r) => r.status)).toEqual([201]);
    expect(env.sb.reconciliations()).toEqual([{ programId: 2, paymentId: 1, fileName: 'reconciliation-1.csv', rows: 3 }]);
  });

  it('the CSV has one match column, status and errorMessage only on error rows', () => {
    const { csv, rows, skipped } = reconciliationCsv(reconciliationCase(), 'phoneNumber', ['paid'], ['failed']);
    expect(csv.split('\r\n')).toEqual(['phoneNumber,status,errorMessage', '14155235554,success,', '14155235556,error,Card blocked', '19999999999,success,']);
    expect([rows, skipped]).toEqual([3, 1]);
  });

  it('121 refuses rows of two FSP configurations in one file (400), as the real one does', async () => {
    env.sb.addTransaction({ referenceId: JOHN, amount: 25, status: 'waiting', paymentId: 1 });
    env.sb.addTransaction({ referenceId: ARYA, amount: 25, status: 'waiting', paymentId: 1 });
    const c = reconciliationCase();
    c.parties[1].person = { attributes: { phoneNumber: '14155235555' } };
    const err = await adapter.actions.uploadReconciliation.deliver(deliveryRequest(c, { options: {} }), env.harness().ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 400, retryable: false });
    expect(env.sb.transactions().map((t) => t.status)).toEqual(['waiting', 'waiting']);
  });

  it('121\'s refusals come back typed: no match at all is a permanent 400, a missing paymentId is refused before sending', async () => {
    env.sb.addTransaction({ referenceId: JOHN, amount: 25, status: 'waiting', paymentId: 1 });
    const h = env.harness();
    const c = reconciliationCase();
    c.payments = [{ id: 'x', paymentId: '1', status: 'paid', partyId: 'p3' }];
    await expect(adapter.actions.uploadReconciliation.deliver(deliveryRequest(c, { options: { matchColumn: 'phoneNumber' } }), h.ctx)).rejects.toMatchObject({
      status: 400,
      retryable: false,
    });
    c.payments = [{ id: 'x', status: 'paid', partyId: 'p1' }];
    await expect(adapter.actions.uploadReconciliation.deliver(deliveryRequest(c, { options: { matchColumn: 'phoneNumber' } }), h.ctx)).rejects.toBeInstanceOf(PermanentError);
    expect(env.sb.apiRequests({ path: 'excel-reconciliation' })).toHaveLength(1);
  });
});

describe('GET /api/programs/{programId}/fsps/intersolve-voucher/voucher/image-paper (source paperVouchers)', () => {
  it('downloads each successful paper voucher once, as a PNG document of the registration\'s case', async () => {
    env.sb.portalUpdate(TYRION, { programFspConfigurationName: 'Intersolve-voucher-paper' });
    env.sb.addTransaction({ referenceId: TYRION, amount: 40, status: 'success', paymentId: 1 });
    env.sb.addTransaction({ referenceId: JOHN, amount: 40, status: 'success', paymentId: 1 });
    const h = env.harness();
    const source = adapter.sources.paperVouchers;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    await source.poll(h.ctx, h.emit, {});
    const tx = env.sb.apiRequests({ path: '/payments/1/transactions' })[0];
    expect([tx.query['filter.status'], tx.query['filter.fspName']]).toEqual(['$ilike:success', '$ilike:paper']);
    expect(h.emitted).toHaveLength(1);
    const doc = h.emitted[0].case.documents?.[0];
    expect(doc).toEqual(expect.objectContaining({ mimeType: 'image/png', name: `voucher-${TYRION}-payment-1.png` }));
    const png = Buffer.from(String(doc?.url).replace('data:image/png;base64,', ''), 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const images = env.sb.apiRequests({ path: '/voucher/image-paper' });
    expect(images.map((r) => [r.status, r.query.referenceId, r.query.paymentId])).toEqual([[200, TYRION, '1']]);
    expect(await h.ctx.state.areMembers(VOUCHERS_FETCHED_KEY, [`1:${TYRION}`])).toEqual([true]);
    await source.poll(h.ctx, h.emit, {});
    expect(env.sb.apiRequests({ path: '/voucher/image-paper' })).toHaveLength(1);
  });

  it('404 for a registration without a voucher in that payment', async () => {
    const h = env.harness();
    const err = await getPaperVoucherImage(runtimeFor(h.ctx).client, JOHN, 999).catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 404, code: 'PEER_NOT_FOUND', retryable: false });
  });
});

describe('GET /api/programs/{programId}/metrics/export-list/unused-vouchers (source exportList)', () => {
  it('reads the unused vouchers (not the registrations) and emits each row once', async () => {
    env.sb.portalUpdate(TYRION, { programFspConfigurationName: 'Intersolve-voucher-paper' });
    env.sb.addTransaction({ referenceId: TYRION, amount: 40, status: 'success', paymentId: 1 });
    env.sb.addTransaction({ referenceId: TYRION, amount: 40, status: 'success', paymentId: 2 });
    env.sb.spendVoucher(TYRION, 2);
    const h = env.harness();
    const source = adapter.sources.exportList;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    await source.poll(h.ctx, h.emit, { exportType: 'unused-vouchers' });
    expect(env.sb.apiRequests({ path: '/metrics/export-list/unused-vouchers' }).map((r) => [r.status, r.query.format])).toEqual([[200, 'json']]);
    expect(h.emitted).toHaveLength(1);
    expect(h.emitted[0].case.extensions?.platform121).toEqual(
      expect.objectContaining({ kind: 'exportRow', exportRow: expect.objectContaining({ exportType: 'unused-vouchers', referenceId: TYRION, paymentId: 1 }) }),
    );
  });

  it('an empty export (404 no data) is an empty list; an export type 121 does not know is refused', async () => {
    const h = env.harness();
    const source = adapter.sources.exportList;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    expect((await source.poll(h.ctx, h.emit, { exportType: 'unused-vouchers' }))?.emitted).toBe(0);
    await expect(source.poll(h.ctx, h.emit, { exportType: 'to-cancel-vouchers' })).rejects.toMatchObject({ status: 400 });
  });
});

describe('what the new sources emit is a valid canonical case', () => {
  it('payments, paymentTransactions, paperVouchers, programStats, fspConfigurations, users, exportList', async () => {
    const schema: Record<string, unknown> = JSON.parse(readFileSync(path.join(__dirname, '../../../schemas/canonical-case.schema.json'), 'utf8'));
    const validate = createAjv().compile(schema);
    env.sb.portalUpdate(TYRION, { programFspConfigurationName: 'Intersolve-voucher-paper' });
    seedPayments();
    env.sb.addTransaction({ referenceId: TYRION, amount: 40, status: 'success', paymentId: 2 });
    env.sb.addExchangeRate({ currency: 'MWK', euroExchangeRate: 0.0005, closeTime: null });
    const h = env.harness();
    const runs: Array<[string, Record<string, unknown>]> = [
      ['payments', {}],
      ['paymentTransactions', { includeRegistration: true }],
      ['paperVouchers', {}],
      ['programStats', {}],
      ['exchangeRates', {}],
      ['fspConfigurations', {}],
      ['users', {}],
      ['exportList', { exportType: 'unused-vouchers' }],
      ['exportList', { exportType: 'registrations', window: { from: 'daysAgo', days: 1 } }],
    ];
    for (const [name, options] of runs) {
      const source = adapter.sources[name];
      if (source?.kind !== 'poll') throw new Error(`${name} is not a poll source`);
      const before = h.emitted.length;
      await source.poll(h.ctx, h.emit, options);
      expect([name, h.emitted.length > before]).toEqual([name, true]);
    }
    for (const e of h.emitted) expect([e.eventId, validate(e.case), validate.errors ?? null]).toEqual([e.eventId, true, null]);
  });
});
