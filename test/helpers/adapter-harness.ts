/**
 * Runs one adapter outside the hub, against real Redis, for adapter tests: a real AdapterContext and an
 * emit() that records what a source emitted (and treats an eventId seen before as a duplicate, like the hub).
 */
import type { Redis } from 'ioredis';
import type { AdapterContext, Emit, EmitResult, RegisteredAdapter, SourceEvent } from '../../src/core/adapter';
import { createAdapterContext } from '../../src/core/context';
import { silentLogger, type Logger } from '../../src/core/logger';

export interface RecordedPeerCall {
  operation: string;
  status: number | string;
}

export interface Harness<S> {
  ctx: AdapterContext<S>;
  emitted: SourceEvent[];
  emit: Emit;
  peerCalls: RecordedPeerCall[];
}

export function adapterHarness<S>(opts: {
  adapter: RegisteredAdapter;
  settings: S;
  redis: Redis;
  prefix: string;
  connectionName?: string;
  log?: Logger;
}): Harness<S> {
  const peerCalls: RecordedPeerCall[] = [];
  const ctx = createAdapterContext<S>({
    connection: { name: opts.connectionName ?? opts.adapter.name, adapter: opts.adapter.name, settings: opts.settings },
    redis: opts.redis,
    prefix: opts.prefix,
    log: opts.log ?? silentLogger(),
    metrics: { peerResponse: (operation, status) => peerCalls.push({ operation, status }) },
  });
  const emitted: SourceEvent[] = [];
  const seen = new Map<string, string>();
  const emit: Emit = async (events) => {
    const results: EmitResult[] = [];
    for (const event of events) {
      const known = seen.get(event.eventId);
      if (known) {
        results.push({ eventId: event.eventId, hubId: known, duplicate: true });
        continue;
      }
      const hubId = `hub-${seen.size + 1}`;
      seen.set(event.eventId, hubId);
      emitted.push(event);
      results.push({ eventId: event.eventId, hubId, duplicate: false });
    }
    return results;
  };
  return { ctx, emitted, emit, peerCalls };
}
