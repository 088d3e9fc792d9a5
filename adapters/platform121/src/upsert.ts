/**
 * Create-or-update of registrations in batches.
 *
 * 121's import (POST /registrations with a JSON array) is all-or-nothing, so a batch with one bad row would fail every
 * case in it. Here a refused batch is split: the row errors of a bare-array 400 name the bad lines (1-based), those
 * rows fail alone with their {column, error, lineNumber}, and the rest is posted again; a 400 that names no line is
 * bisected until the bad row stands alone. Rows whose referenceId already exists are updated with
 * PATCH /registrations/{referenceId} {data, reason} instead, sending only the fields that differ.
 */
import type { Logger } from 'caseway/core';
import { CasewayError, PermanentError } from 'caseway/core';
import type { Platform121Client } from './client';
import { diffForUpdate } from './codec';
import { ImportRejectedError, Platform121Error, RegistrationRejectedError, type ImportRowError } from './errors';
import type { RegistrationView } from './types';

export interface UpsertItem {
  referenceId: string;
  /** The flat registration, referenceId included. */
  row: Record<string, unknown>;
  /** reason stored on the registrationDataChange events of an update. */
  reason?: string;
  /** Also change programFspConfigurationName of an existing registration (needs registration:fsp-config.update). */
  updateFsp?: boolean;
}

export type UpsertOutcome =
  | { referenceId: string; ok: true; outcome: 'created' | 'updated' | 'unchanged'; changedFields: string[]; batchRows: number }
  | { referenceId: string; ok: false; error: Error };

export interface UpsertDeps {
  client: Platform121Client;
  batchSize: number;
  log: Logger;
}

type ImportResult = { kind: 'created'; rows: number } | { kind: 'exists' } | { kind: 'failed'; error: Error };

const PATCH_CONCURRENCY = 4;

function rowErrorsToFieldErrors(errors: ImportRowError[]): Array<Record<string, string>> {
  return errors.map((e) => ({ column: e.column, error: e.error, lineNumber: String(e.lineNumber) }));
}

function isAlreadyExists(e: ImportRowError): boolean {
  return e.column === 'referenceId' && /already exists/i.test(e.error);
}

/** Row errors of a 400 that did not come as a bare array but names rows anyway (ParseArrayPipe "[i] field ..."). */
function lineErrorsOf(err: Platform121Error): ImportRowError[] {
  const fieldErrors = (err.context.fieldErrors ?? []) as Array<Record<string, string>>;
  return fieldErrors
    .filter((f) => f.lineNumber !== undefined)
    .map((f) => ({ lineNumber: Number(f.lineNumber), column: f.column ?? f.field ?? '?', error: f.error ?? 'invalid' }));
}

async function importWithSplit(deps: UpsertDeps, items: UpsertItem[], results: Map<UpsertItem, ImportResult>, stats: { posts: number }): Promise<void> {
  if (items.length === 0) return;
  try {
    stats.posts++;
    await deps.client.importRegistrations(items.map((i) => i.row));
    for (const item of items) results.set(item, { kind: 'created', rows: items.length });
    return;
  } catch (err) {
    let lineErrors: ImportRowError[] | null = null;
    if (err instanceof ImportRejectedError) lineErrors = err.rowErrors;
    else if (err instanceof Platform121Error && err.status === 400) {
      const named = lineErrorsOf(err);
      if (named.length) lineErrors = named;
      else if (items.length === 1) {
        const fieldErrors = ((err.context.fieldErrors ?? []) as Array<Record<string, string>>).map((f) => ({
          column: f.column ?? f.field ?? '?',
          error: f.error ?? err.detail,
          lineNumber: '1',
        }));
        results.set(items[0], {
          kind: 'failed',
          error: new RegistrationRejectedError(items[0].referenceId, fieldErrors.length ? fieldErrors : [{ column: '?', error: err.detail, lineNumber: '1' }]),
        });
        return;
      } else {
        // A 400 that names no row ("Duplicate referenceIds in import set", a pipe error): bisect.
        const mid = Math.ceil(items.length / 2);
        await importWithSplit(deps, items.slice(0, mid), results, stats);
        await importWithSplit(deps, items.slice(mid), results, stats);
        return;
      }
    }
    if (!lineErrors) {
      // Not a data problem (auth, permission, throttling, 5xx, network): every row of this batch fails with it.
      for (const item of items) results.set(item, { kind: 'failed', error: err instanceof Error ? err : new Error(String(err)) });
      return;
    }
    const byLine = new Map<number, ImportRowError[]>();
    for (const e of lineErrors) byLine.set(e.lineNumber, [...(byLine.get(e.lineNumber) ?? []), e]);
    const clean: UpsertItem[] = [];
    let matched = 0;
    items.forEach((item, idx) => {
      const errs = byLine.get(idx + 1);
      if (!errs) {
        clean.push(item);
        return;
      }
      matched++;
      if (errs.every(isAlreadyExists)) results.set(item, { kind: 'exists' });
      else {
        const own = errs.filter((e) => !isAlreadyExists(e));
        results.set(item, {
          kind: 'failed',
          error: new RegistrationRejectedError(item.referenceId, rowErrorsToFieldErrors(own), { batchRows: items.length }),
        });
      }
    });
    if (matched === 0) {
      if (items.length === 1) {
        results.set(items[0], { kind: 'failed', error: new RegistrationRejectedError(items[0].referenceId, rowErrorsToFieldErrors(lineErrors)) });
        return;
      }
      const mid = Math.ceil(items.length / 2);
      await importWithSplit(deps, items.slice(0, mid), results, stats);
      await importWithSplit(deps, items.slice(mid), results, stats);
      return;
    }
    deps.log.info({ operation: 'import registrations', refused: matched, retried: clean.length }, 'platform121: import refused rows; posting the others again');
    await importWithSplit(deps, clean, results, stats);
  }
}

