/**
 * The bench's Redis readings print key shapes, never ids (a peer's own id can be personal data), and the slow log
 * summed by command and key shape. Against a private redis-server: the test changes its slow-log settings.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startRedis, type PrivateRedis } from '../../bench/lib/harness';
import { keyShape, redisCpuMs, resetSlowlog, slowlogSummary } from '../../bench/lib/redis-shapes';

test('a key keeps its words; ids, digests and a peer id in a cross-reference become *, numbers #', () => {
  expect(keyShape('cwb7:xref:etd:ETD-D-BTH-CY12345', 'cwb7:')).toBe('cwb#:xref:etd:*');
  expect(keyShape('cwb7:views:0b1c2d3e-1111-2222-3333-444455556666', 'cwb7:')).toBe('cwb#:views:*');
  expect(keyShape('cwb7:q:deliver.icasework:d-9f8e7d6c5b4a3928', 'cwb7:')).toBe('cwb#:q:deliver.icasework:*');
  expect(keyShape('cwb7:state:icasework:notes-sent:case:123456', 'cwb7:')).toBe('cwb#:state:icasework:notes-sent:case:#');
  expect(keyShape('bull:noop:wait', 'cwb7:')).toBe('bull:noop:wait');
  expect(keyShape('another:xref:etd:X1', 'cwb7:')).toBe('');
});

test("Redis's CPU from its INFO: user plus system, in ms", () => {
  expect(redisCpuMs('# CPU\r\nused_cpu_sys:1.250000\r\nused_cpu_user:2.500000\r\nused_cpu_sys_children:9.0\r\n')).toBe(3750);
});

describe('slow log summary', () => {
  let dir: string;
  let server: PrivateRedis;
  let r: Redis;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-slowlog-'));
    server = await startRedis(dir);
    r = new Redis(server.url);
  });
  afterAll(async () => {
    r.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('every command over the threshold, by command and key shape, with no id or value; the threshold set back', async () => {
    await resetSlowlog(r, 0);
    await r.hset('p:xref:etd:ETD-SECRET-1', 'f', 'Jane Doe');
    await r.hset('p:xref:etd:ETD-SECRET-2', 'f', 'Jane Doe');
    await r.eval("return redis.call('GET', KEYS[1])", 1, 'p:views:SECRET-3');
    const lines = await slowlogSummary(r, 'p:');
    expect(lines.find((l) => l.startsWith('hset p:xref:etd:* ×2 max '))).toBeDefined();
    expect(lines.find((l) => l.startsWith('eval p:views:* ×1 max '))).toBeDefined();
    expect(lines.join('\n')).not.toMatch(/SECRET|Jane|redis\.call/);
    expect(await r.config('GET', 'slowlog-log-slower-than')).toEqual(['slowlog-log-slower-than', '10000']);
  });

  test('at the default threshold, fast commands are not listed', async () => {
    await resetSlowlog(r);
    await r.set('p:payload:1', 'x');
    expect((await slowlogSummary(r, 'p:')).filter((l) => l.startsWith('set '))).toEqual([]);
  });
});
