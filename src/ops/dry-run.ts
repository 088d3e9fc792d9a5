/**
 * Dry-run replay: what the target would receive if this dead letter were replayed now, with the route config (and
 * mapping) the hub runs with now. It builds the same DeliveryRequest the delivery worker builds and asks the
 * action's preview() for the peer request(s); an action without preview() shows the mapped canonical case instead.
 * Nothing is sent. Personal data is masked for viewers.
 */
import type { DeliveryRequest, PeerRequestPreview } from '../core/adapter';
import type { DeadLetter } from '../core/engine/dead-letters';
import { safeMessage } from '../core/errors';
import type { Hub } from '../core/hub';
import type { CanonicalCase } from '../core/model/canonical.generated';
import { applyMapping } from '../core/routing/mapping';
import { findRoute, findTarget, type ResolvedTarget } from '../core/runtime';
import { maskCase, maskJson, personalValues } from './masking';

export interface DryRun {
  deadLetter: DeadLetter;
  target?: Pick<ResolvedTarget, 'id' | 'connection' | 'action' | 'mapping' | 'options'>;
  /** preview: the action's own peer requests; case: the mapped canonical case the action would be given. */
  kind: 'preview' | 'case' | 'none';
  requests?: PeerRequestPreview[];
  case?: CanonicalCase;
  masked: boolean;
  /** Why a replay would fail or the preview could not be made (safe message). */
  problem?: string;
}

export async function dryRun(hub: Hub, connection: string, id: string, mask: boolean): Promise<DryRun | null> {
  const rt = hub.runtime;
  if (!rt.connections.has(connection)) return null;
  const found = await hub.deadLetters.get(connection, id);
  if (!found) return null;
  const { job, ...deadLetter } = found;
  const base: DryRun = { deadLetter, kind: 'none', masked: mask };
  const route = findRoute(rt, deadLetter.route);
  const target = route ? findTarget(route, deadLetter.target) : undefined;
  if (!route || !target) return { ...base, problem: `route "${deadLetter.route}" target "${deadLetter.target}" is no longer configured: a replay would fail again` };
  const shown = { id: target.id, connection: target.connection, action: target.action, mapping: target.mapping, options: target.options };
  const kase = await rt.cases.readPayload(job.data.payloadRef);
  if (!kase) return { ...base, target: shown, problem: 'the stored case has expired or was removed: a replay would fail again' };
  const conn = rt.connections.get(target.connection);
  const action = conn?.adapter.actions[target.action];
  if (!conn || !action) return { ...base, target: shown, problem: `connection "${target.connection}" has no action "${target.action}"` };
  const mapped = applyMapping(kase, target.mapping);
  const request: DeliveryRequest = {
    case: mapped,
    hubId: deadLetter.hubId,
    action: target.action,
    options: target.options ?? {},
    route: route.name,
    deliveryId: deadLetter.id,
    attempt: 1,
    references: await rt.cases.references(deadLetter.hubId),
    onExisting: target.onExisting ?? 'update',
  };
  const values = mask ? [...new Set([...personalValues(kase), ...personalValues(mapped)])] : [];
  if (action.preview) {
    try {
      const requests = await action.preview(request, conn.ctx);
      return { ...base, target: shown, kind: 'preview', requests: mask ? requests.map((r) => ({ operation: r.operation, body: maskJson(r.body, values) })) : requests };
    } catch (err) {
      return { ...base, target: shown, kind: 'case', case: mask ? maskCase(mapped) : mapped, problem: `the action's preview failed: ${safeMessage(err)}` };
    }
  }
  return { ...base, target: shown, kind: 'case', case: mask ? maskCase(mapped) : mapped };
}
