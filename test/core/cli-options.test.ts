/** The CLI's flag checks run before anything starts; a Sentinel URL is a Redis URL like any other. */
import { OptionError, parseRedisUrl } from '../../src/cli/options';

describe('--redis / REDIS_URL', () => {
  it.each(['redis://127.0.0.1:6379', 'rediss://user:pw@redis.example:6380/2', 'redis+sentinel://10.0.0.1:26379,10.0.0.2:26379/cwmaster', 'rediss+sentinel://:pw@s1:26379/m'])('accepts %s', (url) => {
    expect(parseRedisUrl(url)).toBe(url);
  });

  it.each(['http://127.0.0.1:6379', 'redis:/nohost', 'sentinel://s1:26379/m', 'redis://with space'])('refuses %s with one line naming the flag', (url) => {
    expect(() => parseRedisUrl(url, 'REDIS_URL')).toThrow(OptionError);
    expect(() => parseRedisUrl(url, 'REDIS_URL')).toThrow(/^REDIS_URL must be a redis:\/\/, rediss:\/\/ or redis\+sentinel:\/\/ URL/);
  });
});
