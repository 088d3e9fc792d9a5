/**
 * Scripts sent by SHA1: a Redis that does not hold the script yet (new, restarted, flushed) still runs it (NOSCRIPT →
 * the text once, which loads it); other script errors stay errors. Real Redis.
 */
import { randomUUID } from 'node:crypto';
import { CachedScript } from '../../src/core/store/scripts';
import { testRedis } from '../helpers/redis';

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

  it('keeps any other error an error', async () => {
    const script = new CachedScript(`-- ${randomUUID()}\nreturn redis.call('HGET', KEYS[1], 'f')`);
    const key = `${r.prefix}not-a-hash`;
    await r.redis.set(key, 'x');
    await expect(script.run(r.redis, [key], [])).rejects.toThrow(/WRONGTYPE/);
  });
});
