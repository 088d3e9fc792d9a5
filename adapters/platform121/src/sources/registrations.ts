/**
 * Source `registrations`: a full sync of the program's registrations, for the first load of the hub.
 * `via: "paginate"` (default) pages through GET /registrations sorted by id with `filter.id=$gt:<last id>` (keyset
 * pages: registrations added or deleted during the sync shift nothing) plus the configured filters; the progress is
 * kept durably, so a restart resumes where it stopped. `via: "export-list"` reads
 * GET /metrics/export-list/registrations?format=json in one call instead.
 * Each registration is emitted with eventId `registration:<referenceId>:<content hash>`: an unchanged registration
 * is a duplicate for the hub on the next run, a changed one is a new event.
 */
import { createHash } from 'node:crypto';
import type { AdapterContext, Emit, JsonSchema, PollOutcome, PollSourceDefinition, SourceEvent, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { schemaDefaults } from 'caseway/core';
import { DEFAULT_CASE_TYPE, registrationToCase } from '../codec';
import { runtimeFor } from '../runtime';
import type { Platform121Settings } from '../settings';
import type { RegistrationView } from '../types';

export const SYNC_CURSOR_KEY = 'registrations:sync';

export interface SyncCursor {
  lastId: number;
  done: boolean;
  startedAt: string;
  finishedAt?: string;
}

export type RegistrationsOptions = OptionsOf<typeof registrationsOptionsSchema>;

export const registrationsOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    via: { type: 'string', enum: ['paginate', 'export-list'] },
    pageSize: { type: 'integer', minimum: 1, maximum: 10000, default: 500, description: 'limit per page.' },
    maxPagesPerPoll: { type: 'integer', minimum: 1, default: 20, description: 'Pages read per poll (the rest on the next poll).' },
    filters: {
      type: 'object',
      description: 'nestjs-paginate filters by column, e.g. {"status": "$in:included,validated"}.',
      additionalProperties: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
    },
    mode: { type: 'string', enum: ['once', 'repeat'], description: 'once (default): stop after one full pass; repeat: start again after each pass.' },
    caseType: { type: 'string', default: DEFAULT_CASE_TYPE, description: 'Canonical case type of the emitted cases.' },
  },
} as const satisfies ConstOptionsSchema;
// Option defaults are read from the schema (what the console and the docs show), never restated.
const registrationsDefault = schemaDefaults<OptionsOf<typeof registrationsOptionsSchema>>(registrationsOptionsSchema, '121-platform registrations source options');

function contentHash(reg: RegistrationView): string {
  const sorted = Object.keys(reg)
    .sort()
    .map((k) => [k, reg[k]]);
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

export async function pollRegistrations(ctx: AdapterContext<Platform121Settings>, emit: Emit, options: RegistrationsOptions): Promise<PollOutcome> {
  const rt = runtimeFor(ctx);
  const pageSize = options.pageSize ?? registrationsDefault('pageSize');
  let cursor = (await ctx.state.getJson<SyncCursor>(SYNC_CURSOR_KEY)) ?? { lastId: 0, done: false, startedAt: new Date().toISOString() };
  if (cursor.done) {
    if (options.mode !== 'repeat') return { emitted: 0 };
    cursor = { lastId: 0, done: false, startedAt: new Date().toISOString() };
  }
  const program = await rt.program.get().catch(() => null);
  const inbound = { connection: ctx.connection.name, settings: rt.settings, program, caseType: options.caseType };
  const toEvents = (regs: RegistrationView[]): SourceEvent[] =>
    regs
      .filter((r) => typeof r.referenceId === 'string' && r.referenceId)
      .map((r) => {
        const eventId = `registration:${r.referenceId}:${contentHash(r)}`;
        return { eventId, case: registrationToCase(r, inbound, eventId) };
      });
  let emitted = 0;

  if (options.via === 'export-list') {
    const rows = await rt.client.exportRegistrations({ filters: options.filters });
    for (let i = 0; i < rows.length; i += pageSize) {
      const results = await emit(toEvents(rows.slice(i, i + pageSize)));
      emitted += results.filter((r) => !r.duplicate).length;
    }
    cursor = { ...cursor, done: true, finishedAt: new Date().toISOString() };
    await ctx.state.setJson(SYNC_CURSOR_KEY, cursor);
    return { emitted };
  }

  const maxPages = options.maxPagesPerPoll ?? registrationsDefault('maxPagesPerPoll');
  for (let n = 0; n < maxPages; n++) {
    const page = await rt.client.getRegistrations({
      filters: { ...(options.filters ?? {}), id: `$gt:${cursor.lastId}` },
      sortBy: 'id:ASC',
      page: 1,
      limit: pageSize,
    });
    if (page.data.length) {
      const results = await emit(toEvents(page.data));
      emitted += results.filter((r) => !r.duplicate).length;
      cursor.lastId = Math.max(cursor.lastId, ...page.data.map((r) => Number(r.id)));
    }
    if (page.data.length < pageSize) {
      cursor = { ...cursor, done: true, finishedAt: new Date().toISOString() };
    }
    await ctx.state.setJson(SYNC_CURSOR_KEY, cursor);
    if (cursor.done) break;
  }
  return { emitted };
}

export const registrationsSource: PollSourceDefinition<Platform121Settings, typeof registrationsOptionsSchema> = {
  kind: 'poll',
  description: 'Full sync of the program\'s registrations (GET /registrations pages, or the export-list), resumable; emits each as a canonical case.',
  optionsSchema: registrationsOptionsSchema,
  defaultIntervalMs: 60_000,
  poll: (ctx, emit, options) => pollRegistrations(ctx, emit, options),
};
