/**
 * Source `transactions`: polls GET /transactions?fromDate=&toDate=&format=json and emits each new transaction, and
 * each status change of a known one (waiting -> success ...), as a canonical case carrying one payment.
 * Transactions change status after they are created, so every poll re-reads a look-back window and emits only
 * (id, status) pairs not emitted before; eventId `transaction:<id>:<status>`.
 */
import type { AdapterContext, Emit, JsonSchema, PollOutcome, PollSourceDefinition, SourceEvent, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { schemaDefaults } from 'caseway/core';
import { DEFAULT_CASE_TYPE, transactionToCase } from '../codec';
import { runtimeFor } from '../runtime';
import type { Platform121Settings } from '../settings';

export const TX_CURSOR_KEY = 'transactions:cursor';
const BEGINNING = '2000-02-01T00:00:00.000Z';

export interface TransactionsCursor {
  /** fromDate of the next poll. */
  from: string;
  /** id -> [status, created ms] of transactions inside the window. */
  seen: Record<string, [string, number]>;
}

export type TransactionsOptions = OptionsOf<typeof transactionsOptionsSchema>;

export const transactionsOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    lookbackHours: { type: 'number', exclusiveMinimum: 0, default: 48, description: 'Window re-read for status changes.' },
    startAt: { type: 'string', description: '"now" (default), "beginning", or an ISO-8601 instant.' },
    caseType: { type: 'string', default: DEFAULT_CASE_TYPE, description: 'Canonical case type of the emitted cases.' },
  },
} as const satisfies ConstOptionsSchema;
// Option defaults are read from the schema (what the console and the docs show), never restated.
const transactionsDefault = schemaDefaults<OptionsOf<typeof transactionsOptionsSchema>>(transactionsOptionsSchema, '121-platform transactions source options');

export async function pollTransactions(ctx: AdapterContext<Platform121Settings>, emit: Emit, options: TransactionsOptions): Promise<PollOutcome> {
  const rt = runtimeFor(ctx);
  const lookbackMs = (options.lookbackHours ?? transactionsDefault('lookbackHours')) * 3600_000;
  const now = Date.now();
  const stored = await ctx.state.getJson<TransactionsCursor>(TX_CURSOR_KEY);
  const cursor: TransactionsCursor = stored ?? {
    from: !options.startAt || options.startAt === 'now' ? new Date(now).toISOString() : options.startAt === 'beginning' ? BEGINNING : options.startAt,
    seen: {},
  };
  const txs = await rt.client.getTransactions({ fromDate: cursor.from, toDate: new Date(now).toISOString() });
  const program = await rt.program.get().catch(() => null);
  const inbound = { connection: ctx.connection.name, settings: rt.settings, program, caseType: options.caseType };
  const events: SourceEvent[] = [];
  let newest: number | undefined;
  for (const tx of txs) {
    const status = String(tx.status ?? '');
    const created = Date.parse(String(tx.created ?? '')) || now;
    newest = Math.max(newest ?? 0, Date.parse(String(tx.updated ?? tx.created ?? '')) || created);
    if (cursor.seen[String(tx.id)]?.[0] === status) continue;
    const eventId = `transaction:${tx.id}:${status}`;
    events.push({ eventId, case: transactionToCase(tx, inbound, eventId) });
    cursor.seen[String(tx.id)] = [status, created];
  }
  let emitted = 0;
  for (let i = 0; i < events.length; i += 500) {
    const results = await emit(events.slice(i, i + 500));
    emitted += results.filter((r) => !r.duplicate).length;
  }
  // Next poll: the look-back window (never before the start point); forget what can no longer come back.
  const nextFrom = Math.max(now - lookbackMs, Date.parse(cursor.from));
  for (const [id, [, created]] of Object.entries(cursor.seen)) if (created < nextFrom) delete cursor.seen[id];
  cursor.from = new Date(nextFrom).toISOString();
  await ctx.state.setJson(TX_CURSOR_KEY, cursor);
  return { emitted, lagSeconds: newest === undefined ? undefined : Math.max(0, (now - newest) / 1000) };
}

export const transactionsSource: PollSourceDefinition<Platform121Settings, typeof transactionsOptionsSchema> = {
  kind: 'poll',
  description: 'Polls 121 transactions and emits each new transaction or status change as a canonical case with one payment.',
  optionsSchema: transactionsOptionsSchema,
  defaultIntervalMs: 5 * 60_000,
  poll: (ctx, emit, options) => pollTransactions(ctx, emit, options),
};
