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
import { readFailedTarget } from '../core/store/failure-snapshot';
import { errorOf, type DeadLetterError } from './dead-letter-query';
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
  /** The last error, as its trace recorded it. */
  error?: DeadLetterError;
  /** The last error was permanent: a replay without a change (data or config) will fail again. */
  permanent?: boolean;
  /** Line diff between the request that failed and the one a replay would send (same masking); absent when unknown. */
  diff?: DiffLine[];
  /** Why there is no diff. */
  diffNote?: string;
}

export interface DiffLine {
  op: ' ' | '+' | '-';
  text: string;
}

/** A line diff (longest common subsequence) of two texts; small inputs only (previews of one request). */
export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length * b.length > 4_000_000) return [...a.map((text): DiffLine => ({ op: '-', text })), ...b.map((text): DiffLine => ({ op: '+', text }))];
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) for (let j = b.length - 1; j >= 0; j -= 1) lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      out.push({ op: ' ', text: a[i] });
      i += 1;
      j += 1;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) out.push({ op: '-', text: a[i++] });
    else out.push({ op: '+', text: b[j++] });
  }
  while (i < a.length) out.push({ op: '-', text: a[i++] });
  while (j < b.length) out.push({ op: '+', text: b[j++] });
  return out;
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
  const trace = await rt.traces.read(deadLetter.hubId);
  const error = errorOf(trace, deadLetter.id);
  const permanent = error.retryable === false || deadLetter.attemptsMade < (job.opts.attempts ?? 1);
  const failedTarget = await readFailedTarget(rt.redis, rt.keys, deadLetter.id);
  /** What the action would be given (or send) with one target configuration; masked for viewers. */
  const render = async (t: { action: string; mapping?: ResolvedTarget['mapping']; options?: Record<string, unknown> }): Promise<{ kind: 'preview' | 'case'; requests?: PeerRequestPreview[]; case?: CanonicalCase; problem?: string }> => {
    const one = applyMapping(kase, t.mapping);
    const act = conn.adapter.actions[t.action];
    if (act?.preview) {
      try {
        const requests = await act.preview({ ...request, case: one, action: t.action, options: t.options ?? {} }, conn.ctx);
        return { kind: 'preview', requests: mask ? requests.map((r) => ({ operation: r.operation, body: maskJson(r.body, values) })) : requests };
      } catch (err) {
        return { kind: 'case', case: mask ? maskCase(one) : one, problem: `the action's preview failed: ${safeMessage(err)}` };
      }
    }
    return { kind: 'case', case: mask ? maskCase(one) : one };
  };
  const now = await render(target);
  const shownOf = (r: Awaited<ReturnType<typeof render>>) => JSON.stringify(r.kind === 'preview' ? r.requests : r.case, null, 2);
  let diff: DiffLine[] | undefined;
  let diffNote: string | undefined;
  if (!failedTarget) diffNote = 'The configuration of the failed attempt was not recorded (it failed before this hub version, or the record expired).';
  else if (failedTarget.connection !== target.connection) diffNote = `The failed attempt went to connection ${failedTarget.connection}; a replay goes to ${target.connection}.`;
  else {
    const before = await render(failedTarget);
    diff = lineDiff(shownOf(before), shownOf(now));
    if (!diff.some((l) => l.op !== ' ')) diffNote = 'A replay would send exactly the request that failed: nothing in the route configuration changed since.';
  }
  return { ...base, target: shown, kind: now.kind, requests: now.requests, case: now.case, problem: now.problem, error, permanent, diff, diffNote };
}
