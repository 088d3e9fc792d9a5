/** How `caseway start` behaves when something it needs is missing: one clear line, no stack trace. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/cli/private-redis';
import { deleteKeysWithPrefix } from '../../src/core/redis';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');

function start(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, PORT: '0', ...env }, encoding: 'utf8', timeout: 30000 });
}

describe('caseway start', () => {
  it('says in one line that Redis is unreachable and how to get it, when REDIS_URL points nowhere', () => {
    const out = start(['start'], { REDIS_URL: 'redis://127.0.0.1:1' });
    expect(out.status).toBe(1);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^caseway: Redis is not reachable at redis:\/\/127\.0\.0\.1:1 \(ECONNREFUSED\)\. Start Redis \(e\.g\. .*redis-server.*\) or point REDIS_URL at one\.$/);
    expect(out.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses to start on a Redis that may evict keys, saying which setting to change', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-lru-redis-'));
    const lru = await startPrivateRedis(dir, ['--maxmemory-policy', 'allkeys-lru']);
    try {
      const out = start(['start'], { REDIS_URL: lru.url });
      expect(out.status).toBe(1);
      expect(out.stderr.trim()).toBe(
        `caseway: Redis at ${lru.url} has maxmemory-policy "allkeys-lru"; Caseway needs "noeviction" so queued cases are never evicted (run: redis-cli config set maxmemory-policy noeviction, and set it in redis.conf)`,
      );
    } finally {
      await lru.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('says which port is taken instead of printing a stack trace', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as { port: number }).port;
    try {
      const out = start(['start'], { PORT: String(port), HOST: '127.0.0.1', CASEWAY_PREFIX: `cwtest-port-${port}:` });
      expect(out.status).toBe(1);
      expect(out.stderr.trim().split('\n').pop()).toBe(`caseway: port ${port} is already in use; start with another one, e.g. PORT=${port + 1} npm start`);
      expect(out.stderr).not.toMatch(/\n\s+at /);
    } finally {
      blocker.close();
      const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
      await deleteKeysWithPrefix(redis, `cwtest-port-${port}:`);
      redis.disconnect();
    }
  });

  it('refuses to split a sandbox config into api and worker processes, which would each start their own peers', () => {
    for (const role of ['api', 'worker']) {
      const out = start([role], {});
      expect(out.status).toBe(2);
      expect(out.stderr.trim()).toBe(
        `caseway ${role}: config/caseway.yaml starts sandbox peers, which only \`caseway start\` runs (one process). Use \`caseway start\`, or give the real peers' settings and --sandbox=false.`,
      );
    }
  });

  it('with --sandbox=false, refuses to start and names each setting the real peers need', () => {
    // Closed-by-default checks pass (token, own ops hashes, own data key), so the config's own errors show.
    const ownHash = 'scrypt:1024:8:1:AAAAAAAAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
    const out = start(['--sandbox=false', 'start'], { CASEWAY_API_TOKEN: 'a-token', CASEWAY_DATA_KEY: Buffer.alloc(32, 7).toString('base64'), OPS_OPERATOR_HASH: ownHash, OPS_VIEWER_HASH: ownHash });
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('config/caseway.yaml: /connections/icasework/settings/key: is required');
    expect(out.stderr).toContain('config/caseway.yaml: /connections/isupport/settings/sftp: is required');
    expect(out.stderr).toContain('caseway: the configuration is invalid; nothing was started.');
  });

  it('with --sandbox=false and no token, exits 1 with one line naming the fix (the demo hashes come next)', () => {
    const out = start(['--sandbox=false', 'start'], { CASEWAY_API_TOKEN: '', CASEWAY_DATA_KEY: Buffer.alloc(32, 7).toString('base64') });
    expect(out.status).toBe(1);
    expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^caseway: CASEWAY_API_TOKEN is not set, .*\(1 more to fix after this one\)$/)]);
  });

  it('can run a private redis-server (used by npm start when none is running) that keeps data in its folder', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-private-redis-'));
    const privateRedis = await startPrivateRedis(dir);
    const client = new Redis(privateRedis.url);
    try {
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      expect(await client.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await client.config('GET', 'dir')).toEqual(['dir', path.join(dir, 'redis')]);
    } finally {
      await client.quit();
      await privateRedis.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
