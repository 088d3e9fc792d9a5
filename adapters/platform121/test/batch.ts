/**
 * Batch helpers for the tests (moved out of the adapter: nothing in product code calls them): the same code paths as
 * the actions, without the per-delivery micro-batcher.
 */
import type { AdapterContext } from 'caseway/core';
import type { CanonicalCase, CrossReference } from 'caseway/core';
import { buildRegistrationRow, type RowOptions } from '../src/codec';
import { resolveReferenceId } from '../src/reference-id';
import { runtimeFor } from '../src/runtime';
import type { Platform121Settings } from '../src/settings';
import { changeRegistrationStatus, type StatusOutcome } from '../src/status';
import type { StatusChangeBody } from '../src/types';
import { upsertRegistrations, type UpsertItem, type UpsertOutcome } from '../src/upsert';

export interface BatchCase {
  hubId: string;
  case: CanonicalCase;
  references?: CrossReference[];
}

export interface BatchUpsertOptions extends RowOptions {
  reason?: string;
  updateFsp?: boolean;
}

/** Creates or updates one registration per case, in batches of `batchSize`; one outcome per case, in order. */
export async function upsertCases(ctx: AdapterContext<Platform121Settings>, cases: BatchCase[], options: BatchUpsertOptions = {}): Promise<UpsertOutcome[]> {
  const rt = runtimeFor(ctx);
  const program = await rt.program.get();
  const outcomes: Array<UpsertOutcome | undefined> = new Array(cases.length);
  const items: UpsertItem[] = [];
  const positions: number[] = [];
  cases.forEach((c, i) => {
    const referenceId = resolveReferenceId({ references: c.references ?? [], case: c.case, hubId: c.hubId }, ctx.connection.name, rt.settings.programId, rt.settings.referenceIdPrefix);
    try {
      const { row } = buildRegistrationRow(c.case, referenceId, rt.settings, program, options);
      items.push({ referenceId, row, reason: options.reason ?? rt.settings.updateReason, updateFsp: options.updateFsp === true });
      positions.push(i);
    } catch (err) {
      outcomes[i] = { referenceId, ok: false, error: err instanceof Error ? err : new Error(String(err)) };
    }
  });
  const results = await upsertRegistrations({ client: rt.client, batchSize: rt.settings.batchSize, log: ctx.log }, items);
  results.forEach((r, k) => (outcomes[positions[k]] = r));
  return outcomes as UpsertOutcome[];
}

/** Upserts ready-made flat rows (each with its referenceId). */
export async function upsertRows(ctx: AdapterContext<Platform121Settings>, rows: Array<Record<string, unknown> & { referenceId: string }>, reason?: string): Promise<UpsertOutcome[]> {
  const rt = runtimeFor(ctx);
  return upsertRegistrations(
    { client: rt.client, batchSize: rt.settings.batchSize, log: ctx.log },
    rows.map((row) => ({ referenceId: row.referenceId, row, reason: reason ?? rt.settings.updateReason })),
  );
}

/** Sets the status of many registrations with filtered bulk PATCHes and confirms it; refuses an empty list. */
export async function setStatuses(
  ctx: AdapterContext<Platform121Settings>,
  referenceIds: string[],
  body: StatusChangeBody,
  options: { confirm?: boolean; confirmTimeoutMs?: number } = {},
): Promise<StatusOutcome[]> {
  const rt = runtimeFor(ctx);
  return changeRegistrationStatus({ client: rt.client, log: ctx.log }, referenceIds, body, {
    confirm: options.confirm,
    confirmTimeoutMs: options.confirmTimeoutMs ?? rt.settings.statusConfirmTimeoutMs,
    confirmIntervalMs: rt.settings.statusConfirmIntervalMs,
  });
}
