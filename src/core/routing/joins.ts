/**
 * How an incoming event finds its hub case (docs/canonical-model.md, "Joins"). `own-id`: only by the peer's own id
 * for the case (linked by an earlier event of this connection, or by a delivery to it). `references`: also by the
 * hub ids, ExternalIds and other systems' ids the event carries.
 */
import type { SourceEvent } from '../adapter';
import type { JoinMode } from '../config/types';
import type { CrossReference } from '../model/canonical.generated';
import type { HubRuntime } from '../runtime';
import { execChecked } from '../store/replies';

/** The source's `join` setting; by default own-id for a connection no route delivers to (it only creates cases). */
export function joinModeOf(rt: HubRuntime, connection: string, source: string): JoinMode {
  const set = rt.config.connections[connection]?.sources?.[source]?.join;
  if (set) return set;
  const isTarget = rt.config.routes.some((r) => r.to.some((t) => t.connection === connection));
  return isTarget ? 'references' : 'own-id';
}

/** The event as the hub-id look-up should see it: under own-id, without the ids that would join another case. */
export function forLookup(event: SourceEvent, mode: JoinMode, system: string, connection: string): SourceEvent {
  if (mode === 'references') return event;
  const { hubId: _hubId, ...kase } = event.case;
  const own = (r: CrossReference) => r.system === system && (r.connection === undefined || r.connection === connection);
  return { ...event, case: { ...kase, references: (event.case.references ?? []).filter(own) } };
}

/** The reference an event was joined by, as the trace says it: "crm caseId 12345". */
export interface JoinedBy {
  system: string;
  kind?: string;
  id: string;
}

/**
 * Which of the event's references led to `hubId` (one pipelined round trip for the batch). Only asked for events
 * that landed on a case another connection started.
 */
export async function joinedBy(rt: HubRuntime, items: Array<{ kase: SourceEvent['case']; system: string; hubId: string }>): Promise<Array<JoinedBy | undefined>> {
  const candidates = items.map(({ kase, system, hubId }) => {
    const refs: CrossReference[] = [...(kase.references ?? [])];
    if (kase.source.id && !refs.some((r) => r.system === system && r.id === kase.source.id)) refs.push({ system, id: kase.source.id, kind: 'id' });
    if (kase.hubId) refs.push({ system: 'hub', id: kase.hubId, kind: 'hubId' });
    return { refs, hubId };
  });
  const pipe = rt.redis.pipeline();
  let asked = 0;
  for (const c of candidates) {
    for (const r of c.refs) {
      if (r.system === 'hub' || r.system === 'external') continue;
      pipe.get(rt.keys.xref(r.system, r.id));
      asked += 1;
    }
  }
  // Checked: an unanswered look-up must fail the intake (retryable), not read as "no join".
  const answers = asked ? await execChecked(pipe, 'looking up joins') : [];
  let n = 0;
  return candidates.map((c) => {
    let found: JoinedBy | undefined;
    for (const r of c.refs) {
      const direct = r.system === 'hub' || r.system === 'external';
      const hit = direct ? r.id === c.hubId : answers[n++] === c.hubId;
      if (hit && !found) found = { system: r.system, kind: r.kind, id: r.id };
    }
    return found;
  });
}
