/**
 * Source `paymentTransactions`: pages through GET /payments/{paymentId}/transactions (nestjs-paginate, sorted by id)
 * for the chosen payments (default: the newest `latestPayments` of GET /payments) and emits each transaction in
 * each status once (`payment-transaction:<id>:<status>`). With `includeRegistration`, the registration of each
 * transaction is read with GET /registrations/{registrationId} and becomes the case's beneficiary.
 *
 * Source `paperVouchers`: the seed's "mass download paper vouchers": the successful paper-voucher transactions of the
 * chosen payments, each voucher image (GET /fsps/intersolve-voucher/voucher/image-paper) emitted once as a document
 * (`data:image/png;base64,...`) of the registration's case.
 */
import type { AdapterContext, Emit, JsonSchema, PollOutcome, PollSourceDefinition, SourceEvent, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { schemaDefaults } from 'caseway/core';
import type { CanonicalCase, Payment } from 'caseway/core';
import { DEFAULT_CASE_TYPE, registrationToCase } from '../codec';
import { getPaperVoucherImage, getPaymentTransactions, getPayments, getRegistrationById, type PaymentTransaction } from '../endpoints';
import { SYSTEM, referenceOf } from '../reference-id';
import { runtimeFor, type Runtime } from '../runtime';
import type { Platform121Settings } from '../settings';
import type { RegistrationView } from '../types';

type Ctx = AdapterContext<Platform121Settings>;

export type PaymentTransactionsOptions = OptionsOf<typeof paymentTransactionsOptionsSchema>;

const filtersSchema = {
  type: 'object',
  description: 'nestjs-paginate filters by column, e.g. {"status": "$ilike:success", "fspName": "$ilike:paper"}.',
  additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
} as const satisfies ConstOptionsSchema;

const paymentChoice = {
  paymentIds: { type: 'array', items: { type: 'integer', minimum: 1 }, minItems: 1, description: 'Payments to read; default the newest latestPayments of GET /payments.' },
  latestPayments: { type: 'integer', minimum: 1, default: 3, description: 'How many of the newest payments to read when paymentIds is absent.' },
} as const;

export const paymentTransactionsOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...paymentChoice,
    filters: filtersSchema,
    pageSize: { type: 'integer', minimum: 1, maximum: 1000000, default: 1000, description: 'limit per page.' },
    includeRegistration: { type: 'boolean', description: 'Read each registration (GET /registrations/{id}) for the beneficiary party; default false.' },
    caseType: { type: 'string', minLength: 1, default: DEFAULT_CASE_TYPE, description: 'Canonical case type of the emitted cases.' },
  },
} as const satisfies ConstOptionsSchema;
// Option defaults are read from the schema (what the console and the docs show), never restated.
const paymentTransactionsDefault = schemaDefaults<OptionsOf<typeof paymentTransactionsOptionsSchema>>(paymentTransactionsOptionsSchema, '121-platform paymentTransactions source options');

async function paymentIdsOf(rt: Runtime, options: { paymentIds?: number[]; latestPayments?: number }): Promise<number[]> {
  if (options.paymentIds?.length) return options.paymentIds;
  const payments = await getPayments(rt.client);
  return payments.slice(0, options.latestPayments ?? paymentTransactionsDefault('latestPayments')).map((p) => p.paymentId);
}

/** Every transaction of one payment matching the filters, page by page. */
export async function allPaymentTransactions(rt: Runtime, paymentId: number, filters: Record<string, string | string[]> | undefined, pageSize: number): Promise<PaymentTransaction[]> {
  const out: PaymentTransaction[] = [];
  for (let page = 1; ; page++) {
    const reply = await getPaymentTransactions(rt.client, paymentId, { page, limit: pageSize, sortBy: 'id:ASC', filters });
    out.push(...reply.data);
    const totalPages = reply.meta.totalPages ?? 1;
    if (reply.data.length < pageSize || page >= totalPages) return out;
  }
}

export function paymentOf(tx: PaymentTransaction, currency: string | undefined): Payment {
  const payment: Payment = { id: String(tx.id), direction: 'out' };
  if (tx.paymentId !== undefined) payment.paymentId = String(tx.paymentId);
  if (typeof tx.transferValue === 'number') payment.amount = tx.transferValue;
  if (currency) payment.currency = currency;
  if (tx.status) payment.status = tx.status;
  const date = tx.updated ?? tx.created;
  if (date) payment.date = date;
  const method = tx.programFspConfigurationName ?? tx.fspName;
  if (typeof method === 'string') payment.method = method;
  if (tx.registrationReferenceId) payment.partyId = tx.registrationReferenceId;
  const { id: _id, transferValue: _value, status: _status, paymentId: _paymentId, ...rest } = tx;
  payment.extensions = { [SYSTEM]: rest };
  return payment;
}

function bareCase(ctx: Ctx, rt: Runtime, referenceId: string, caseType: string | undefined, eventId: string, status?: string): CanonicalCase {
  return {
    type: caseType ?? DEFAULT_CASE_TYPE,
    status,
    source: { system: SYSTEM, connection: ctx.connection.name, id: referenceId || undefined, eventId },
    references: referenceId ? [referenceOf(referenceId, ctx.connection.name)] : [],
    parties: [{ id: referenceId || undefined, roles: ['beneficiary'] }],
    extensions: { [SYSTEM]: { programId: rt.settings.programId } },
  };
}

