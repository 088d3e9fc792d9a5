/**
 * Lua scripts sent by their SHA1 (EVALSHA) instead of their text on every call, without ioredis's defineCommand: that
 * would copy each defined script onto every pipeline and MULTI made on the connection (the store connection has none
 * on purpose, see docs/performance.md). A Redis that does not hold the script (restarted, SCRIPT FLUSH) answers
 * NOSCRIPT, and the call is sent once more with the text, which also loads it.
 */
import { createHash } from 'node:crypto';
import { Command, type Redis } from 'ioredis';

export class CachedScript {
  readonly sha: string;

  constructor(readonly body: string) {
    this.sha = createHash('sha1').update(body).digest('hex');
  }

  run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
    return this.bySha((name, first) => (name === 'evalsha' ? redis.evalsha(first, keys.length, ...keys, ...args) : redis.eval(first, keys.length, ...keys, ...args)));
  }

  /**
   * As run, with every string in the reply as a Buffer (scripts that return stored bytes). Sent as a Command of its
   * own: ioredis's callBuffer drops the command's name on an auto-pipelined connection (redis/ioredis#1923).
   */
  runBuffer(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number | Buffer>): Promise<unknown> {
    return this.bySha((name, first) => {
      const command = new Command(name, [first, keys.length, ...keys, ...args], { replyEncoding: null });
      redis.sendCommand(command);
      return command.promise;
    });
  }

  /** EVALSHA; on NOSCRIPT, EVAL with the text (which also loads it). Any other error stays an error. */
  private async bySha(send: (name: 'evalsha' | 'eval', shaOrBody: string) => Promise<unknown>): Promise<unknown> {
    try {
      return await send('evalsha', this.sha);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return send('eval', this.body);
    }
  }
}
