/**
 * Scripts sent by SHA1: a Redis that does not hold the script yet (new, restarted, flushed) still runs it (NOSCRIPT →
 * the text once, which loads it); other script errors stay errors. Real Redis.
 */
import { randomUUID } from 'node:crypto';
import { CachedScript } from '../../src/core/store/scripts';
import { Redis } from 'ioredis';
import { REDIS_URL, quietRedis, testRedis } from '../helpers/redis';

describe('CachedScript', () => {
  const r = testRedis();
  afterAll(() => r.cleanup());

  it('runs a script Redis has never seen (NOSCRIPT, then the text), and by its SHA1 after that', async () => {
    // A body no Redis holds yet: a comment unique to this run.
    const script = new CachedScript(`-- ${randomUUID()}\nredis.call('SET', KEYS[1], ARGV[1]) return redis.call('GET', KEYS[1])`);
    expect(await r.redis.script('EXISTS', script.sha)).toEqual([0]);
    const key = `${r.prefix}cached`;
    expect(await script.run(r.redis, [key], ['one'])).toBe('one');
    expect(await r.redis.script('EXISTS', script.sha)).toEqual([1]);
    expect(await script.run(r.redis, [key], ['two'])).toBe('two');
    expect(await r.redis.get(key)).toBe('two');
  });

  it('runBuffer gives stored bytes back as Buffers, unchanged, on an auto-pipelined connection too (NOSCRIPT, then by SHA1)', async () => {
    const script = new CachedScript(`-- ${randomUUID()}\nredis.call('SET', KEYS[1], ARGV[1]) return { redis.call('GET', KEYS[1]), { 'x', false } }`);
    const pipelined = quietRedis(new Redis(REDIS_URL, { enableAutoPipelining: true }));
    try {
      const bytes = Buffer.from([0xff, 0x00, 0xc3, 0x28, 0x80]); // not UTF-8: a string reply would change them
      const key = `${r.prefix}bytes`;
      expect(await r.redis.script('EXISTS', script.sha)).toEqual([0]);
      for (const redis of [pipelined, r.redis]) {
        const reply = (await script.runBuffer(redis, [key], [bytes])) as [Buffer, [Buffer, null]];
        expect(Buffer.isBuffer(reply[0]) && reply[0].equals(bytes)).toBe(true);
        expect(reply[1]).toEqual([Buffer.from('x'), null]);
      }
      expect(await r.redis.script('EXISTS', script.sha)).toEqual([1]);
      // The negative: run (replies as text) does change such bytes.
      const text = (await script.run(r.redis, [key], [bytes])) as [string];
      expect(Buffer.from(text[0], 'utf8').equals(bytes)).toBe(false);
    } finally {
      pipelined.disconnect();
    }
  });

  it('keeps any other error an error', async () => {
    const script = new CachedScript(`-- ${randomUUID()}\nreturn redis.call('HGET', KEYS[1], 'f')`);
    const key = `${r.prefix}not-a-hash`;
    await r.redis.set(key, 'x');
    await expect(script.run(r.redis, [key], [])).rejects.toThrow(/WRONGTYPE/);
  });
});
