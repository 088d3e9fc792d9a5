/**
 * Status changes: PATCH /registrations/status?filter.referenceId=$in:... with {status, reason, message,
 * messageTemplateKey}. 121 answers 202 and applies the change later, so the change is confirmed by polling
 * registration events (registrationStatusChange with the new value) before it counts as done.
 * A change without referenceIds is refused here: 121 would apply it to every registration of the program.
 */
import type { Logger } from 'caseway/core';
import { PermanentError } from 'caseway/core';
import type { Platform121Client } from './client';
import { StatusNotApplicableError, StatusNotConfirmedError, UnfilteredStatusChangeError } from './errors';
import { sleep } from 'caseway/core';
import { isValidReferenceId } from './reference-id';
import { STATUS_TRANSITIONS, isSettableStatus, type StatusChangeBody } from './types';

/** Events are stamped by 121's clock: look this far back for the confirming event. */
const CLOCK_SKEW_MS = 2 * 60_000;

export interface StatusDeps {
  client: Platform121Client;
  log: Logger;
}

export interface StatusChangeOptions {
  confirm?: boolean;
  confirmTimeoutMs: number;
  confirmIntervalMs: number;
}

export type StatusOutcome =
  | {
      referenceId: string;
      ok: true;
      outcome: 'changed' | 'unchanged';
      previousStatus: string;
      status: string;
      confirmed: boolean;
      /** Id of the registrationStatusChange event that confirmed the change. */
      eventId?: number;
    }
  | { referenceId: string; ok: false; error: Error };

/** Checks the body before anything is sent; throws PermanentError naming the field. */
export function validateStatusBody(body: StatusChangeBody): void {
  if (!isSettableStatus(body.status)) {
    throw new PermanentError('platform121: status must be one of included, paused, validated, declined', {
      peer: 'platform121',
      fieldErrors: [{ field: 'status', error: 'not settable via the API' }],
    });
  }
  if ((body.status === 'declined' || body.status === 'paused') && !(typeof body.reason === 'string' && body.reason.trim())) {
    throw new PermanentError(`platform121: a reason is required to set status ${body.status}`, {
      peer: 'platform121',
      fieldErrors: [{ field: 'reason', error: 'required for declined and paused' }],
    });
  }
  if (body.message && body.messageTemplateKey) {
    throw new PermanentError('platform121: message and messageTemplateKey are mutually exclusive', {
      peer: 'platform121',
      fieldErrors: [{ field: 'message', error: 'not together with messageTemplateKey' }],
    });
  }
}

/** Sets the status of the given registrations and (by default) waits until 121 has applied it. One outcome per id. */
export async function changeRegistrationStatus(
  deps: StatusDeps,
  referenceIds: ReadonlyArray<string>,
  body: StatusChangeBody,
  options: StatusChangeOptions,
): Promise<StatusOutcome[]> {
  if (referenceIds.length === 0 || referenceIds.some((r) => !isValidReferenceId(r))) {
    throw new UnfilteredStatusChangeError({ operation: 'change status' });
  }
  validateStatusBody(body);
  const target = body.status;
  const unique = [...new Set(referenceIds)];
  const current = await deps.client.registrationsWhereIn('referenceId', unique, ['id', 'referenceId', 'status']);
  const byRef = new Map(current.map((r) => [r.referenceId, r]));
  const outcomes = new Map<string, StatusOutcome>();
  const toChange: string[] = [];
  for (const ref of unique) {
    const reg = byRef.get(ref);
    if (!reg) {
      outcomes.set(ref, {
        referenceId: ref,
        ok: false,
        error: new PermanentError(`platform121: registration ${ref} not found in program ${deps.client.settings.programId}`, {
          peer: 'platform121',
          referenceId: ref,
          status: 404,
        }),
      });
    } else if (reg.status === target) {
      outcomes.set(ref, { referenceId: ref, ok: true, outcome: 'unchanged', previousStatus: reg.status, status: target, confirmed: true });
    } else if (!(STATUS_TRANSITIONS[reg.status] ?? []).includes(target)) {
      outcomes.set(ref, { referenceId: ref, ok: false, error: new StatusNotApplicableError(ref, reg.status, target) });
    } else {
      toChange.push(ref);
    }
  }
  if (toChange.length) {
    const since = new Date(Date.now() - CLOCK_SKEW_MS).toISOString();
    const result = await deps.client.changeStatus(toChange, body);
    deps.log.info(
      { operation: 'change status', status: target, requested: toChange.length, applicable: result.applicableCount, nonApplicable: result.nonApplicableCount },
      'platform121: status change accepted',
    );
    const pending = new Map<number, string>();
    for (const ref of toChange) pending.set(Number(byRef.get(ref)?.id), ref);
    const confirmedBy = new Map<string, number>();
    if (options.confirm !== false) {
      const deadline = Date.now() + options.confirmTimeoutMs;
      let interval = Math.min(options.confirmIntervalMs, 250);
      for (;;) {
        const events = await deps.client.getRegistrationEvents(
          toChange.length === 1 ? { fromDate: since, referenceId: toChange[0] } : { fromDate: since },
        );
        for (const ev of events) {
          const ref = pending.get(Number(ev.registrationId));
          if (ref && ev.type === 'registrationStatusChange' && ev.newValue === target) {
            confirmedBy.set(ref, ev.id);
            pending.delete(Number(ev.registrationId));
          }
        }
        if (pending.size === 0 || Date.now() >= deadline) break;
        await sleep(Math.min(interval, Math.max(deadline - Date.now(), 0)));
        interval = Math.min(interval * 2, options.confirmIntervalMs);
      }
    }
    // Anything not confirmed by an event: read its status once to tell "refused" from "not yet".
    const unconfirmed = options.confirm === false ? [] : [...pending.values()];
    const now = unconfirmed.length ? await deps.client.registrationsWhereIn('referenceId', unconfirmed, ['id', 'referenceId', 'status']) : [];
    const nowByRef = new Map(now.map((r) => [r.referenceId, r.status]));
    for (const ref of toChange) {
      const previousStatus = byRef.get(ref)?.status ?? '';
      if (options.confirm === false) {
        outcomes.set(ref, { referenceId: ref, ok: true, outcome: 'changed', previousStatus, status: target, confirmed: false });
      } else if (confirmedBy.has(ref) || nowByRef.get(ref) === target) {
        outcomes.set(ref, { referenceId: ref, ok: true, outcome: 'changed', previousStatus, status: target, confirmed: true, eventId: confirmedBy.get(ref) });
      } else {
        const held = nowByRef.get(ref) ?? previousStatus;
        const allowed = (STATUS_TRANSITIONS[held] ?? []).includes(target);
        outcomes.set(ref, {
          referenceId: ref,
          ok: false,
          error: allowed && result.applicableCount > 0 ? new StatusNotConfirmedError(ref, target, options.confirmTimeoutMs) : new StatusNotApplicableError(ref, held, target, { applicableCount: result.applicableCount }),
        });
      }
    }
  }
  return referenceIds.map((ref) => outcomes.get(ref) as StatusOutcome);
}