async function patchOne(deps: UpsertDeps, item: UpsertItem, current: RegistrationView | undefined): Promise<UpsertOutcome> {
  const data = diffForUpdate(item.row, current, item.updateFsp === true);
  const changedFields = Object.keys(data);
  if (changedFields.length === 0) return { referenceId: item.referenceId, ok: true, outcome: 'unchanged', changedFields, batchRows: 1 };
  try {
    const view = await deps.client.updateRegistration(item.referenceId, data, item.reason);
    return { referenceId: item.referenceId, ok: true, outcome: view ? 'updated' : 'unchanged', changedFields, batchRows: 1 };
  } catch (err) {
    if (err instanceof Platform121Error && err.status === 400) {
      const fieldErrors = ((err.context.fieldErrors ?? []) as Array<Record<string, string>>).map((f) => ({
        column: f.column ?? f.field ?? '?',
        error: f.error ?? err.detail,
      }));
      return {
        referenceId: item.referenceId,
        ok: false,
        error: new RegistrationRejectedError(item.referenceId, fieldErrors.length ? fieldErrors : [{ column: '?', error: err.detail }], {
          operation: 'update registration',
        }),
      };
    }
    return { referenceId: item.referenceId, ok: false, error: err instanceof Error ? err : new Error(String(err)) };
  }
}

async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]);
    }
  });
  await Promise.all(workers);
  return out;
}

async function upsertChunk(deps: UpsertDeps, chunk: UpsertItem[]): Promise<Map<UpsertItem, UpsertOutcome>> {
  const out = new Map<UpsertItem, UpsertOutcome>();
  let existing: Map<string, RegistrationView>;
  try {
    const found = await deps.client.registrationsWhereIn('referenceId', chunk.map((i) => i.referenceId));
    existing = new Map(found.map((r) => [r.referenceId, r]));
  } catch (err) {
    for (const item of chunk) out.set(item, { referenceId: item.referenceId, ok: false, error: err as Error });
    return out;
  }
  const fresh = chunk.filter((i) => !existing.has(i.referenceId));
  const results = new Map<UpsertItem, ImportResult>();
  const stats = { posts: 0 };
  await importWithSplit(deps, fresh, results, stats);

  const toPatch = chunk.filter((i) => existing.has(i.referenceId));
  const raced: UpsertItem[] = [];
  for (const item of fresh) {
    const r = results.get(item);
    if (!r) continue;
    if (r.kind === 'created') out.set(item, { referenceId: item.referenceId, ok: true, outcome: 'created', changedFields: [], batchRows: r.rows });
    else if (r.kind === 'exists') raced.push(item);
    else out.set(item, { referenceId: item.referenceId, ok: false, error: r.error });
  }
  if (raced.length) {
    // Created meanwhile (a concurrent delivery or an earlier try whose reply was lost): read them and update instead.
    try {
      const found = await deps.client.registrationsWhereIn('referenceId', raced.map((i) => i.referenceId));
      for (const r of found) existing.set(r.referenceId, r);
      for (const item of raced) {
        if (existing.has(item.referenceId)) toPatch.push(item);
        else {
          out.set(item, {
            referenceId: item.referenceId,
            ok: false,
            error: new PermanentError(`platform121: referenceId ${item.referenceId} already exists outside program ${deps.client.settings.programId}`, {
              peer: 'platform121',
              referenceId: item.referenceId,
              fieldErrors: [{ column: 'referenceId', error: 'referenceId already exists in database' }],
            }),
          });
        }
      }
    } catch (err) {
      for (const item of raced) out.set(item, { referenceId: item.referenceId, ok: false, error: err as Error });
    }
  }
  const patched = await mapLimit(toPatch, PATCH_CONCURRENCY, (item) => patchOne(deps, item, existing.get(item.referenceId)));
  toPatch.forEach((item, i) => out.set(item, patched[i]));
  return out;
}

