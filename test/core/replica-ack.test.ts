/**
 * hub.redis.minReplicas (issue 18): intake acknowledges an application only once the replica has everything intake
 * wrote for it: the case *and* its delivery job. The jobs go over the queues' own connection, and Redis's WAIT counts
 * only the writes of the connection it is sent on; waiting on the store's connection alone acknowledged cases whose
 * jobs a failover then lost (found by the Redis outage test under CPU load: the case stored, never delivered).
 *
 * The replica here is the test's own (test/helpers/held-replica.ts): it copies the real primary's stream and stops
 * acknowledging at a chosen command, so the test decides which writes the replica is known to have.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/cli/private-redis';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { validBody } from '../../adapters/etd/test/support';
import { startHeldReplica, type HeldReplica } from '../helpers/held-replica';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';
import { quietRedis } from '../helpers/redis';

const API_KEY = 'etd-replica-ack-test-key-0123456789';
const PREFIX = 'cwtest:replica-ack:';
const YAML = `
hub: { shutdownTimeoutMs: 5000, redis: { minReplicas: 1, minReplicasTimeoutMs: 300 } }
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys: [{ name: form, key: "${API_KEY}", allowIps: ["127.0.0.1", "::1"] }]
  sink: { adapter: recorder }
routes:
  - name: etd
    from: { connection: etd-form, source: application }
    to: [{ connection: sink, action: record }]
`;

/** Any write to a delivery job's own keys (its hash, lock, logs): `<prefix>q:deliver.sink:d-<id>`. */
const jobWrite = (args: string[]) => args.some((a) => a.startsWith(`${PREFIX}q:deliver.sink:d-`));
/** Any write of a stored case's payload (`<prefix>payload:<ref>`), the first thing intake's transaction holds. */
const caseWrite = (args: string[]) => args.some((a) => a.startsWith(`${PREFIX}payload:`));

describe('hub.redis.minReplicas waits for the replica to have the delivery job, not only the case', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-replica-ack-'));
  let primary: Awaited<ReturnType<typeof startPrivateRedis>>;
  let replica: HeldReplica;
  let hub: TestHub;
  let n = 0;

  const post = async () => {
    const app = validBody() as { etdApp: { appDetails: { email: string } } };
    app.etdApp.appDetails.email = `replica.ack.${n++}@example.org`;
    return JSON.stringify(app);
  };
  const send = async (body: string) => {
    const res = await fetch(`${hub.baseUrl}/etd/application`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-API-Key': API_KEY }, body });
    return { status: res.status, body: (await res.json()) as { appRefNumber?: string } };
  };
  const sink = () => new RedisConnectionState(hub.redis, PREFIX, 'sink');
  const delivered = async () => Object.values(await sink().hashGetAll('deliveries')).map((v) => (JSON.parse(v) as { hubId: string }).hubId);
  /** How many times the recorder was called for this case's delivery. */
  const calls = async (hubId: string) => {
    const entry = Object.entries(await sink().hashGetAll('deliveries')).find(([, v]) => (JSON.parse(v) as { hubId: string }).hubId === hubId);
    return entry ? Number(await sink().get(`count:${entry[0]}`)) : 0;
  };
  const hubIdOf = async (appRef: string) => ((await (await fetch(`${hub.baseUrl}/api/cases/${encodeURIComponent(appRef)}`)).json()) as { hubId: string }).hubId;

  beforeAll(async () => {
    // Disk-based sync: the held replica reads an RDB with a length (it does not announce the diskless EOF form).
    primary = await startPrivateRedis(dir, ['--shutdown-on-sigterm', 'now', '--repl-diskless-sync', 'no']);
    replica = await startHeldReplica(Number(new URL(primary.url).port));
    const probe = quietRedis(new Redis(primary.url));
    try {
      await eventually(async () => /^slave0:.*state=online/m.test(await probe.info('replication')), 10000, 'the replica to be online');
    } finally {
      probe.disconnect();
    }
    hub = await startTestHub({ yaml: YAML, redisUrl: primary.url, prefix: PREFIX });
  });
  afterAll(async () => {
    await hub?.stop();
    replica?.close();
    await primary?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 200 when the replica acknowledges everything', async () => {
    const answer = await send(await post());
    expect(answer.status).toBe(200);
    const hubId = await hubIdOf(answer.body.appRefNumber!);
    await eventually(async () => (await delivered()).includes(hubId), 10000, 'the application delivered');
  });

  it('answers 503 while the replica has the case but not its delivery job; the retry, once it has, is 200 and delivered once', async () => {
    replica.hold(jobWrite);
    const body = await post();
    const refused = await send(body);
    // The replica did receive the job's writes, and acknowledged the case's transaction before them: only a WAIT on
    // the connection that added the job can tell that the job is not safe yet.
    expect(replica.held.some(jobWrite)).toBe(true);
    expect(replica.held.some(caseWrite)).toBe(false);
    expect(refused.status).toBe(503);
    replica.release();
    const accepted = await send(body);
    expect(accepted.status).toBe(200);
    const hubId = await hubIdOf(accepted.body.appRefNumber!);
    await eventually(async () => (await delivered()).includes(hubId), 10000, 'the application delivered');
    expect(await calls(hubId)).toBe(1);
  });

  it('answers 503 while the replica has not the case itself', async () => {
    replica.hold(caseWrite);
    const refused = await send(await post());
    expect(replica.held.some(caseWrite)).toBe(true);
    expect(refused.status).toBe(503);
    replica.release();
  });
});
