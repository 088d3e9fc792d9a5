/**
 * Redis beyond one node (issues 11.5 and 19.3): Sentinel URLs and config keys, a real Sentinel-managed primary, and
 * hub.redis.minReplicas, which acknowledges intake only once its writes reached a replica (503 otherwise).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { Redis } from 'ioredis';
import { freePort, startPrivateRedis } from '../../src/cli/private-redis';
import { parseConfig } from '../../src/core/config/load';
import { connectRedis, redisOptionsFor } from '../../src/core/redis';
import { AdapterRegistry, BUILTIN_ADAPTER_DIR } from '../../src/core/registry';
import { dayOf } from '../../src/core/store/stats-store';
import { eventually, FIXTURE_ADAPTER_DIR, startTestHub } from '../helpers/hub';

describe('Redis Sentinel configuration', () => {
  it('reads redis+sentinel:// URLs: sentinels, master name, password and db', () => {
    expect(redisOptionsFor('redis+sentinel://s1.example:26379,s2.example:26380/mymaster')).toEqual({
      sentinels: [{ host: 's1.example', port: 26379 }, { host: 's2.example', port: 26380 }],
      name: 'mymaster',
    });
    expect(redisOptionsFor('redis+sentinel://:s%40cret@10.0.0.1,10.0.0.2:5000/main/2')).toEqual({
      sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 5000 }],
      name: 'main',
      password: 's@cret',
      db: 2,
    });
    expect(redisOptionsFor('redis://user:pw@redis.example:6380/3')).toEqual({ host: 'redis.example', port: 6380, username: 'user', password: 'pw', db: 3 });
  });

  it('takes hub.redis.sentinels + name from the config instead of the URL host', () => {
    expect(redisOptionsFor('redis://:pw@ignored:6379/1', { sentinels: ['a:1', 'b'], name: 'm', sentinelPassword: 'sp' })).toEqual({
      sentinels: [{ host: 'a', port: 1 }, { host: 'b', port: 26379 }],
      name: 'm',
      password: 'pw',
      db: 1,
      sentinelPassword: 'sp',
    });
  });

  it('validates hub.redis in the config: sentinels need a name, minReplicas is a count', () => {
    const registry = AdapterRegistry.discover([BUILTIN_ADAPTER_DIR, FIXTURE_ADAPTER_DIR]);
    const yaml = (hub: string) => `hub: ${hub}\nconnections: { a: { adapter: recorder } }\nroutes: []\n`;
    const config = parseConfig(yaml('{ shutdownTimeoutMs: 5000, redis: { sentinels: ["s1:26379"], name: main, minReplicas: 1, minReplicasTimeoutMs: 500 } }'), 'x.yaml', registry, {});
    expect(config.hub).toEqual({ shutdownTimeoutMs: 5000, redis: { sentinels: ['s1:26379'], name: 'main', minReplicas: 1, minReplicasTimeoutMs: 500 } });
    expect(() => parseConfig(yaml('{ redis: { sentinels: ["s1:26379"] } }'), 'x.yaml', registry, {})).toThrow(/hub\/redis.*name/);
    expect(() => parseConfig(yaml('{ redis: { minReplicas: -1 } }'), 'x.yaml', registry, {})).toThrow(/minReplicas/);
  });

  it('refuses a Sentinel URL without a master name, and sentinels without a name, in one clear message', () => {
    expect(() => redisOptionsFor('redis+sentinel://s1:26379')).toThrow('redis+sentinel://s1:26379: a Sentinel URL reads redis+sentinel://host:port[,host:port...]/<master name>[/<db>]');
    expect(() => redisOptionsFor('redis+sentinel://:secret@s1:26379/')).toThrow(/^redis\+sentinel:\/\/\*\*\*@s1:26379\/: a Sentinel URL/);
    expect(() => redisOptionsFor('redis://127.0.0.1', { sentinels: ['a:1'] })).toThrow('hub.redis.sentinels needs hub.redis.name (the Sentinel master group)');
  });
});


describe('Redis with a replica and Sentinel', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-replica-'));
  let primary: Awaited<ReturnType<typeof startPrivateRedis>>;
  let replica: Awaited<ReturnType<typeof startPrivateRedis>> | undefined;
  const primaryPort = () => Number(new URL(primary.url).port);
  const replicaDir = path.join(dir, 'replica');
  // Stop at once on SIGTERM: a primary would otherwise wait for lagging replicas (shutdown-timeout).
  const NOW = ['--shutdown-on-sigterm', 'now'];
  const startReplica = async (port?: number) => startPrivateRedis(replicaDir, [...NOW, '--replicaof', '127.0.0.1', String(primaryPort())], port);
  const connectedReplicas = async () => {
    const probe = new Redis(primary.url);
    try {
      // Replicas past their initial sync, the ones that can acknowledge a WAIT.
      return (await probe.info('replication')).split('\n').filter((l) => /^slave\d+:.*state=online/.test(l)).length;
    } finally {
      probe.disconnect();
    }
  };

  beforeAll(async () => {
    mkdirSync(replicaDir, { recursive: true });
    primary = await startPrivateRedis(path.join(dir, 'primary'), [...NOW, '--repl-diskless-sync-delay', '0']);
    replica = await startReplica();
  });
  afterAll(async () => {
    await replica?.stop();
    await primary.stop();
    rmSync(dir, { recursive: true, force: true });
  }, 120000);

  it('connects through a real Sentinel to the primary it names', async () => {
    const sentinelPort = await freePort();
    const conf = path.join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${sentinelPort}\nbind 127.0.0.1\nsentinel monitor cwmain 127.0.0.1 ${primaryPort()} 1\n`);
    const sentinel = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' });
    const redis = await eventually(
      () => connectRedis(`redis+sentinel://127.0.0.1:${sentinelPort}/cwmain`).catch(() => undefined),
      15000,
      'the sentinel to answer',
    );
    try {
      await redis.set('cwtest:sentinel-probe', 'through sentinel', 'EX', 60);
      const direct = new Redis(primary.url);
      expect(await direct.get('cwtest:sentinel-probe')).toBe('through sentinel');
      direct.disconnect();
    } finally {
      redis.disconnect();
      await new Promise<void>((resolve) => {
        sentinel.once('exit', () => resolve());
        sentinel.kill('SIGTERM');
      });
    }
  }, 120000);

  it('with minReplicas 1, acknowledges intake while the replica is up and answers 503 + Retry-After when it is gone', async () => {
    const yaml = `
hub: { shutdownTimeoutMs: 5000, redis: { minReplicas: 1, minReplicasTimeoutMs: 3000 } }
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;
    await eventually(async () => (await connectedReplicas()) === 1, 15000, 'the replica to connect');
    // The replica's acknowledgement may take a while on a loaded machine: the wait for it is generous, the test does
    // not measure it (without a replica the WAIT simply runs out).
    const t = await startTestHub({ yaml, redisUrl: primary.url });
    const post = (id: string) =>
      axios.post(`${t.baseUrl}/recorder/inbox`, { eventId: id, case: { type: 'complaint', source: { system: 'recorder', id }, parties: [] } }, { validateStatus: () => true });
    try {
      const ok = await post('with-replica');
      expect(ok.status).toBe(200);
      const ready = await axios.get(`${t.baseUrl}/readyz`, { validateStatus: () => true });
      expect(ready.status).toBe(200);
      expect(ready.data.redisRole).toEqual({ role: 'master', connectedReplicas: 1, minReplicas: 1, failover: 'none' });

      const port = Number(new URL(replica!.url).port);
      await replica!.stop();
      await eventually(async () => (await connectedReplicas()) === 0, 15000, 'the primary to see the replica gone');
      const refused = await post('without-replica');
      expect(refused.status).toBe(503);
      expect(refused.headers['retry-after']).toBe('5');
      expect(refused.data).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
      // Health says why: fewer replicas than minReplicas is a failover state, and the hub is not ready meanwhile.
      const notReady = await axios.get(`${t.baseUrl}/readyz`, { validateStatus: () => true });
      expect(notReady.status).toBe(503);
      expect(notReady.data).toMatchObject({ ready: false, redis: 'ok', redisRole: { role: 'master', connectedReplicas: 0, failover: 'switching', failoverReason: '0 of 1 replicas connected' } });

      // The source's retry succeeds once the replica is back, under one hub id.
      replica = await startReplica(port);
      const retried = await eventually(async () => {
        const res = await post('without-replica');
        return res.status === 200 ? res : undefined;
      }, 30000, 'intake to acknowledge again');
      expect(retried.data.results[0].duplicate).toBe(false);
      expect(retried.data.results[0].hubId).toMatch(/^[0-9a-f-]{36}$/);
      // Each refused attempt had committed its transaction (the case, its counters, its trace) before the WAIT ran out;
      // the retries count it once, so reconciliation balances: 2 received, 2 routed, 2 deliveries (before the fix every
      // attempt counted it again, and the day's gap never closed).
      const stats = await t.hub.runtime.stats.read(dayOf(new Date()), 'main');
      expect([stats.received, stats.routed, stats.deliveries]).toEqual([2, 2, 2]);
      const stages = (await t.hub.runtime.traces.read(retried.data.results[0].hubId)).map((e) => e.stage);
      expect(stages.filter((st) => st === 'received' || st === 'routed')).toEqual(['received', 'routed']);
    } finally {
      await t.stop();
    }
  }, 120000);
});
