/**
 * lastActivity / health.lastSuccess stamps: at most one write per field and interval from a process, the latest by a
 * trailing write (on a timer and on close), never moving a stamp back; a connection whose deliveries succeed after
 * failures shows as healthy once they settle. Real Redis, real hub.
 */
import { StampWriter } from '../../src/core/store/stamps';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';
import { testRedis } from '../helpers/redis';

const iso = (ms: number) => new Date(Date.UTC(2026, 10, 30, 0, 0, 0, ms)).toISOString();

describe('StampWriter', () => {
  const r = testRedis();
  afterAll(() => r.cleanup());
  const key = (name: string) => `${r.prefix}${name}`;

  async function stampIn(w: StampWriter, k: string, field: string, value: string): Promise<void> {
    const tx = r.redis.multi();
    w.stamp(tx, k, field, value);
    await tx.exec();
  }

  it('writes the first stamp of an interval at once, holds the later ones back, and writes the latest on close', async () => {
    const w = new StampWriter(r.redis, 60_000);
    const k = key('held');
    await stampIn(w, k, 'lastSuccess', iso(1));
    expect(await r.redis.hget(k, 'lastSuccess')).toBe(iso(1));
    await stampIn(w, k, 'lastSuccess', iso(2));
    await stampIn(w, k, 'lastSuccess', iso(3));
    // Held back: the interval (60 s) is not over.
    expect(await r.redis.hget(k, 'lastSuccess')).toBe(iso(1));
    await w.close();
    expect(await r.redis.hget(k, 'lastSuccess')).toBe(iso(3));
  });

  it('writes the held-back stamp once the interval is over, so a success after another process\'s failure shows', async () => {
    const w = new StampWriter(r.redis, 200);
    const k = key('trailing');
    await stampIn(w, k, 'lastSuccess', iso(10));
    // Another process records a failure: this one does not know, so its next success is held back...
    await r.redis.hset(k, 'lastError', iso(20));
    await stampIn(w, k, 'lastSuccess', iso(30));
    // ...and still written by the trailing write: healthy once settled.
    await eventually(async () => (await r.redis.hget(k, 'lastSuccess')) === iso(30), 5000, 'the trailing write');
    const h = await r.redis.hgetall(k);
    expect(h.lastSuccess > h.lastError).toBe(true);
    await w.close();
  });

  it('never moves a stamp back when another process wrote a later one meanwhile', async () => {
    const w = new StampWriter(r.redis, 60_000);
    const k = key('later');
    await stampIn(w, k, 'lastActivity', iso(100));
    await stampIn(w, k, 'lastActivity', iso(200));
    await r.redis.hset(k, 'lastActivity', iso(300));
    await w.close();
    expect(await r.redis.hget(k, 'lastActivity')).toBe(iso(300));
  });

  it('writes at once again after reset (a success right after a failure)', async () => {
    const w = new StampWriter(r.redis, 60_000);
    const k = key('reset');
    await stampIn(w, k, 'lastSuccess', iso(1));
    w.reset(k, 'lastSuccess');
    await stampIn(w, k, 'lastSuccess', iso(2));
    expect(await r.redis.hget(k, 'lastSuccess')).toBe(iso(2));
    await w.close();
  });
});

const YAML = `
connections:
  inbox: { adapter: recorder }
  sink:
    adapter: recorder
    delivery: { concurrency: 4, attempts: 5, backoffMs: 50 }
routes:
  - name: stamps
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

describe('health and lastActivity through the hub', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, roles: { api: false, workers: true } });
  });
  afterAll(() => t.stop());

  it('a connection whose deliveries succeed after failures shows as healthy once they settle', async () => {
    const sink = new RedisConnectionState(t.redis, t.prefix, 'sink');
    const total = 12;
    // Half the cases fail twice (retryable) before they succeed; successes and failures interleave.
    for (let i = 0; i < total; i += 2) await sink.set(`fail:s-${i}`, '2');
    const events = Array.from({ length: total }, (_, i) => ({ eventId: `e-${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `s-${i}` }, parties: [] } }));
    await t.hub.intake.ingest('inbox', 'inbox', events);
    await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === total, 20000, 'all deliveries');
    const health = await eventually(async () => {
      const h = await t.redis.hgetall(`${t.prefix}health:sink`);
      return h.lastError && h.lastSuccess && h.lastSuccess > h.lastError ? h : undefined;
    }, 10000, 'lastSuccess after the last failure');
    expect(health.lastError).toBeDefined();
    const stats = await t.hub.runtime.stats.read(new Date().toISOString().slice(0, 10), 'stamps');
    expect(stats.delivered).toBe(total);
    expect(stats.failedAttempts).toBe(total);
    expect(stats.lastActivity).toBeDefined();
  });
});
