/**
 * Every hub process on a Redis prefix must use the prefix's data key: the first records the key's fingerprint, later
 * ones compare, and one with another key refuses to start before it writes anything (a hub, and the `caseway` CLI
 * with one line and exit 1). A prefix holding cases from before the check is probed with one stored payload.
 * Real Redis, real processes for the CLI.
 */
import { spawnSync } from 'node:child_process';
import { Redis } from 'ioredis';
import { DataKeyMismatchError, checkDataKey } from '../../src/core/store/data-key-check';
import { Keys } from '../../src/core/store/keys';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { CLI, CLI_TIMEOUT_MS, cliSetup } from '../helpers/cli';
import { FIXTURE_ADAPTER_DIR, INBOX_TO_SINK_YAML, startTestHub } from '../helpers/hub';
import { REDIS_URL, quietRedis, testRedis } from '../helpers/redis';
import { sealV1 } from '../helpers/sealed-v1';

describe('the data key check', () => {
  const t = testRedis();
  const redis = quietRedis(new Redis(REDIS_URL));
  let n = 0;
  const freshKeys = () => new Keys(`${t.prefix}${++n}:`);
  const keyA = PayloadCipher.generateKey();
  const keyB = PayloadCipher.generateKey();
  const a = new PayloadCipher(keyA);
  const b = new PayloadCipher(keyB);

  afterAll(async () => {
    redis.disconnect();
    await t.cleanup();
  });

  it('fingerprints tell keys apart, are stable, and are not the key', () => {
    expect(a.fingerprint()).toBe(new PayloadCipher(keyA).fingerprint());
    expect(a.fingerprint()).not.toBe(b.fingerprint());
    expect(a.fingerprint()).toMatch(/^[0-9a-f]{32}$/);
    expect(a.fingerprint()).not.toContain(Buffer.from(keyA, 'base64').toString('hex').slice(0, 8));
  });

  it('records the first key, matches the same key, refuses another and leaves the record as it was', async () => {
    const keys = freshKeys();
    expect(await checkDataKey(redis, keys, a)).toBe('recorded');
    expect(await checkDataKey(redis, keys, new PayloadCipher(keyA))).toBe('matched');
    await expect(checkDataKey(redis, keys, b)).rejects.toBeInstanceOf(DataKeyMismatchError);
    await expect(checkDataKey(redis, keys, b)).rejects.toMatchObject({ code: 'DATA_KEY_MISMATCH', retryable: false, context: { prefix: keys.prefix } });
    expect(await redis.get(keys.dataKeyCheck())).toBe(a.fingerprint());
  });

  it('two processes starting together with one key: one records, the other matches; with two keys one is refused', async () => {
    const same = freshKeys();
    expect((await Promise.all([checkDataKey(redis, same, a), checkDataKey(redis, same, new PayloadCipher(keyA))])).sort()).toEqual(['matched', 'recorded']);
    const two = freshKeys();
    const outcomes = await Promise.allSettled([checkDataKey(redis, two, a), checkDataKey(redis, two, b)]);
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'rejected' && o.reason instanceof DataKeyMismatchError)).toHaveLength(1);
  });

  describe('a prefix holding cases stored before the check (no fingerprint recorded)', () => {
    it('refuses a key that does not open a stored payload, and records nothing', async () => {
      const keys = freshKeys();
      await redis.set(keys.payload('ev-old'), a.seal('{"type":"complaint"}'));
      await expect(checkDataKey(redis, keys, b)).rejects.toThrow(/a stored case payload does not open with it/);
      expect(await redis.exists(keys.dataKeyCheck())).toBe(0);
      expect(await checkDataKey(redis, keys, a)).toBe('recorded');
    });

    it('takes the key that opens a payload stored as v1 text', async () => {
      const keys = freshKeys();
      await redis.set(keys.payload('ev-v1'), sealV1(keyA, '{"type":"complaint"}'));
      await expect(checkDataKey(redis, keys, b)).rejects.toBeInstanceOf(DataKeyMismatchError);
      expect(await checkDataKey(redis, keys, a)).toBe('recorded');
    });
  });

  describe('hub processes', () => {
    const yaml = INBOX_TO_SINK_YAML;

    it('a second hub on the prefix with another key refuses to start and writes nothing; with the same key it starts', async () => {
      // api only: no workers of its own writing BullMQ's stalled-job checks while the keys are compared.
      const first = await startTestHub({ yaml, dataKey: keyA, roles: { api: true, workers: false } });
      try {
        const before = (await redis.keys(`${first.prefix}*`)).sort();
        // A hub that started after all is stopped again, so the test fails instead of hanging on its workers.
        const refused = await startTestHub({ yaml, dataKey: keyB, prefix: first.prefix, roles: { api: false, workers: true } }).then(
          async (started) => {
            await started.stopKeepingState();
            return 'started';
          },
          (err: unknown) => err,
        );
        expect(refused).toBeInstanceOf(DataKeyMismatchError);
        expect((await redis.keys(`${first.prefix}*`)).sort()).toEqual(before);
        const second = await startTestHub({ yaml, dataKey: keyA, prefix: first.prefix, roles: { api: false, workers: true } });
        await second.stopKeepingState();
      } finally {
        await first.stop();
      }
    });

    it('`caseway worker` with another key exits 1 with one line naming the key and the prefix', async () => {
      const setup = cliSetup(yaml);
      const keys = freshKeys();
      try {
        await checkDataKey(redis, keys, a);
        const out = spawnSync(process.execPath, [CLI, '--config', setup.configFile, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--prefix', keys.prefix, '--redis', REDIS_URL, 'worker'], {
          env: { ...process.env, CASEWAY_DATA_KEY: keyB, PORT: '0', HOST: '127.0.0.1' },
          encoding: 'utf8',
          timeout: CLI_TIMEOUT_MS,
        });
        expect(out.status).toBe(1);
        const lines = out.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^caseway: the data key \\(CASEWAY_DATA_KEY or hub\\.dataKey\\) is not the one the cases on Redis prefix "${keys.prefix}" are sealed with .*docs/deploy\\.md`));
        expect(out.stderr).not.toContain(keyB);
      } finally {
        setup.cleanup();
      }
    });

    it('admin commands seal nothing: they neither record a key nor are refused for another one', async () => {
      const setup = cliSetup(yaml);
      const empty = freshKeys();
      const recorded = freshKeys();
      try {
        await checkDataKey(redis, recorded, a);
        const run = (prefix: string) =>
          spawnSync(process.execPath, [CLI, '--config', setup.configFile, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--prefix', prefix, '--redis', REDIS_URL, 'dead-letters'], {
            env: { ...process.env, CASEWAY_DATA_KEY: keyB },
            encoding: 'utf8',
            timeout: CLI_TIMEOUT_MS,
          });
        expect(run(empty.prefix).status).toBe(0);
        expect(await redis.exists(empty.dataKeyCheck())).toBe(0);
        expect(run(recorded.prefix).status).toBe(0);
        expect(await redis.get(recorded.dataKeyCheck())).toBe(a.fingerprint());
      } finally {
        setup.cleanup();
      }
    });
  });
});
