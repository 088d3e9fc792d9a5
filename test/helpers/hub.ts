/**
 * Starts a real Hub in-process for tests: real Redis (unique key prefix), HTTP on a free loopback port, the built-in
 * adapters plus test/fixtures/adapters, and any sandboxes the config asks for. `stop()` also removes its Redis keys.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseConfig } from '../../src/core/config/load';
import type { Hub, HubRoles } from '../../src/core/hub';
import { startHubWithHttp } from '../../src/http/server';
import { createLogger, silentLogger, type Logger } from '../../src/core/logger';
import type { HubMetrics } from '../../src/core/metrics';
import { AdapterRegistry, BUILTIN_ADAPTER_DIR } from '../../src/core/registry';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { deleteKeysWithPrefix as deleteKeys } from '../../src/core/redis';
import { quietRedis, REDIS_URL } from './redis';

export { deleteKeys };

export const FIXTURE_ADAPTER_DIR = path.resolve(__dirname, '../fixtures/adapters');

/** The smallest hub config: the recorder connection `inbox`'s source routed to the recorder `sink`'s `record` action. */
export const INBOX_TO_SINK_YAML = `connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder }
routes:
  - name: to-sink
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

export interface TestHub {
  hub: Hub;
  baseUrl: string;
  prefix: string;
  redis: Redis;
  stop: () => Promise<void>;
  /** Stops the hub but keeps its Redis state (to start another hub on it, e.g. after a config fix). */
  stopKeepingState: () => Promise<void>;
}

export async function startTestHub(opts: {
  yaml: string;
  roles?: HubRoles;
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  metrics?: HubMetrics;
  prefix?: string;
  dataKey?: string;
  httpPlugins?: import('../../src/http/plugin').HttpPlugin[];
  /** More folders to discover adapters in, besides the built-in ones and test/fixtures/adapters. */
  adapterDirs?: string[];
  resetState?: boolean;
  redisUrl?: string;
}): Promise<TestHub> {
  const registry = AdapterRegistry.discover([BUILTIN_ADAPTER_DIR, FIXTURE_ADAPTER_DIR, ...(opts.adapterDirs ?? [])]);
  const config = parseConfig(opts.yaml, 'test.yaml', registry, { ...process.env, ...opts.env });
  const prefix = opts.prefix ?? `cwtest:${randomUUID().slice(0, 8)}:`;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'caseway-test-'));
  const hub = await startHubWithHttp(
    {
    config,
    registry,
    redisUrl: opts.redisUrl ?? REDIS_URL,
    roles: opts.roles ?? { api: true, workers: true },
    prefix,
    workDir,
    dataKey: opts.dataKey ?? PayloadCipher.generateKey(),
    log: opts.log ?? (process.env.CASEWAY_TEST_LOGS ? createLogger() : silentLogger()),
    metrics: opts.metrics,
    resetState: opts.resetState,
    },
    { port: 0, host: '127.0.0.1', plugins: opts.httpPlugins },
  );
  const redis = quietRedis(new Redis(opts.redisUrl ?? REDIS_URL));
  return {
    hub,
    baseUrl: hub.baseUrl ?? '',
    prefix,
    redis,
    stop: async () => {
      await hub.stop();
      await deleteKeys(redis, prefix);
      redis.disconnect();
      rmSync(workDir, { recursive: true, force: true });
    },
    stopKeepingState: async () => {
      await hub.stop();
      redis.disconnect();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/**
 * Least time any wait gets: waits are safety nets that return as soon as the condition holds, and on a machine whose
 * cores are busy with other work (issue 18: the suite must stay green under `stress-ng --cpu 2`) a process start or
 * a delivery can take many times its quiet duration. A passing test is no slower for it.
 */
/**
 * An api-only hub and, once the test says so, a workers-only hub on the same Redis prefix and data key: the delivery
 * jobs the api queues wait until the test has arranged what it needs (a record broken, a stored case removed).
 * Registers its own beforeAll/afterAll (call it inside a describe).
 */
export function apiThenWorkers(yaml: string): { readonly api: TestHub; startWorkers(): Promise<TestHub>; stopWorkers(): Promise<void> } {
  const dataKey = PayloadCipher.generateKey();
  let api: TestHub | undefined;
  let workers: TestHub | undefined;
  const stopWorkers = async (): Promise<void> => {
    await workers?.stopKeepingState();
    workers = undefined;
  };
  beforeAll(async () => {
    api = await startTestHub({ yaml, roles: { api: true, workers: false }, dataKey });
  });
  afterAll(async () => {
    await stopWorkers();
    await api?.stop();
  });
  return {
    get api(): TestHub {
      if (!api) throw new Error('apiThenWorkers: the api hub is not started yet (use it inside a test)');
      return api;
    },
    async startWorkers(): Promise<TestHub> {
      if (!api) throw new Error('apiThenWorkers: start the workers inside a test');
      workers = await startTestHub({ yaml, roles: { api: false, workers: true }, dataKey, prefix: api.prefix });
      return workers;
    },
    stopWorkers,
  };
}

export const MIN_WAIT_MS = 45000;

/**
 * Polls until `check` returns a truthy value or the time runs out (then throws with the last value seen). The time
 * is `timeoutMs` or MIN_WAIT_MS, whichever is longer: never use it to show that something does *not* happen.
 */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 10000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + Math.max(timeoutMs, MIN_WAIT_MS);
  let last: unknown;
  for (;;) {
    last = await check();
    if (last) return last as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
