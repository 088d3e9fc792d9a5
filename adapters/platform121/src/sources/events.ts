/**
 * Source `events`: polls GET /registration-events?fromDate=<cursor> and emits one canonical case update per event.
 *
 * - The cursor (last `created` seen, plus the ids seen inside the overlap window) is kept durably per connection.
 *   The fromDate bound is inclusive and status events are written asynchronously, so each poll reads from
 *   `last - overlapSeconds` and drops ids already seen: no event is emitted twice, none is skipped.
 * - 404 {"errors":"There is currently no data to export"} is an empty list.
 * - Events carry only registrationId: one filtered GET /registrations?filter.id=$in:... per batch resolves the
 *   referenceId and the person data the emitted case carries.
 * - The cursor moves only after emit() has resolved (the hub stored the events).
 */
import type { AdapterContext, Emit, JsonSchema, PollOutcome, PollSourceDefinition, SourceEvent, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { schemaDefaults } from 'caseway/core';
import { DEFAULT_CASE_TYPE, eventToCase } from '../codec';
import { runtimeFor } from '../runtime';
import type { Platform121Settings } from '../settings';
import type { RegistrationEvent, RegistrationView } from '../types';

export const EVENTS_CURSOR_KEY = 'events:cursor';
const BEGINNING = '2000-02-01T00:00:00.000Z';
const CHUNK = 500;

export interface EventsCursor {
  /** Newest `created` processed. */
  last: string;
  /** Events before this instant are never emitted (the start point). */
  floor: string;
  /** id -> created (ms) of events processed inside the overlap window. */
  seen: Record<string, number>;
}

export type EventsOptions = OptionsOf<typeof eventsOptionsSchema>;

export const eventsOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    eventTypes: {
      type: 'array',
      items: { type: 'string', enum: ['registrationStatusChange', 'registrationDataChange', 'fspChange', 'ignoredDuplicate'] },
      default: ['registrationStatusChange', 'registrationDataChange', 'fspChange'],
      description: 'Event types to emit.',
    },
    skipOwnChanges: { type: 'boolean', default: true, description: "Skip events made by this connection's own user (no echo loops)." },
    startAt: { type: 'string', description: '"now" (default), "beginning", or an ISO-8601 instant: where the first poll starts.' },
    overlapSeconds: { type: 'integer', minimum: 0, default: 60, description: 'Re-read window for late (asynchronous) events.' },
    maxEventsPerPoll: { type: 'integer', minimum: 1, default: 5000, description: 'The rest follows on the next poll.' },
    caseType: { type: 'string', default: DEFAULT_CASE_TYPE, description: 'Canonical case type of the emitted cases.' },
  },
} as const satisfies ConstOptionsSchema;
// Option defaults are read from the schema (what the console and the docs show), never restated.
const eventsDefault = schemaDefaults<OptionsOf<typeof eventsOptionsSchema>>(eventsOptionsSchema, '121-platform events source options');


function startInstant(startAt: string | undefined): string {
  if (!startAt || startAt === 'now') return new Date().toISOString();
  if (startAt === 'beginning') return BEGINNING;
  const t = Date.parse(startAt);
  return Number.isNaN(t) ? new Date().toISOString() : new Date(t).toISOString();
}

export async function pollEvents(ctx: AdapterContext<Platform121Settings>, emit: Emit, options: EventsOptions): Promise<PollOutcome> {
  const rt = runtimeFor(ctx);
  const overlapMs = (options.overlapSeconds ?? eventsDefault('overlapSeconds')) * 1000;
  const types = new Set<string>(options.eventTypes ?? eventsDefault('eventTypes'));
  const skipOwn = options.skipOwnChanges ?? eventsDefault('skipOwnChanges');
  const ownUser = rt.settings.username.toLowerCase();
  const maxEvents = options.maxEventsPerPoll ?? eventsDefault('maxEventsPerPoll');

  let cursor = await ctx.state.getJson<EventsCursor>(EVENTS_CURSOR_KEY);
  if (!cursor) {
    const start = startInstant(options.startAt);
    cursor = { last: start, floor: start, seen: {} };
    await ctx.state.setJson(EVENTS_CURSOR_KEY, cursor);
  }
  const floorMs = Date.parse(cursor.floor);
  const fromMs = Math.max(Date.parse(cursor.last) - overlapMs, floorMs);
  const all = await rt.client.getRegistrationEvents({ fromDate: new Date(fromMs).toISOString() });
  const fresh = all.filter((e) => cursor.seen[String(e.id)] === undefined && Date.parse(e.created) >= floorMs).slice(0, maxEvents);

  let emitted = 0;
  let skipped = 0;
  let unresolved = 0;
  let newest: number | undefined;
  const program = await rt.program.get().catch(() => null);
  for (let i = 0; i < fresh.length; i += CHUNK) {
    const chunk = fresh.slice(i, i + CHUNK);
    const wanted = chunk.filter((e) => types.has(e.type) && !(skipOwn && (e.username ?? '').toLowerCase() === ownUser));
    skipped += chunk.length - wanted.length;
    const regIds = [...new Set(wanted.map((e) => e.registrationId))];
    const regs = regIds.length ? await rt.client.registrationsWhereIn('id', regIds) : [];
    const byId = new Map<number, RegistrationView>(regs.map((r) => [Number(r.id), r]));
    const events: SourceEvent[] = [];
    for (const ev of wanted) {
      const reg = byId.get(Number(ev.registrationId));
      if (!reg) {
        // Deleted registrations are not listed by GET /registrations: nothing to attach the event to.
        unresolved++;
        continue;
      }
      events.push({
        eventId: `event:${ev.id}`,
        case: eventToCase(ev, reg, { connection: ctx.connection.name, settings: rt.settings, program }),
      });
    }
    if (events.length) {
      const results = await emit(events);
      emitted += results.filter((r) => !r.duplicate).length;
    }
    advance(cursor, chunk, overlapMs);
    await ctx.state.setJson(EVENTS_CURSOR_KEY, cursor);
    for (const e of chunk) newest = Math.max(newest ?? 0, Date.parse(e.created));
  }
  if (fresh.length === 0) {
    // Nothing new: still prune the seen-set as the window moves on.
    advance(cursor, [], overlapMs);
    await ctx.state.setJson(EVENTS_CURSOR_KEY, cursor);
  }
  if (skipped || unresolved) ctx.log.info({ source: 'events', skipped, unresolved }, 'platform121: events not emitted');
  return { emitted, lagSeconds: newest === undefined ? undefined : Math.max(0, (Date.now() - newest) / 1000) };
}

function advance(cursor: EventsCursor, processed: RegistrationEvent[], overlapMs: number): void {
  let lastMs = Date.parse(cursor.last);
  for (const e of processed) {
    const t = Date.parse(e.created);
    cursor.seen[String(e.id)] = t;
    if (t > lastMs) lastMs = t;
  }
  cursor.last = new Date(lastMs).toISOString();
  // Entries older than the next poll's fromDate can never come back.
  const keepFrom = Math.max(lastMs - overlapMs, Date.parse(cursor.floor));
  for (const [id, t] of Object.entries(cursor.seen)) if (t < keepFrom) delete cursor.seen[id];
}

export const eventsSource: PollSourceDefinition<Platform121Settings, typeof eventsOptionsSchema> = {
  kind: 'poll',
  description:
    'Polls 121 registration events (status, data and FSP changes) and emits each as a canonical cash-assistance case update with the person as beneficiary.',
  optionsSchema: eventsOptionsSchema,
  defaultIntervalMs: 30_000,
  poll: (ctx, emit, options) => pollEvents(ctx, emit, options),
};
