/** Shared test set-up: a sandbox iCasework, a real AdapterContext on real Redis, and sample canonical cases. */
import adapter from '../index';
import { adapterHarness, type Harness } from '../../../test/helpers/adapter-harness';
import { startTestHub, type TestHub } from '../../../test/helpers/hub';
import { testRedis } from '../../../test/helpers/redis';
import type { Logger } from '../../../src/core/logger';
import type { DeliveryRequest } from '../../../src/core/adapter';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { IcaseworkSandbox, type IcaseworkSandboxOptions } from '../sandbox';
import type { IcaseworkSettings } from '../src/settings';

export { adapter };

export async function startSandbox(opts: IcaseworkSandboxOptions = {}): Promise<IcaseworkSandbox> {
  return new IcaseworkSandbox(opts).start();
}

/**
 * A real hub (api and workers) with route to-icw: connection inbox (recorder) -> icw (this sandbox), createCase of
 * type Complaint. `settings` adds connection settings; `delivery` is the connection's delivery block as YAML.
 */
export async function hubToSandbox(sandbox: IcaseworkSandbox, opts: { settings?: Record<string, string | number>; delivery: string }): Promise<TestHub> {
  const s = sandbox.connectionSettings();
  const fields: Record<string, unknown> = { urlStyle: 'db', baseUrl: s.baseUrl, reportsBaseUrl: s.reportsBaseUrl, account: s.account, key: s.key, secret: s.secret, ...opts.settings };
  const settings = `{ ${Object.entries(fields).map(([k, v]) => `${k}: ${JSON.stringify(typeof v === 'number' ? v : String(v))}`).join(', ')} }`;
  return startTestHub({
    yaml: `
connections:
  inbox: { adapter: recorder }
  icw:
    adapter: icasework
    settings: ${settings}
    delivery: ${opts.delivery}
routes:
  - name: to-icw
    from: { connection: inbox, source: inbox }
    to:
      - { connection: icw, action: createCase, options: { caseType: Complaint } }
`,
  });
}

export function settingsFor(sandbox: IcaseworkSandbox, extra: Partial<IcaseworkSettings> & { keyName?: string } = {}): IcaseworkSettings {
  const { keyName, ...rest } = extra;
  return { ...(sandbox.connectionSettings({ key: keyName, urlStyle: rest.urlStyle, authMode: rest.authMode }) as unknown as IcaseworkSettings), retryBaseDelayMs: 10, ...rest };
}

export interface TestEnv {
  redis: ReturnType<typeof testRedis>;
  harness(settings: IcaseworkSettings, log?: Logger, connectionName?: string): Harness<IcaseworkSettings>;
}

export function testEnv(): TestEnv {
  const redis = testRedis();
  return {
    redis,
    harness: (settings, log, connectionName) =>
      adapterHarness<IcaseworkSettings>({ adapter, settings, redis: redis.redis, prefix: redis.prefix, log, connectionName }),
  };
}

/** A describe block's sandbox and Redis: started in its beforeAll, stopped and cleaned in its afterAll. */
export interface SandboxSuite {
  env: TestEnv;
  /** The running sandbox (from beforeAll on). */
  readonly sandbox: IcaseworkSandbox;
  /** A harness on the sandbox: its connection settings with `extra` over them. */
  harness(extra?: Parameters<typeof settingsFor>[1], connectionName?: string): Harness<IcaseworkSettings>;
  /** The operations of the requests the sandbox received since request number `from`. */
  opsSince(from: number): string[];
}

export function sandboxSuite(opts: IcaseworkSandboxOptions = {}): SandboxSuite {
  const env = testEnv();
  let running: IcaseworkSandbox | undefined;
  beforeAll(async () => {
    running = await startSandbox(opts);
  });
  afterAll(async () => {
    await running?.stop();
    await env.redis.cleanup();
  });
  const sandbox = (): IcaseworkSandbox => {
    if (!running) throw new Error('the suite sandbox starts in beforeAll');
    return running;
  };
  return {
    env,
    get sandbox() {
      return sandbox();
    },
    harness: (extra = {}, connectionName) => env.harness(settingsFor(sandbox(), extra), undefined, connectionName),
    opsSince: (from) => sandbox().requests.slice(from).map((r) => r.op),
  };
}

export function sampleCase(overrides: Partial<CanonicalCase> = {}): CanonicalCase {
  return {
    type: 'maintenance',
    summary: 'Recovery of child maintenance across borders',
    receivedAt: '2024-05-06T07:08:09.000Z',
    source: { system: 'isupport', connection: 'isupport', id: 'US-UK-2024-0001' },
    parties: [
      { roles: ['debtor'], person: { forenames: 'Dan', surname: 'Debtor' } },
      {
        id: 'P-17',
        roles: ['creditor'],
        person: {
          title: 'Ms',
          forenames: 'Carla',
          surname: 'Creditor',
          birthDate: '1980-03-23',
          gender: 'Female',
          language: 'fr',
          attributes: { ethnicOrigin: 'Other', disability2: 'Hearing', category: 'Resident', faith: 'None', ageGroup: '40-49', sexuality: 'Undisclosed' },
        },
        organisation: { name: 'Acme Ltd' },
        addresses: [{ lines: ['Flat B', 'Canterbury Court', 'Peel Street'], town: 'Nottingham', county: 'Notts', postcode: 'NG1 4GR', country: 'UK' }],
        contacts: [
          { kind: 'email', value: 'carla@example.com' },
          { kind: 'phone', value: '01234 567890' },
          { kind: 'mobile', value: '07700 900123' },
        ],
        preferences: { contactMethod: 'Email', contactTime: 'Mornings', contactConsent: 'Yes' },
      },
    ],
    notes: [
      { text: 'First contact made', type: 'Contact', visibleToCustomer: true },
      { text: 'Awaiting documents' },
    ],
    documents: [
      { name: 'order.pdf', mimeType: 'application/pdf', url: 'https://files.example/order.pdf', public: false },
      { name: 'no-url.txt' },
      { name: 'photo.jpg', mimeType: 'image/jpeg', url: 'https://files.example/photo.jpg', public: true },
    ],
    ...overrides,
  };
}

export function deliveryRequest(c: CanonicalCase, action: string, options: Record<string, unknown> = {}, extra: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    case: c,
    hubId: 'hub-42',
    action,
    options,
    route: 'test-route',
    deliveryId: `d-${action}-1`,
    attempt: 1,
    references: [],
    ...extra,
  };
}