async function emitAll(emit: Emit, events: SourceEvent[]): Promise<number> {
  let emitted = 0;
  for (let i = 0; i < events.length; i += 500) {
    const results = await emit(events.slice(i, i + 500));
    emitted += results.filter((r) => !r.duplicate).length;
  }
  return emitted;
}

export async function pollPaymentTransactions(ctx: Ctx, emit: Emit, options: PaymentTransactionsOptions): Promise<PollOutcome> {
  const rt = runtimeFor(ctx);
  const program = await rt.program.get().catch(() => null);
  const registrations = new Map<number, RegistrationView>();
  const events: SourceEvent[] = [];
  for (const paymentId of await paymentIdsOf(rt, options)) {
    for (const tx of await allPaymentTransactions(rt, paymentId, options.filters, options.pageSize ?? paymentTransactionsDefault('pageSize'))) {
      const eventId = `payment-transaction:${tx.id}:${tx.status ?? ''}`;
      const referenceId = String(tx.registrationReferenceId ?? '');
      let c: CanonicalCase;
      if (options.includeRegistration && typeof tx.registrationId === 'number') {
        let reg = registrations.get(tx.registrationId);
        if (!reg) {
          const read = await getRegistrationById(rt.client, tx.registrationId);
          if (typeof read.referenceId === 'string' && typeof read.id === 'number') {
            reg = { ...read, id: read.id, referenceId: read.referenceId, status: String(read.status ?? '') };
            registrations.set(tx.registrationId, reg);
          }
        }
        c = reg
          ? registrationToCase(reg, { connection: ctx.connection.name, settings: rt.settings, program, caseType: options.caseType }, eventId)
          : bareCase(ctx, rt, referenceId, options.caseType, eventId, tx.registrationStatus);
      } else c = bareCase(ctx, rt, referenceId, options.caseType, eventId, tx.registrationStatus);
      c.payments = [paymentOf(tx, program?.currency)];
      c.updatedAt = tx.updated ?? tx.created;
      events.push({ eventId, case: c });
    }
  }
  return { emitted: await emitAll(emit, events) };
}

export const paymentTransactionsSource: PollSourceDefinition<Platform121Settings, typeof paymentTransactionsOptionsSchema> = {
  kind: 'poll',
  description: 'Pages through the transactions of the newest (or given) payments and emits each transaction in each status once, optionally with its registration.',
  optionsSchema: paymentTransactionsOptionsSchema,
  defaultIntervalMs: 5 * 60_000,
  poll: (ctx, emit, options) => pollPaymentTransactions(ctx, emit, options),
};

// ---- paper vouchers ------------------------------------------------------------------------------------------------

export const VOUCHERS_FETCHED_KEY = 'paper-vouchers:fetched';

export type PaperVouchersOptions = OptionsOf<typeof paperVouchersOptionsSchema>;

export const paperVouchersOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    ...paymentChoice,
    filters: { ...filtersSchema, description: 'Transaction filters; default {"status": "$ilike:success", "fspName": "$ilike:paper"} (the seed\'s).' },
    caseType: { type: 'string', minLength: 1, default: DEFAULT_CASE_TYPE, description: 'Canonical case type of the emitted cases.' },
  },
} as const satisfies ConstOptionsSchema;

export async function pollPaperVouchers(ctx: Ctx, emit: Emit, options: PaperVouchersOptions): Promise<PollOutcome> {
  const rt = runtimeFor(ctx);
  const filters = options.filters ?? { status: '$ilike:success', fspName: '$ilike:paper' };
  let emitted = 0;
  for (const paymentId of await paymentIdsOf(rt, options)) {
    const txs = (await allPaymentTransactions(rt, paymentId, filters, 1000)).filter((t) => typeof t.registrationReferenceId === 'string');
    const keys = txs.map((t) => `${paymentId}:${String(t.registrationReferenceId)}`);
    const known = keys.length ? await ctx.state.areMembers(VOUCHERS_FETCHED_KEY, keys) : [];
    for (let i = 0; i < txs.length; i++) {
      if (known[i]) continue;
      const referenceId = String(txs[i].registrationReferenceId);
      const png = await getPaperVoucherImage(rt.client, referenceId, paymentId);
      const eventId = `paper-voucher:${paymentId}:${referenceId}`;
      const c = bareCase(ctx, rt, referenceId, options.caseType, eventId, txs[i].registrationStatus);
      c.documents = [
        { id: `voucher:${paymentId}:${referenceId}`, name: `voucher-${referenceId}-payment-${paymentId}.png`, mimeType: 'image/png', url: `data:image/png;base64,${png.toString('base64')}`, category: 'voucher' },
      ];
      c.payments = [paymentOf(txs[i], undefined)];
      const results = await emit([{ eventId, case: c }]);
      emitted += results.filter((r) => !r.duplicate).length;
      await ctx.state.addToSet(VOUCHERS_FETCHED_KEY, [keys[i]]);
    }
  }
  return { emitted };
}

export const paperVouchersSource: PollSourceDefinition<Platform121Settings, typeof paperVouchersOptionsSchema> = {
  kind: 'poll',
  description: 'Downloads the paper-voucher image of each successful paper-voucher transaction of the newest (or given) payments, once, as a document of the registration\'s case.',
  optionsSchema: paperVouchersOptionsSchema,
  defaultIntervalMs: 15 * 60_000,
  poll: (ctx, emit, options) => pollPaperVouchers(ctx, emit, options),
};
