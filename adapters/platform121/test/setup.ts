/** Shared test wiring: a real sandbox 121-service on loopback, real Redis, a real AdapterContext. */
import type { DeliveryRequest, Emit, SourceEvent } from '../../../src/core/adapter';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { adapterHarness, type Harness } from '../../../test/helpers/adapter-harness';
import { testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import { Sandbox121, type Sandbox121Options } from '../sandbox';
import { sandboxConnectionSettings } from '../sandbox/index';
import type { Platform121Settings } from '../src/settings';

export { adapter };

export interface TestEnv {
  sb: Sandbox121;
  redis: ReturnType<typeof testRedis>;
  settings: Platform121Settings;
  harness(connectionName?: string, overrides?: Partial<Platform121Settings>): Harness<Platform121Settings>;
  teardown(): Promise<void>;
}

let connectionSeq = 0;

/** Fast defaults for tests: short waits, short timeouts. */
export async function startEnv(opts: { sandbox?: Sandbox121Options; settings?: Partial<Platform121Settings> } = {}): Promise<TestEnv> {
  const sb = await Sandbox121.start({ statusApplyDelayMs: 100, ...opts.sandbox });
  const redis = testRedis();
  const settings: Platform121Settings = {
    ...(sandboxConnectionSettings(sb, 2, 'admin@example.org', 'password') as unknown as Platform121Settings),
    batchWaitMs: 20,
    retryBaseDelayMs: 50,
    statusConfirmIntervalMs: 50,
    statusConfirmTimeoutMs: 5000,
    timeoutMs: 3000,
    ...opts.settings,
  };
  const harnesses: Array<Harness<Platform121Settings>> = [];
  return {
    sb,
    redis,
    settings,
    harness(connectionName, overrides) {
      const h = adapterHarness<Platform121Settings>({
        adapter,
        settings: { ...settings, ...overrides },
        redis: redis.redis,
        prefix: redis.prefix,
        connectionName: connectionName ?? `p121-${++connectionSeq}`,
      });
      harnesses.push(h);
      return h;
    },
    async teardown() {
      for (const h of harnesses) await adapter.close?.(h.ctx);
      await sb.stop();
      await redis.cleanup();
    },
  };
}

export function personCase(n: number, over: { house?: string; phone?: string; dob?: string; name?: string; language?: string; notes?: CanonicalCase['notes'] } = {}): CanonicalCase {
  return {
    type: 'complaint',
    source: { system: 'icasework', id: `IC-${n}` },
    parties: [
      {
        roles: ['customer'],
        person: {
          forenames: over.name ?? 'Sansa',
          surname: `Stark-${n}`,
          language: over.language ?? 'en-GB',
          birthDate: over.dob ?? '1996-02-13',
          attributes: { house: over.house ?? 'stark' },
        },
        contacts: [{ kind: 'mobile', value: over.phone ?? `+44 7700 900${String(100 + n).padStart(3, '0')}` }],
      },
    ],
    notes: over.notes,
  };
}

export function deliveryRequest(c: CanonicalCase, over: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    case: c,
    hubId: 'hub-1',
    action: 'upsertRegistration',
    options: {},
    route: 'test-route',
    deliveryId: 'delivery-1',
    attempt: 1,
    references: [],
    ...over,
  };
}

/** An emit that records every eventId it is handed (even duplicates), in front of the harness's de-duplicating emit. */
export function countingEmit(inner: Emit): { emit: Emit; handed: string[] } {
  const handed: string[] = [];
  return {
    handed,
    emit: async (events: SourceEvent[]) => {
      handed.push(...events.map((e) => e.eventId));
      return inner(events);
    },
  };
}
