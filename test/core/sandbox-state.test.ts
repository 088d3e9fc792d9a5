/** Sandbox runs keep their Redis state apart from real hubs and start it clean, as their sandbox peers start empty. */
import { randomUUID } from 'node:crypto';
import { hubPrefix, isSandboxRun, SANDBOX_PREFIX } from '../../src/cli/run-hub';
import { resolveOptions } from '../../src/cli/options';
import type { LoadedConfig } from '../../src/core/config/types';
import { deleteKeysWithPrefix } from '../../src/core/redis';
import { startTestHub } from '../helpers/hub';
import { testRedis } from '../helpers/redis';

const configWith = (sandbox: boolean) => ({ file: 'x.yaml', connections: { a: { adapter: 'recorder', sandbox } }, routes: [] }) as unknown as LoadedConfig;

describe('sandbox state', () => {
  it('uses the sandbox prefix only for sandbox runs without an explicit prefix', () => {
    expect(hubPrefix(resolveOptions({}, {}), configWith(true))).toBe(`${SANDBOX_PREFIX}8080:`);
    // Each sandbox instance has its own prefix: by port, or by name.
    expect(hubPrefix(resolveOptions({}, { PORT: '8081' }), configWith(true))).toBe(`${SANDBOX_PREFIX}8081:`);
    expect(hubPrefix(resolveOptions({}, { PORT: '8081', CASEWAY_INSTANCE: 'demo' }), configWith(true))).toBe(`${SANDBOX_PREFIX}demo:`);
    expect(hubPrefix(resolveOptions({ sandbox: 'false' }, {}), configWith(true))).toBeUndefined();
    expect(hubPrefix(resolveOptions({}, {}), configWith(false))).toBeUndefined();
    expect(hubPrefix(resolveOptions({}, { CASEWAY_PREFIX: 'mine:' }), configWith(true))).toBe('mine:');
    expect(isSandboxRun(resolveOptions({}, { CASEWAY_PREFIX: 'mine:' }), configWith(true))).toBe(true);
    expect(isSandboxRun(resolveOptions({}, { CASEWAY_SANDBOX: 'false' }), configWith(true))).toBe(false);
  });

  it('resetState clears every key under the prefix, and only those (then the new hub records its own data key)', async () => {
    const prefix = `cwtest:${randomUUID().slice(0, 8)}:`;
    const first = await startTestHub({ yaml: 'connections: { a: { adapter: recorder } }\nroutes: []\n', roles: { api: false, workers: false }, prefix });
    await first.redis.set(`${prefix}xref:icasework:500001`, 'old-hub-id');
    await first.redis.set(`${prefix}x-other`, '1');
    const neighbour = `cwtest-neighbour:${randomUUID().slice(0, 8)}`;
    await first.redis.set(neighbour, 'kept');
    await first.stopKeepingState();
    const second = await startTestHub({ yaml: 'connections: { a: { adapter: recorder } }\nroutes: []\n', roles: { api: false, workers: false }, prefix, resetState: true });
    try {
      // Another data key than the first hub's (startTestHub draws one each time): the reset made way for it.
      expect(await second.redis.keys(`${prefix}*`)).toEqual([`${prefix}data-key-check`]);
      expect(await second.redis.get(neighbour)).toBe('kept');
    } finally {
      await second.redis.del(neighbour);
      await second.stop();
    }
  });

  it('a prefix with glob characters is matched literally: clearing it leaves the keys it would match as a pattern', async () => {
    const t = testRedis();
    try {
      const mine = `${t.prefix}i*[ab]?:`;
      const others = [`${t.prefix}iX[ab]?:k`, `${t.prefix}i*a1:k`, `${t.prefix}iZZb9:k`];
      for (const key of [`${mine}k1`, `${mine}k2`, ...others]) await t.redis.set(key, '1');
      await deleteKeysWithPrefix(t.redis, mine);
      expect((await t.redis.keys(`${t.prefix}*`)).sort()).toEqual([...others].sort());
    } finally {
      await t.cleanup();
    }
  });
});
