/**
 * Every pipelined or transactional Redis reply is checked: a reply that carries an error, or is missing, fails the
 * whole call with a retryable StoreUnavailableError instead of being read as "no value" (which once stored cases
 * under hub id `undefined` after a Redis restart).
 */
import type { ChainableCommander } from 'ioredis';
import { CasewayError, type ErrorContext } from '../errors';

/** Redis did not take (or answer) a write or read the hub needs; nothing was acknowledged, so the caller may retry. */
export class StoreUnavailableError extends CasewayError {
  constructor(operation: string, reason: string, context: ErrorContext = {}, cause?: unknown) {
    super(`Redis could not complete ${operation} (${reason}); nothing was acknowledged, try again`, {
      code: 'STORE_UNAVAILABLE',
      retryable: true,
      context: { ...context, operation },
      cause,
    });
  }
}

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code ?? (err instanceof Error ? err.message.split('\n')[0].slice(0, 200) : String(err));
}

/**
 * Runs a pipeline and returns its replies, one per queued command, each known to be free of errors.
 * A shorter answer than the number of commands queued is a failure too.
 */
export function execChecked(pipeline: ChainableCommander, operation: string, context: ErrorContext = {}): Promise<unknown[]> {
  return run(pipeline, pipeline.length, operation, context);
}

/** The same for a MULTI/EXEC transaction (its queued MULTI has no reply of its own). */
export function execTransaction(tx: ChainableCommander, operation: string, context: ErrorContext = {}): Promise<unknown[]> {
  return run(tx, tx.length - 1, operation, context);
}

async function run(batch: ChainableCommander, expected: number, operation: string, context: ErrorContext): Promise<unknown[]> {
  let replies: Array<[Error | null, unknown]> | null;
  try {
    replies = await batch.exec();
  } catch (err) {
    if (err instanceof CasewayError) throw err;
    throw new StoreUnavailableError(operation, reasonOf(err), context, err);
  }
  if (!replies) throw new StoreUnavailableError(operation, 'the transaction was aborted', context);
  if (replies.length < expected) throw new StoreUnavailableError(operation, `${expected - replies.length} of ${expected} replies missing`, context);
  const failed = replies.find(([err]) => err);
  if (failed) throw new StoreUnavailableError(operation, reasonOf(failed[0]), context, failed[0]);
  return replies.map(([, value]) => value);
}

/** Turns any failure of a single Redis call into a StoreUnavailableError (CasewayErrors pass through). */
export async function storeCall<T>(operation: string, call: () => Promise<T>, context: ErrorContext = {}): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof CasewayError) throw err;
    throw new StoreUnavailableError(operation, reasonOf(err), context, err);
  }
}

/** A hub id the case store accepts: a non-empty id, never "undefined"/"null" text. */
export function assertHubId(hubId: unknown, operation: string): asserts hubId is string {
  if (typeof hubId !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/.test(hubId) || hubId === 'undefined' || hubId === 'null') {
    throw new CasewayError(`refusing ${operation}: "${String(hubId).slice(0, 40)}" is not a hub id`, { code: 'INVALID_HUB_ID', retryable: false, context: { operation } });
  }
}
