/**
 * A connection's "circuit state", derived from its recent delivery outcomes. Informational only: the hub does not
 * stop deliveries when a circuit is open (BullMQ's retries with backoff already slow them down); operators and
 * alerts use it to see at a glance that a peer keeps failing.
 *
 * The outcomes come from the delivery queue's BullMQ event stream, which every worker process writes to:
 * `completed` = a successful delivery, `delayed` = a failed attempt that will be retried (delivery jobs are never
 * added with a delay), `failed` = a dead letter. Newest first, the failures before the first success are the
 * consecutive failures.
 * - closed: fewer than `failureThreshold` consecutive failures;
 * - open: at least that many, the latest within `coolDownMs`;
 * - half-open: at least that many, but none for `coolDownMs` (the next attempt is the probe).
 * The derived state and when it last changed are kept in Redis (OpsKeys.circuit) so every process reports the same
 * `since`.
 */
import type { Redis } from 'ioredis';
import { deliveryQueueName } from '../core/queues';
import type { HubRuntime } from '../core/runtime';
import { OpsKeys } from './keys';
import type { OpsSettings } from './settings';

export type CircuitStateName = 'closed' | 'open' | 'half-open';
export const CIRCUIT_STATES: CircuitStateName[] = ['closed', 'open', 'half-open'];

export interface CircuitState {
  state: CircuitStateName;
  consecutiveFailures: number;
  lastFailureAt?: string;
  lastSuccessAt?: string;
  /** When the state last changed, as first seen by any hub process. */
  since?: string;
}

const EVENTS_READ = 500;

/** Milliseconds since the epoch of a Redis stream id ("<ms>-<seq>"). */
function streamTime(id: string): number {
  return Number(id.split('-')[0]);
}

export async function readOutcomes(redis: Redis, eventsKey: string, count = EVENTS_READ): Promise<Array<{ ok: boolean; at: number }>> {
  const entries = await redis.xrevrange(eventsKey, '+', '-', 'COUNT', count);
  const out: Array<{ ok: boolean; at: number }> = [];
  for (const [id, fields] of entries) {
    const event = fields[fields.indexOf('event') + 1];
    if (event === 'completed') out.push({ ok: true, at: streamTime(id) });
    else if (event === 'failed' || event === 'delayed') out.push({ ok: false, at: streamTime(id) });
  }
  return out;
}

export function deriveCircuit(outcomes: Array<{ ok: boolean; at: number }>, settings: OpsSettings['circuit'], now = Date.now()): Omit<CircuitState, 'since'> {
  let consecutiveFailures = 0;
  let lastFailure: number | undefined;
  let lastSuccess: number | undefined;
  for (const o of outcomes) {
    if (o.ok) {
      lastSuccess = o.at;
      break;
    }
    consecutiveFailures += 1;
    lastFailure ??= o.at;
  }
  if (lastFailure === undefined) lastFailure = outcomes.find((o) => !o.ok)?.at;
  let state: CircuitStateName = 'closed';
  if (consecutiveFailures >= settings.failureThreshold) state = lastFailure !== undefined && now - lastFailure <= settings.coolDownMs ? 'open' : 'half-open';
  return {
    state,
    consecutiveFailures,
    lastFailureAt: lastFailure === undefined ? undefined : new Date(lastFailure).toISOString(),
    lastSuccessAt: lastSuccess === undefined ? undefined : new Date(lastSuccess).toISOString(),
  };
}

export async function circuitState(rt: HubRuntime, connection: string, settings: OpsSettings['circuit']): Promise<CircuitState> {
  const queue = rt.queues.get(deliveryQueueName(connection));
  const derived = deriveCircuit(await readOutcomes(rt.redis, queue.keys.events), settings);
  const key = new OpsKeys(rt.keys.prefix).circuit(connection);
  const stored = await rt.redis.hgetall(key);
  let since = stored.since;
  if (stored.state !== derived.state) {
    since = new Date().toISOString();
    await rt.redis.hset(key, { state: derived.state, since, consecutiveFailures: String(derived.consecutiveFailures) });
    if (stored.state) rt.log.info({ connection, from: stored.state, to: derived.state, consecutiveFailures: derived.consecutiveFailures }, 'connection circuit changed');
  } else if (Number(stored.consecutiveFailures) !== derived.consecutiveFailures) {
    await rt.redis.hset(key, 'consecutiveFailures', String(derived.consecutiveFailures));
  }
  return { ...derived, since };
}
