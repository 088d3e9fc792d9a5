/**
 * The Idempotency-Key header (draft-ietf-httpapi-idempotency-key-header) on Caseway's own ETD intake: a repeat
 * with the same key and the same body gets the first answer (the same appRefNumber, nothing filed twice); the same
 * key with another body gets 422 "Idempotency-Key is already used"; a repeat while the first is still being stored
 * gets 409 "A request is outstanding for this Idempotency-Key". Keys are scoped to the caller's API key and kept
 * for inbound.idempotencyKeyTtlSeconds (default 24 h): the expiry policy the draft asks a resource to publish.
 * This is on top of the content digest, which already gives identical content the same appRefNumber.
 */
import { randomUUID } from 'node:crypto';
import type { ConnectionState } from 'caseway/core';
import { sha256Hex } from './json';

export const IDEMPOTENCY_KEY_REUSED = 'Idempotency-Key is already used';
export const IDEMPOTENCY_KEY_IN_FLIGHT = 'A request is outstanding for this Idempotency-Key';
export const IDEMPOTENCY_KEY_MALFORMED = 'Idempotency-Key is malformed';

/** An answer the intake sends as it is (problem+json for the refusals, the first 200 for a repeat). */
export interface IdempotencyAnswer {
  status: number;
  body: Record<string, unknown>;
  contentType?: string;
  headers?: Record<string, string>;
}

/** A key this request holds while it stores the application. */
export interface IdempotencyClaim {
  /** Remembers the answer for repeats. */
  complete(appRefNumber: string): Promise<void>;
  /** Frees the key after a failure, so a retry is processed afresh (never throws). */
  abandon(): Promise<void>;
}

export type IdempotencyBegin = { answer: IdempotencyAnswer; claim?: undefined } | { claim: IdempotencyClaim; answer?: undefined };

export interface IdempotencyGuard {
  begin(key: string, client: string, fingerprint: string): Promise<IdempotencyBegin>;
}

/** An RFC 7807 problem in the draft's words, with the ETD spec's own `errors` list so a form client can read it too. */
export function idempotencyProblem(status: 400 | 409 | 422, title: string): IdempotencyAnswer {
  return {
    status,
    contentType: 'application/problem+json',
    body: { type: 'about:blank', title, status, errors: [{ 'Idempotency-Key': title }] },
    headers: status === 409 ? { 'Retry-After': '1' } : {},
  };
}

/**
 * The header's key: undefined when absent, null when malformed. The draft makes it an RFC 8941 sf-string (quoted);
 * a bare token is accepted as well. At most 255 characters, printable ASCII.
 */
export function parseIdempotencyKey(header: string | string[] | undefined): string | undefined | null {
  if (header === undefined) return undefined;
  if (Array.isArray(header)) return null; // "Clients MUST NOT include more than one Idempotency-Key header field"
  const value = header.trim();
  const quoted = /^"((?:[\x20\x21\x23-\x5b\x5d-\x7e]|\\["\\])*)"$/.exec(value);
  const key = quoted ? quoted[1].replace(/\\(["\\])/g, '$1') : /^[A-Za-z0-9._~:+/=-]+$/.test(value) ? value : null;
  if (key === null || key.length === 0 || key.length > 255) return null;
  return key;
}

interface Held {
  fp: string;
  ref?: string;
  /** Which request holds the claim while it is in flight: `<guard>/<n>` (older claims have none). */
  by?: string;
}

/**
 * The guard over the connection's durable state (Redis), shared by every api process. A request holds its key for at
 * most `inFlightSeconds` (inbound.idempotencyInFlightSeconds, default 15) while it stores the application; a repeat
 * meanwhile gets 409. A failed request frees its key; when it cannot (Redis went away mid-request, so the delete
 * failed too, or its process died), the claim it left lapses after that time, and the repeat is then processed.
 * Taking over a claim whose request is in fact still running is safe: both store the same body, which the content
 * digest turns into one appRefNumber and one hub event. Each guard (one per process and connection) also knows its
 * own requests in flight: a claim by this guard that none of them holds any more was left by a failure, and a
 * repeat with the same body takes it over at once instead of waiting for the lapse.
 */
export function stateIdempotencyGuard(state: ConnectionState, { ttlSeconds, inFlightSeconds }: { ttlSeconds: number; inFlightSeconds: number }): IdempotencyGuard {
  const guard = randomUUID();
  let next = 0;
  const inFlight = new Set<string>();
  return {
    async begin(key, client, fingerprint) {
      const stateKey = `idempotency:${sha256Hex(`${client}\u0000${key}`)}`;
      for (let tries = 0; tries < 3; tries++) {
        const by = `${guard}/${++next}`;
        inFlight.add(by);
        let claimed = false;
        try {
          claimed = await state.setIfAbsent(stateKey, JSON.stringify({ fp: fingerprint, by } satisfies Held), inFlightSeconds);
        } finally {
          if (!claimed) inFlight.delete(by);
        }
        if (claimed) {
          return {
            claim: {
              complete: async (appRefNumber) => {
                await state.set(stateKey, JSON.stringify({ fp: fingerprint, ref: appRefNumber } satisfies Held), ttlSeconds);
                inFlight.delete(by);
              },
              abandon: async () => {
                inFlight.delete(by);
                await state.del(stateKey).catch(() => undefined);
              },
            },
          };
        }
        const held = await state.getJson<Held>(stateKey);
        if (!held) continue; // lapsed or abandoned in between: claim it again
        if (held.fp !== fingerprint) return { answer: idempotencyProblem(422, IDEMPOTENCY_KEY_REUSED) };
        if (held.ref !== undefined) return { answer: { status: 200, body: { appRefNumber: held.ref } } };
        // Left by a request of this process that failed and could not free it: free it now and claim it again.
        if (held.by?.startsWith(`${guard}/`) && !inFlight.has(held.by)) {
          await state.del(stateKey);
          continue;
        }
        // Held by a request of another process: still storing it, or gone with its process (then it lapses).
        return { answer: idempotencyProblem(409, IDEMPOTENCY_KEY_IN_FLIGHT) };
      }
      return { answer: idempotencyProblem(409, IDEMPOTENCY_KEY_IN_FLIGHT) };
    },
  };
}
