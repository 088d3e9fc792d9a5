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
 * Error replies that mean "this Redis cannot take it now, another try may": a replica (READONLY: a failover moved
 * the primary, or the hub still talks to the old one), a Redis loading its data (LOADING), a replica cut off from its
 * primary (MASTERDOWN), a script or transaction in the way (BUSY, TRYAGAIN), replicas missing (NOREPLICAS), memory
 * full under noeviction (OOM), failed background saves (MISCONF), cluster states (CLUSTERDOWN). Redis gives the code
 * first; a script error quotes the call's reply after "-" or ": " (Redis 6), hence the looser match.
 */
const UNAVAILABLE_REPLY = /(?:^|[-\s:])(READONLY|LOADING|MASTERDOWN|BUSY|TRYAGAIN|NOREPLICAS|OOM|MISCONF|CLUSTERDOWN)\b/;
/** ioredis's own words when a command never got an answer (connection closed, reconnecting, timed out, offline). */
const UNAVAILABLE_CLIENT = /^(Connection is closed|Command aborted due to connection close|Stream isn't writeable|Command timed out|All sentinels are unreachable|Reached the max retries per request limit|Connection in subscriber mode|Failed to refresh slots cache|None of the sentinels are available)/;
/** Socket errors: Redis (or the way to it) is not there. */
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EAI_AGAIN', 'ERR_SOCKET_CLOSED', 'ERR_STREAM_DESTROYED']);

/**
 * Whether an error from ioredis or BullMQ (or one wrapping such an error as its cause) means Redis was unavailable
 * for the call, rather than a bug or bad data: the one classifier every Redis path uses. A transaction aborted with
 * EXECABORT counts when a queued command failed that way (or when ioredis gave no reason). A StoreUnavailableError
 * counts; other Caseway errors do not (they say themselves whether they are retryable).
 */
export function isRedisUnavailable(err: unknown, depth = 0): boolean {
  if (err instanceof StoreUnavailableError) return true;
  if (err instanceof CasewayError || !(err instanceof Error) || depth > 3) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (typeof code === 'string' && UNAVAILABLE_ERRNO.has(code)) return true;
  if (err.name === 'MaxRetriesPerRequestError') return true;
  const message = err.message;
  if (message.startsWith('EXECABORT')) {
    const previous = (err as Error & { previousErrors?: unknown[] }).previousErrors;
    return !previous?.length || previous.some((p) => isRedisUnavailable(p, depth + 1));
  }
  if (UNAVAILABLE_CLIENT.test(message) || UNAVAILABLE_REPLY.test(message.split('\n')[0])) return true;
  return err.cause !== undefined && isRedisUnavailable(err.cause, depth + 1);
}

/**
 * The typed form of a Redis failure: Caseway errors as they are, an unavailable Redis (isRedisUnavailable) as a
 * retryable StoreUnavailableError, anything else unchanged (a bug or bad data stays what it is).
 */
export function asStoreFailure(err: unknown, operation: string, context: ErrorContext = {}): unknown {
  if (err instanceof CasewayError || !isRedisUnavailable(err)) return err;
  return new StoreUnavailableError(operation, reasonOf(err), context, err);
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
