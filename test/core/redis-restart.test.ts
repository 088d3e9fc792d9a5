/**
 * Redis stops and comes back (with its append-only file, as docs/deploy.md asks): while it is gone, intake answers
 * an error at once instead of hanging or acknowledging; afterwards the same hub takes and delivers cases again, and
 * what was acknowledged before is neither lost nor delivered twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { startPrivateRedis } from '../../src/cli/private-redis';
import { validBody } from '../../adapters/etd/test/support';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';

const YAML = `
hub: { shutdownTimeoutMs: 5000 }
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys: [{ name: form, key: "etd-restart-test-key-0123456789", allowIps: ["127.0.0.1", "::1"] }]
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 5, backoffMs: 200 } }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
  - name: etd
    from: { connection: etd-form, source: application }
    to: [{ connection: sink, action: record }]
`;

const event = (id: string) => ({ eventId: id, case: { type: 'complaint', source: { system: 'recorder', id }, parties: [] } });

describe('Redis restart', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-redis-restart-'));
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;
  let t: TestHub;

  beforeAll(async () => {
    redis = await startPrivateRedis(dir);
    t = await startTestHub({ yaml: YAML, redisUrl: redis.url });
  });
  afterAll(async () => {
    await t.stop();
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails intake fast while Redis is down and resumes, exactly once, when it is back', async () => {
    const post = (body: unknown) => axios.post(`${t.baseUrl}/recorder/inbox`, body, { validateStatus: () => true, timeout: 30000 });
    const deliveries = async () => Object.values(await new RedisConnectionState(t.redis, t.prefix, 'sink').hashGetAll('deliveries')).map((v) => JSON.parse(v) as { hubId: string });

    const before = await post(event('before'));
    expect(before.status).toBe(200);
    await eventually(async () => (await deliveries()).length === 1, 10000, 'the first delivery');

    const port = Number(new URL(redis.url).port);
    await redis.stop();
    // Fails fast: an answer, not the client's 30 s timeout (which would throw here).
    const during = await post(event('during'));
    // A retryable failure: 503 with Retry-After, so the source tries again (nothing was acknowledged).
    expect(during.status).toBe(503);
    expect(during.headers['retry-after']).toBe('5');
    expect(during.data).toMatchObject({ error: 'Service Unavailable', code: 'STORE_UNAVAILABLE', retryable: true });
    // The same for the ETD endpoint (one mapping in the hub serves every webhook adapter).
    const etd = await axios.post(`${t.baseUrl}/etd/application`, validBody(), { headers: { 'X-API-Key': 'etd-restart-test-key-0123456789' }, validateStatus: () => true, timeout: 30000 });
    expect(etd.status).toBe(503);
    expect(etd.headers['retry-after']).toBe('5');

    redis = await startPrivateRedis(dir, [], port);
    const after = await eventually(async () => {
      const res = await post(event('during'));
      return res.status === 200 ? res : undefined;
    }, 20000, 'intake to work again');
    expect(after.data.results[0].duplicate).toBe(false);
    await eventually(async () => (await deliveries()).length === 2, 20000, 'the second delivery');
    const hubIds = (await deliveries()).map((d) => d.hubId);
    expect(new Set(hubIds).size).toBe(2);
    expect(hubIds).toContain(before.data.results[0].hubId);
  }, 120000);
});
