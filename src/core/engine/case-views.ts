/**
 * What intake needs to know about each new event before it writes: is it an echo of the hub's own delivery, which
 * view of the case does it update, is it the case's origin, and did it join a case another system started (and by
 * which reference). Reads are batched: views, echo records, then (only for joins) the cross-references.
 */
import type { SourceEvent } from '../adapter';
import type { CanonicalCase } from '../model/canonical.generated';
import { joinedBy, type JoinedBy } from '../routing/joins';
import type { HubRuntime } from '../runtime';
import { baselineOf, isEcho, type EchoRecord } from '../store/echo-store';
import { updateView, type CaseView } from '../store/merge';
import { StoreUnavailableError, storeCall } from '../store/replies';
import type { ViewWrite } from '../store/view-store';

export interface EventAssessment {
  echo: boolean;
  /** The echo record had no baseline status yet: this echo sets it. */
  setsBaseline: boolean;
  /** The connection's view after this event (absent for an echo). */
  view?: CaseView;
  /** 'origin': the first view of a new hub case; 'added': this connection's first view of an existing case; 'updated'. */
  viewChange?: 'origin' | 'added' | 'updated';
  joined?: JoinedBy;
}

/** A connection's view of one case to store after this flush: its final state, and the events that made it. */
export interface PendingViewWrite extends ViewWrite {
  /** This flush's events for that view, in order (as stored): what is applied again if another writer got there first. */
  cases: CanonicalCase[];
}

/**
 * The case as the hub stores it for an event: its source named by the connection it came through. A view holds it,
 * and the event's payload holds it with the hub id added (src/core/engine/intake.ts), which is what lets a first view
 * be stored as a reference to that payload (ViewWrite.inPayload).
 */
export function storedCase(event: SourceEvent, system: string, connection: string): CanonicalCase {
  return { ...event.case, source: { ...event.case.source, system, connection, eventId: event.eventId } };
}

export async function assessEvents(
  rt: HubRuntime,
  where: { connection: string; system: string; source: string; at: string },
  items: Array<{ event: SourceEvent; lookup: SourceEvent; eventKey: string; hubId: string; newCase?: boolean }>,
): Promise<{ assessments: EventAssessment[]; viewWrites: PendingViewWrite[] }> {
  if (items.length === 0) return { assessments: [], viewWrites: [] };
  // A hub id minted for its event (newCase) has no views and no echo record yet: nothing to read for it.
  const existing = items.filter((i) => !i.newCase);
  const [versioned, read] = await Promise.all([
    rt.views.readMany(existing.map((i) => i.hubId)),
    rt.echoes.readMany(existing.map((i) => ({ hubId: i.hubId, connection: where.connection }))),
  ]);
  const viewsByCase = new Map([...versioned].map(([hubId, list]) => [hubId, list.flatMap((v) => (v.view ? [v.view] : []))]));
  // The version of this connection's view as read: the one the write must still find (later events of this batch
  // build on the same read, and only the final view of each case is written).
  const readVersion = new Map([...versioned].map(([hubId, list]) => [hubId, list.find((v) => v.connection === where.connection)?.version ?? null]));
  const writes = new Map<string, PendingViewWrite>();
  const recordOf = new Map(existing.map((item, n) => [item, read[n]]));
  const records = items.map((item) => recordOf.get(item) ?? null);
  // Later events of one batch see what earlier ones did (one hub case may get several events in one poll).
  const echoState = new Map<string, EchoRecord | null>();
  const out: EventAssessment[] = items.map((item, index) => {
    const kase = storedCase(item.event, where.system, where.connection);
    const record = echoState.has(item.hubId) ? echoState.get(item.hubId)! : records[index];
    const views = viewsByCase.get(item.hubId) ?? [];
    if (views.length && isEcho(record, kase)) {
      const setsBaseline = Boolean(record && !record.baseline);
      if (record && !record.baseline) echoState.set(item.hubId, { ...record, baseline: baselineOf(kase) });
      return { echo: true, setsBaseline };
    }
    echoState.set(item.hubId, record);
    const previous = views.find((v) => v.connection === where.connection);
    const view: CaseView = {
      system: where.system,
      connection: where.connection,
      source: where.source,
      eventId: item.event.eventId,
      eventKey: item.eventKey,
      at: where.at,
      // A first view is the event's case as it stands: it is serialised in this flush and nothing changes it first,
      // so the copy updateView would make (structuredClone, ~0.7% of the hub's busy time) buys nothing.
      case: previous ? updateView(previous.case, kase) : kase,
    };
    const viewChange = views.length === 0 ? 'origin' : previous ? 'updated' : 'added';
    viewsByCase.set(item.hubId, [...views.filter((v) => v.connection !== where.connection), view]);
    const write = writes.get(item.hubId) ?? { hubId: item.hubId, view, expected: readVersion.get(item.hubId) ?? null, cases: [] };
    write.view = view;
    // A first view is this event's case as its payload holds it (less the hub id, unless the event named one itself).
    write.inPayload = !previous && !Object.hasOwn(item.event.case, 'hubId');
    write.cases.push(kase);
    writes.set(item.hubId, write);
    return { echo: false, setsBaseline: false, view, viewChange };
  });
  const joins = items.map((item, index) => ({ item, index })).filter(({ index }) => out[index].viewChange === 'added');
  if (joins.length) {
    const found = await joinedBy(rt, joins.map(({ item }) => ({ kase: item.lookup.case, system: where.system, hubId: item.hubId })));
    joins.forEach(({ index }, n) => {
      out[index].joined = found[n];
    });
  }
  return { assessments: out, viewWrites: [...writes.values()] };
}

/** How often a flush re-reads and redoes a view that other writers keep changing before it gives up (retryable). */
const VIEW_WRITE_ATTEMPTS = 10;

/**
 * Stores the flush's views, each only if nobody changed it since it was read; one that changed is read again and this
 * flush's events are applied to it again (lists accumulate, so a note another flush added stays). Giving up after
 * VIEW_WRITE_ATTEMPTS is a retryable StoreUnavailableError: the events stay unaccepted and their retry redoes it.
 */
export async function storeViews(rt: HubRuntime, writes: PendingViewWrite[], where: Record<string, string>): Promise<void> {
  let pending = writes;
  for (let attempt = 1; pending.length; attempt++) {
    const stored = await storeCall('writing case views', () => rt.views.writeIfUnchanged(pending), where);
    pending = pending.filter((_, i) => !stored[i]);
    if (!pending.length) return;
    if (attempt >= VIEW_WRITE_ATTEMPTS) throw new StoreUnavailableError('writing case views', `${pending.length} view(s) kept changing under this flush`, where);
    const fresh = await storeCall('reading case views', () => rt.views.readMany(pending.map((w) => w.hubId)), where);
    pending = pending.map((w) => {
      const current = fresh.get(w.hubId)?.find((v) => v.connection === w.view.connection);
      let kase = current?.view?.case;
      for (const next of w.cases) kase = kase ? updateView(kase, next) : next;
      // Still the event's own case only if no view appeared meanwhile and one event made it.
      return { ...w, view: { ...w.view, case: kase ?? w.view.case }, expected: current?.version ?? null, inPayload: w.inPayload === true && !current?.view && w.cases.length === 1 };
    });
  }
}
