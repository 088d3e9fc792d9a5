/**
 * Source `exportList`: GET /metrics/export-list/{exportType}?format=json for any export type (registrations,
 * unused-vouchers, vouchers-with-balance, intersolve-visa-card-details) over a rolling date window.
 *
 * The window runs from "the last run" (its end is kept in the connection state) or from "N days ago", to now; with
 * `alignToDay` both ends are cut to 00:00:00.000Z, as the seed's Calculate Indicators integration does
 * (`filter.created=$gt:<from>T00:00:00.000Z&filter.created=$lt:<to>T00:00:00.000Z`); here the lower bound is
 * `$not:$lt:<from>` (>=), so consecutive windows [from, to) neither overlap nor leave out the instant between them. 121 applies `filter.*` only to the
 * `registrations` export, so for the other types the window is applied here on `dateField` (default `issueDate`).
 * Registrations are emitted as registration cases (`export:<type>:<referenceId>:<hash>`), other rows as records in
 * `extensions.platform121.exportRow`.
 */
import type { AdapterContext, Emit, JsonSchema, PollOutcome, PollSourceDefinition, SourceEvent, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { schemaDefaults } from 'caseway/core';
import { registrationToCase } from '../codec';
import { exportList } from '../endpoints';
import { runtimeFor } from '../runtime';
import type { Platform121Settings } from '../settings';
import { contentHash, snapshotCase } from './snapshots';

export const EXPORT_TYPES = ['registrations', 'unused-vouchers', 'vouchers-with-balance', 'intersolve-visa-card-details'] as const;

export type ExportListOptions = OptionsOf<typeof exportListOptionsSchema>;

export const exportListOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    exportType: { type: 'string', enum: [...EXPORT_TYPES], default: 'registrations' },
    window: {
      type: 'object',
      additionalProperties: false,
      description: 'Rolling date window; absent = the whole export.',
      properties: {
        from: { type: 'string', enum: ['lastRun', 'daysAgo'], description: 'lastRun (default): from the end of the previous run (the first run: `days` ago); daysAgo: always `days` ago.' },
        days: { type: 'integer', minimum: 0, default: 1 },
        field: { type: 'string', minLength: 1, default: 'created', description: 'Column filtered on the registrations export.' },
        alignToDay: { type: 'boolean', description: 'Cut both ends to 00:00:00.000Z (UTC); default false.' },
      },
    },
    dateField: { type: 'string', minLength: 1, default: 'issueDate', description: 'Row field the window is applied to for exports 121 does not filter.' },
    filters: {
      type: 'object',
      description: 'nestjs-paginate filters (registrations export only), e.g. {"status": "$in:included"}.',
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    },
    select: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Columns of the registrations export.' },
    caseType: { type: 'string', minLength: 1, description: 'Canonical case type of the emitted cases; default: cash-assistance for registrations, the export type for other rows.' },
  },
} as const satisfies ConstOptionsSchema;
// Option defaults are read from the schema (what the console and the docs show), never restated.
const exportListDefault = schemaDefaults<ExportListOptions>(exportListOptionsSchema, '121-platform exportList source options');
const windowDefault = schemaDefaults<NonNullable<ExportListOptions['window']>>(exportListOptionsSchema.properties.window, '121-platform exportList source options window');

export function lastRunKey(exportType: string): string {
  return `export-list:${exportType}:lastRun`;
}

function dayStart(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** The [from, to) window of this run, or null for no window. */
export async function windowOf(ctx: AdapterContext<Platform121Settings>, exportType: string, options: ExportListOptions, now: number): Promise<{ from: number; to: number } | null> {
  const w = options.window;
  if (!w) return null;
  const days = w.days ?? windowDefault('days');
  let from = now - days * 86_400_000;
  if ((w.from ?? 'lastRun') === 'lastRun') {
    const last = await ctx.state.get(lastRunKey(exportType));
    if (last && !Number.isNaN(Date.parse(last))) from = Date.parse(last);
  }
  let to = now;
  if (w.alignToDay) {
    from = dayStart(from);
    to = dayStart(now);
  }
  return { from, to };
}

export async function pollExportList(ctx: AdapterContext<Platform121Settings>, emit: Emit, options: ExportListOptions): Promise<PollOutcome> {
  const rt = runtimeFor(ctx);
  const exportType = options.exportType ?? exportListDefault('exportType');
  const window = await windowOf(ctx, exportType, options, Date.now());
  const registrations = exportType === 'registrations';
  const filters: Record<string, string | string[]> = { ...(options.filters ?? {}) };
  if (window && registrations) {
    const field = options.window?.field ?? windowDefault('field');
    // [from, to): `$not:$lt:` is ">=", so a row created exactly at a window's end is read by the next window, once.
    filters[field] = [`$not:$lt:${new Date(window.from).toISOString()}`, `$lt:${new Date(window.to).toISOString()}`];
  }
  let rows = await exportList(rt.client, exportType, registrations ? { filters, select: options.select } : {});
  if (window && !registrations) {
    const field = options.dateField ?? exportListDefault('dateField');
    rows = rows.filter((r) => {
      const t = Date.parse(String(r[field] ?? ''));
      return !Number.isNaN(t) && t >= window.from && t < window.to;
    });
  }
  const program = registrations ? await rt.program.get().catch(() => null) : null;
  const events: SourceEvent[] = [];
  for (const row of rows) {
    const referenceId = typeof row.referenceId === 'string' ? row.referenceId : '';
    const eventId = `export:${exportType}:${referenceId}:${row.paymentId ?? ''}:${contentHash(row)}`;
    if (registrations && referenceId) {
      const view = { ...row, id: Number(row.id ?? 0), referenceId, status: String(row.status ?? '') };
      events.push({ eventId, case: registrationToCase(view, { connection: ctx.connection.name, settings: rt.settings, program, caseType: options.caseType }, eventId) });
    } else {
      const id = `${exportType}:${referenceId}:${String(row.paymentId ?? '')}`;
      events.push({ eventId, case: snapshotCase(ctx, rt, 'exportRow', { id, record: { exportType, ...row } }, eventId, options.caseType ?? exportType) });
    }
  }
  let emitted = 0;
  for (let i = 0; i < events.length; i += 500) {
    const results = await emit(events.slice(i, i + 500));
    emitted += results.filter((r) => !r.duplicate).length;
  }
  // Only after every row is accepted does the window move on.
  if (window) await ctx.state.set(lastRunKey(exportType), new Date(window.to).toISOString());
  return { emitted };
}

export const exportListSource: PollSourceDefinition<Platform121Settings, typeof exportListOptionsSchema> = {
  kind: 'poll',
  description: 'Reads an export list of any type (registrations, unused-vouchers, ...) over a rolling date window (from the last run or N days ago) and emits each row.',
  optionsSchema: exportListOptionsSchema,
  defaultIntervalMs: 24 * 3600_000,
  poll: (ctx, emit, options) => pollExportList(ctx, emit, options),
};
