/** One JSON line per Redis connection per state change: down, still down (every 30 s), back (issue 11.4). */
import { Writable } from 'node:stream';
import { createLogger } from '../../src/core/logger';
import { ConnectionWatch, STILL_DOWN_EVERY_MS } from '../../src/core/redis';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { lines, log: createLogger({ destination, level: 'info' }) };
}

const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' });

describe('ConnectionWatch', () => {
  it('says down once however many errors arrive within the repeat interval, and back once', () => {
    const { lines, log } = capture();
    const watch = new ConnectionWatch(log, 'commands');
    for (let i = 0; i < 50; i += 1) watch.down(refused);
    watch.up();
    watch.up();
    expect(STILL_DOWN_EVERY_MS).toBe(30_000);
    expect(lines.map((l) => [l.redisConnection, l.redisState, l.reason ?? null])).toEqual([
      ['commands', 'down', 'ECONNREFUSED'],
      ['commands', 'back', null],
    ]);
    expect(lines.every((l) => !('stack' in l) && !JSON.stringify(l).includes('    at '))).toBe(true);
  });

  it('with two connections on one watch, says back only once both are ready again', () => {
    const { lines, log } = capture();
    const watch = new ConnectionWatch(log, 'commands');
    const store = {};
    const queues = {};
    watch.down(refused, store);
    watch.down(refused, queues);
    watch.up(store);
    expect(watch.isDown).toBe(true); // the queues' connection is still away
    expect(lines.map((l) => l.redisState)).toEqual(['down']);
    watch.up(queues);
    expect(watch.isDown).toBe(false);
    expect(lines.map((l) => l.redisState)).toEqual(['down', 'back']);
  });

  it('repeats "still down" once per interval while the connection stays down', () => {
    const { lines, log } = capture();
    const watch = new ConnectionWatch(log, 'workers', 0);
    watch.down(refused);
    watch.down(refused);
    watch.down(new Error('Connection is closed.'));
    expect(lines.map((l) => l.redisState)).toEqual(['down', 'still down', 'still down']);
    expect(lines[2].reason).toBe('Connection is closed.');
    expect(watch.isDown).toBe(true);
  });
});
