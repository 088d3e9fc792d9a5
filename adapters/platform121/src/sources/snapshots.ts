/**
 * Sources that read a list of 121 records which are not registrations (payments, program stats, exchange rates, FSP
 * configurations, users) and emit each record as a canonical case holding it in `extensions.platform121.<kind>`.
 * The eventId is `<kind>:<id>:<content hash>`: an unchanged record is a duplicate for the hub on the next poll, a
 * changed one (a payment whose aggregates moved, a new rate) is a new event. Nothing is kept in connection state.
 */
import { createHash } from 'node:crypto';
import type { AdapterContext, ConstOptionsSchema, Emit, OptionsOf, PollOutcome, PollSourceDefinition, SourceEvent } from 'caseway/core';
import type { CanonicalCase, Payment } from 'caseway/core';
import { getExchangeRates, getFspConfigurations, getPayments, getProgramStats, getUsers, type PaymentSummary } from '../endpoints';
import { SYSTEM } from '../reference-id';
import { runtimeFor, type Runtime } from '../runtime';
import type { Platform121Settings } from '../settings';

type Ctx = AdapterContext<Platform121Settings>;

export interface SnapshotRecord {
  id: string;
  record: Record<string, unknown>;
  /** Extra canonical fields (payments of a payment run). */
  payments?: Payment[];
  updatedAt?: string;
  /** What the content hash covers, when not the whole record (users: without lastLogin). */
  hashed?: unknown;
}

export type SnapshotOptions = OptionsOf<ReturnType<typeof caseTypeOnly>>;

export function contentHash(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : typeof v === 'object' && v !== null
        ? Object.fromEntries(
            Object.keys(v)
              .sort()
              .map((k) => [k, sorted((v as Record<string, unknown>)[k])]),
          )
        : v;
  return createHash('sha256').update(JSON.stringify(sorted(value))).digest('hex').slice(0, 16);
}

export function snapshotCase(ctx: Ctx, rt: Runtime, kind: string, r: SnapshotRecord, eventId: string, caseType: string): CanonicalCase {
  const c: CanonicalCase = {
    type: caseType,
    source: { system: SYSTEM, connection: ctx.connection.name, id: `${kind}:${r.id}`, eventId },
    references: [{ system: SYSTEM, connection: ctx.connection.name, id: r.id, kind }],
    parties: [],
    extensions: { [SYSTEM]: { programId: rt.settings.programId, kind, [kind]: r.record } },
  };
  if (r.payments) c.payments = r.payments;
  if (r.updatedAt) c.updatedAt = r.updatedAt;
  return c;
}

export async function emitSnapshot(ctx: Ctx, emit: Emit, kind: string, records: SnapshotRecord[], caseType: string): Promise<PollOutcome> {
  const rt = runtimeFor(ctx);
  const events: SourceEvent[] = records.map((r) => {
    const eventId = `${kind}:${r.id}:${contentHash(r.hashed ?? r.record)}`;
    return { eventId, case: snapshotCase(ctx, rt, kind, r, eventId, caseType) };
  });
  let emitted = 0;
  for (let i = 0; i < events.length; i += 500) {
    const results = await emit(events.slice(i, i + 500));
    emitted += results.filter((x) => !x.duplicate).length;
  }
  return { emitted };
}

const caseTypeOnly = (description: string) =>
  ({
    type: 'object',
    additionalProperties: false,
    properties: { caseType: { type: 'string', minLength: 1, description } },
  }) as const satisfies ConstOptionsSchema;

function snapshotSource(
  kind: string,
  description: string,
  defaultCaseType: string,
  defaultIntervalMs: number,
  read: (rt: Runtime) => Promise<SnapshotRecord[]>,
): PollSourceDefinition<Platform121Settings, ReturnType<typeof caseTypeOnly>> {
  return {
    kind: 'poll',
    description,
    optionsSchema: caseTypeOnly(`Case type of the emitted records; default "${defaultCaseType}".`),
    defaultIntervalMs,
    async poll(ctx, emit, options) {
      const rt = runtimeFor(ctx);
      const caseType = options.caseType ?? defaultCaseType;
      return emitSnapshot(ctx, emit, kind, await read(rt), caseType);
    },
  };
}

/** A payment run as canonical payments: one entry per status aggregate (count and transferValue). */
function paymentRecord(p: PaymentSummary, currency: string | undefined): SnapshotRecord {
  const payments: Payment[] = Object.entries(p.aggregationsPerStatus ?? {}).map(([status, agg]) => {
    const entry: Payment = { id: `${p.paymentId}:${status}`, paymentId: String(p.paymentId), direction: 'out', amount: Number(agg.transferValue ?? 0), status };
    if (currency) entry.currency = currency;
    if (p.paymentDate) entry.date = p.paymentDate;
    entry.extensions = { [SYSTEM]: { count: agg.count } };
    return entry;
  });
  return { id: String(p.paymentId), record: p, payments, updatedAt: p.paymentDate };
}

export const paymentsSource = snapshotSource(
  'payment',
  'Polls GET /payments and emits each payment run (name, date, approval, aggregates per status) when it is new or its aggregates changed.',
  'cash-payment',
  5 * 60_000,
  async (rt) => {
    const program = await rt.program.get().catch(() => null);
    return (await getPayments(rt.client)).map((p) => paymentRecord(p, program?.currency));
  },
);

export const programStatsSource = snapshotSource(
  'programStats',
  'Polls GET /metrics/program-stats-summary and emits the program\'s figures (targeted, included, new, registered people, budget, cash disbursed) when they change.',
  'program-stats',
  15 * 60_000,
  async (rt) => {
    const stats = await getProgramStats(rt.client);
    return [{ id: String(stats.programId ?? rt.settings.programId), record: { ...stats } }];
  },
);

export const exchangeRatesSource = snapshotSource(
  'exchangeRate',
  'Polls GET /exchange-rates (admin) and emits each stored rate once (id currency@closeTime; 1 unit of currency = euroExchangeRate EUR).',
  'exchange-rate',
  60 * 60_000,
  async (rt) => (await getExchangeRates(rt.client)).map((r) => ({ id: `${r.currency}@${r.closeTime ?? 'unknown'}`, record: { ...r } })),
);

export const fspConfigurationsSource = snapshotSource(
  'fspConfiguration',
  'Polls GET /fsp-configurations and emits each FSP configuration of the program when new or changed (secret properties come masked).',
  'fsp-configuration',
  60 * 60_000,
  async (rt) => (await getFspConfigurations(rt.client)).map((c) => ({ id: c.name, record: { ...c } })),
);

export const usersSource = snapshotSource(
  'user',
  'Polls GET /users (organisation admin) and emits each aid worker when new or changed (active, lastLogin, admin flags).',
  '121-user',
  60 * 60_000,
  async (rt) =>
    (await getUsers(rt.client)).map((u) => {
      // A login (the hub's own, too) moves lastLogin: not a change worth an event.
      const { lastLogin: _lastLogin, ...rest } = u;
      return { id: String(u.id), record: { ...u }, hashed: rest };
    }),
);
