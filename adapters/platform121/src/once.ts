/**
 * At-most-once ledger for calls 121 cannot de-duplicate (a message, a new program): the entry is "pending" while the
 * call runs and holds the result after it. A retry that finds the result returns it; one that finds "pending" (the
 * earlier try ended without an answer: 121 may or may not have acted) stops with a permanent error for an operator
 * rather than acting twice.
 */
import type { ConnectionState } from 'caseway/core';
import { PeerError, PermanentError } from 'caseway/core';

const LEDGER_TTL_SECONDS = 400 * 24 * 3600;
const PENDING = 'pending';

export async function atMostOnce<T>(state: ConnectionState, key: string, what: string, call: () => Promise<T>): Promise<{ result: T; repeated: boolean }> {
  const known = await state.get(key);
  if (known !== null && known !== PENDING) return { result: JSON.parse(known) as T, repeated: true };
  if (known === PENDING || !(await state.setIfAbsent(key, PENDING, LEDGER_TTL_SECONDS))) {
    throw new PermanentError(`platform121: an earlier try to ${what} ended without an answer; not repeating it (check 121, then clear the ledger entry)`, {
      peer: 'platform121',
      ledgerKey: key,
    });
  }
  try {
    const result = await call();
    await state.set(key, JSON.stringify(result ?? null), LEDGER_TTL_SECONDS);
    return { result, repeated: false };
  } catch (err) {
    // 121 refused it (a 4xx: it did not act), or the call was refused before sending: the next try may go ahead.
    // A 5xx or a transport fault leaves it unclear, so the entry stays "pending".
    const answered = err instanceof PeerError && err.status !== undefined && err.status < 500;
    const refusedLocally = err instanceof PermanentError;
    if (answered || refusedLocally) await state.del(key);
    throw err;
  }
}
