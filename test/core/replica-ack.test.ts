/**
 * hub.redis.minReplicas (issue 18): intake acknowledges an application only once the replica has everything intake
 * wrote for it: the case *and* its delivery job. The jobs go over the queues' own connection, and Redis's WAIT counts
 * only the writes of the connection it is sent on; waiting on the store's connection alone acknowledged cases whose
 * jobs a failover then lost (found by the Redis outage test under CPU load: the case stored, never delivered).
 *
 * And a WAIT is trusted only within one replication history: a primary demoted (its data set replaced, intake's
 * writes gone) and promoted again counts offsets afresh, and WAIT soon counts a replica past the offset of the lost
 * writes (found by the same test: applications acknowledged and nothing of them stored). Intake compares the
 * primary's replication id before its writes and after WAIT.
 *
 * The replica here is the test's own (test/helpers/held-replica.ts): it copies the real primary's stream and stops
 * acknowledging at a chosen command, so the test decides which writes the replica is known to have.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/cli/private-redis';
import { deliveryQueueName } from '../../src/core/queues';
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
  /**
   * Before a test holds the replica at a write: every earlier delivery finished, its job completed. The recorder
   * counts a delivery before BullMQ marks its job completed, and that completion writes the job's keys: had it come
   * after hold(jobWrite), the hold would start there, before this test's own writes.
   */
  const settled = () =>
    eventually(async () => {
      const counts = await hub.hub.runtime.queues.get(deliveryQueueName('sink')).getJobCounts('active', 'wait', 'delayed', 'prioritized');
      return Object.values(counts).every((n) => n === 0);
    }, 10000, 'earlier deliveries finished');
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
    await settled();
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
    await settled();
    replica.hold(caseWrite);
    const refused = await send(await post());
    expect(replica.held.some(caseWrite)).toBe(true);
    expect(refused.status).toBe(503);
    replica.release();
  });
});

/**
 * A TCP proxy to Redis that, once told to hold, keeps back every command a connection sends from its next WAIT on,
 * until released: the hub's WAIT then reaches Redis later, after whatever the test did in between.
 */
async function waitHoldingProxy(targetPort: number) {
  let holding = false;
  const held: Array<() => void> = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('error', () => undefined);
      s.on('close', () => {
        sockets.delete(s);
        client.destroy();
        upstream.destroy();
      });
    }
    upstream.on('data', (d: Buffer) => client.write(d));
    let queue: Buffer[] | undefined;
    client.on('data', (d: Buffer) => {
      if (queue) queue.push(d);
      else if (holding && /\$4\r\nwait\r\n/i.test(d.toString('latin1'))) {
        queue = [d];
        held.push(() => {
          for (const chunk of queue ?? []) upstream.write(chunk);
          queue = undefined;
        });
      } else upstream.write(d);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    port: (server.address() as AddressInfo).port,
    hold: () => (holding = true),
    held: () => held.length,
    release: () => {
      holding = false;
      for (const send of held.splice(0)) send();
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('hub.redis.minReplicas when the primary loses the writes and is promoted again before WAIT is answered', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-replica-resync-'));
  const prefix = 'cwtest:replica-resync:';
  let primary: Awaited<ReturnType<typeof startPrivateRedis>>;
  let other: Awaited<ReturnType<typeof startPrivateRedis>>;
  let replica: HeldReplica | undefined;
  let proxy: Awaited<ReturnType<typeof waitHoldingProxy>>;
  let hub: TestHub;
  let admin: Redis;

  const replication = async () => admin.info('replication');
  const offset = async () => Number(/^master_repl_offset:(\d+)/m.exec(await replication())?.[1] ?? 0);
  const send = async (body: string) => (await fetch(`${hub.baseUrl}/etd/application`, { method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-API-Key': API_KEY }, body })).status;

  beforeAll(async () => {
    primary = await startPrivateRedis(path.join(dir, 'a'), ['--shutdown-on-sigterm', 'now', '--repl-diskless-sync', 'no']);
    // Another Redis, empty: the primary, made its replica, loads its data set and so loses whatever it had.
    other = await startPrivateRedis(path.join(dir, 'b'), ['--shutdown-on-sigterm', 'now', '--repl-diskless-sync', 'no']);
    admin = quietRedis(new Redis(primary.url));
    replica = await startHeldReplica(Number(new URL(primary.url).port));
    await eventually(async () => /^slave0:.*state=online/m.test(await replication()), 10000, 'the replica to be online');
    proxy = await waitHoldingProxy(Number(new URL(primary.url).port));
    hub = await startTestHub({ yaml: YAML.replace('minReplicasTimeoutMs: 300', 'minReplicasTimeoutMs: 30000'), redisUrl: `redis://127.0.0.1:${proxy.port}`, prefix });
  });
  afterAll(async () => {
    proxy?.release();
    await hub?.stop();
    await proxy?.close();
    replica?.close();
    admin?.disconnect();
    await primary?.stop();
    await other?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers 503, not 200, when WAIT counts in the new history past the offset of writes the old one lost; the retry stores it', async () => {
    const app = validBody() as { etdApp: { appDetails: { email: string } } };
    app.etdApp.appDetails.email = 'replica.resync@example.org';
    const body = JSON.stringify(app);
    proxy.hold();
    const answer = send(body);
    // Both WAITs (the store's and the queues' connection) held: every write of the application is on the primary.
    await eventually(async () => proxy.held() === 2, 10000, "intake's two WAITs");
    expect(await admin.exists(`${prefix}q:deliver.sink:wait`, `${prefix}q:deliver.sink:active`, `${prefix}q:deliver.sink:completed`)).toBeGreaterThan(0);
    const before = await offset();
    // The primary becomes the other's replica (its data set replaced: the application's writes are gone) ...
    await admin.replicaof('127.0.0.1', new URL(other.url).port);
    await eventually(async () => /^master_link_status:up/m.test(await replication()), 10000, 'the primary to load the other data set');
    expect(await admin.keys(`${prefix}payload:*`)).toEqual([]);
    // ... and is promoted again, with a replica that acknowledges everything, until its offsets pass the old ones.
    await admin.replicaof('NO', 'ONE');
    replica?.close();
    replica = await startHeldReplica(Number(new URL(primary.url).port));
    for (let i = 0; (await offset()) <= before + 10_000 && i < 5000; i++) await admin.set(`cwtest:replica-resync-filler:${i % 20}`, 'x'.repeat(4000));
    await eventually(async () => replica!.acked >= before + 10_000, 10000, 'the new replica to acknowledge past the old offset');
    proxy.release();
    // WAIT now counts the replica (its offset passed the connection's last write, of the lost history): only the
    // replication id tells that the writes it counts are gone.
    expect(await answer).toBe(503);
    expect(await admin.keys(`${prefix}payload:*`)).toEqual([]);
    // Nothing was acknowledged, so nothing is lost: the retry stores it, and it is found.
    expect(await send(body)).toBe(200);
    expect(await admin.keys(`${prefix}payload:*`)).toHaveLength(1);
  });
});