/**
 * Creates or updates many registrations; one outcome per item, in order. A bad row fails only its own item.
 * Items with the same referenceId are applied one after the other (121 refuses duplicates within one import).
 */
export async function upsertRegistrations(deps: UpsertDeps, items: UpsertItem[]): Promise<UpsertOutcome[]> {
  const rounds: UpsertItem[][] = [];
  const seenCount = new Map<string, number>();
  for (const item of items) {
    const n = seenCount.get(item.referenceId) ?? 0;
    seenCount.set(item.referenceId, n + 1);
    (rounds[n] ??= []).push(item);
  }
  const outcomes = new Map<UpsertItem, UpsertOutcome>();
  for (const round of rounds) {
    for (let i = 0; i < round.length; i += deps.batchSize) {
      const result = await upsertChunk(deps, round.slice(i, i + deps.batchSize));
      for (const [item, outcome] of result) outcomes.set(item, outcome);
    }
  }
  return items.map(
    (item) =>
      outcomes.get(item) ?? { referenceId: item.referenceId, ok: false, error: new CasewayError('platform121: upsert produced no outcome', { code: 'BUG', retryable: true }) },
  );
}

interface Pending {
  item: UpsertItem;
  resolve: (o: Extract<UpsertOutcome, { ok: true }>) => void;
  reject: (e: Error) => void;
}

/**
 * Collects concurrent single-case deliveries of one connection for up to `waitMs` or `batchSize` rows and upserts
 * them together; each caller's promise settles with its own row's outcome.
 */
export class UpsertBatcher {
  private queue: Pending[] = [];
  private timer: NodeJS.Timeout | null = null;
  private readonly running = new Set<Promise<void>>();
  /** Rows per flush, for tests and traces. */
  readonly flushSizes: number[] = [];

  constructor(
    private readonly run: (items: UpsertItem[]) => Promise<UpsertOutcome[]>,
    private readonly batchSize: number,
    private readonly waitMs: number,
  ) {}

  submit(item: UpsertItem): Promise<Extract<UpsertOutcome, { ok: true }>> {
    return new Promise((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.batchSize) void this.flush();
      else if (!this.timer) this.timer = setTimeout(() => void this.flush(), this.waitMs);
    });
  }

  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.queue.splice(0, this.batchSize);
    if (this.queue.length) {
      if (this.queue.length >= this.batchSize) void this.flush();
      else this.timer = setTimeout(() => void this.flush(), this.waitMs);
    }
    if (batch.length === 0) return Promise.resolve();
    this.flushSizes.push(batch.length);
    const p = this.run(batch.map((b) => b.item))
      .then(
        (outcomes) =>
          outcomes.forEach((o, i) => {
            if (o.ok) batch[i].resolve(o);
            else batch[i].reject(o.error);
          }),
        (err: unknown) => batch.forEach((b) => b.reject(err instanceof Error ? err : new Error(String(err)))),
      )
      .finally(() => this.running.delete(p));
    this.running.add(p);
    return p;
  }

  /** Flushes everything queued and waits for every flush under way. */
  async drain(): Promise<void> {
    while (this.queue.length) await this.flush();
    await Promise.all([...this.running]);
  }
}
