/** How `caseway start` behaves when something it needs is missing: one clear line, no stack trace. */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../src/cli/private-redis';
import { deleteKeysWithPrefix } from '../../src/core/redis';
import { eventually } from '../helpers/hub';

/** How long a `caseway` process may take to start or finish: a safety net (a loaded machine starts Node slowly), not a measurement. */
// A safety net, not a measurement: under full CPU load (stress-ng --cpu 2 plus other work) a `caseway start` that fails
// at once still took over 45 s to print its one line.
const START_MS = 90_000;
jest.setTimeout(2 * START_MS);

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');

function start(args: string[], env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, PORT: '0', ...env }, encoding: 'utf8', timeout: START_MS });
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

/**
 * A second `caseway start` in the same checkout never touches a running sandbox hub: it takes the port and the
 * instance lock before any reset, and each instance has its own prefix and folder (issue 11.3).
 */
describe('a second start in the same checkout', () => {
  const FIXTURES = path.join(ROOT, 'test/fixtures/adapters');
  const YAML = `
hub: { shutdownTimeoutMs: 10000 }
connections:
  inbox: { adapter: recorder, sandbox: true }
  sink: { adapter: recorder, sandbox: true }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;
  const cwd = mkdtempSync(path.join(os.tmpdir(), 'caseway-second-start-'));
  const configFile = path.join(cwd, 'caseway.yaml');
  const tag = `cwtest${Math.random().toString(36).slice(2, 8)}`;
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const children: ChildProcess[] = [];

  const freePort = async (): Promise<number> => {
    const { createServer } = await import('node:net');
    const s = createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
    const port = (s.address() as { port: number }).port;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    return port;
  };
  const env = (port: number, instance: string) => ({ ...process.env, PORT: String(port), HOST: '127.0.0.1', CASEWAY_INSTANCE: instance, CASEWAY_PREFIX: '', LOG_LEVEL: 'warn' });
  const args = ['--config', configFile, '--adapter-dir', FIXTURES, 'start'];
  const spawnStart = (port: number, instance: string) => {
    const environment: NodeJS.ProcessEnv = env(port, instance);
    delete environment.CASEWAY_PREFIX;
    let output = '';
    const child = spawn(process.execPath, [CLI, ...args], { cwd, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    return { child, exited, output: () => output };
  };
  /** Waits for the banner; on time-out the error carries what the hub printed. */
  const startedOrShow = (p: { output: () => string }, what: string) =>
    eventually(async () => /Caseway is running/.test(p.output()), START_MS, what).catch((e: Error) => {
      throw new Error(`${e.message}\n--- hub output ---\n${p.output()}`);
    });
  /** SIGTERM has been sent: the hub must exit 0; otherwise the error carries what it printed. */
  const exitsCleanly = async (p: { exited: Promise<number | null>; output: () => string }) => {
    const code = await p.exited;
    if (code !== 0) throw new Error(`the hub exited with ${code}\n--- hub output ---\n${p.output()}`);
  };
  const runStart = (port: number, instance: string) => {
    const environment: NodeJS.ProcessEnv = env(port, instance);
    delete environment.CASEWAY_PREFIX;
    return spawnSync(process.execPath, [CLI, ...args], { cwd, env: environment, encoding: 'utf8', timeout: START_MS });
  };
  /** Every key of an instance except BullMQ's self-expiring stalled-check marker. */
  const keysOf = async (prefix: string) => (await redis.keys(`${prefix}*`)).filter((k) => !k.endsWith(':stalled-check')).sort();

  beforeAll(() => writeFileSync(configFile, YAML));
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    for (const name of ['a', 'b', 'c', 'd']) await deleteKeysWithPrefix(redis, `cw-sandbox:${tag}-${name}:`);
    redis.disconnect();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('leaves the first hub\'s keys, cases and queues untouched, and refuses in one line', async () => {
    const portA = await freePort();
    const first = spawnStart(portA, `${tag}-a`);
    const url = `http://127.0.0.1:${portA}`;
    await startedOrShow(first, 'the first hub to start');
    const posted = await fetch(`${url}/recorder/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify([1, 2, 3].map((i) => ({ eventId: `e${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `r${i}` }, parties: [] } }))) });
    expect(posted.status).toBe(200);
    const hubIds = ((await posted.json()) as { results: Array<{ hubId: string }> }).results.map((r) => r.hubId);
    const prefixA = `cw-sandbox:${tag}-a:`;
    // Delivered and completed: a job still finishing would change the keys after the snapshot below.
    await eventually(async () => (await redis.hlen(`${prefixA}state:sink:deliveries`)) === 3 && (await redis.zcard(`${prefixA}q:deliver.sink:completed`)) === 3, START_MS, 'three deliveries completed');
    const before = await keysOf(prefixA);
    expect(before.length).toBeGreaterThan(10);
    expect(before).toContain(`${prefixA}instance-lock`);

    // Same instance, another port: the instance lock refuses it before any reset.
    const sameInstance = runStart(await freePort(), `${tag}-a`);
    expect(sameInstance.status).toBe(1);
    expect(sameInstance.stderr.trim().split('\n')).toHaveLength(1);
    expect(sameInstance.stderr.trim()).toMatch(new RegExp(`^caseway: another hub \\(pid ${first.child.pid} on .*, port ${portA}\\) is running on Redis prefix "${prefixA}"; its state was left untouched; stop it first, or start this one with another PORT or CASEWAY_INSTANCE\\.$`));
    // Same port, another instance: the port is taken first, so not even its own prefix is touched.
    const samePort = runStart(portA, `${tag}-b`);
    expect(samePort.status).toBe(1);
    expect(samePort.stderr.trim().split('\n').pop()).toBe(`caseway: port ${portA} is already in use; start with another one, e.g. PORT=${portA + 1} npm start`);
    expect(await redis.keys(`cw-sandbox:${tag}-b:*`)).toEqual([]);
    // Another port and instance: a hub of its own, with its own prefix, folder and queues.
    const third = spawnStart(await freePort(), `${tag}-c`);
    await startedOrShow(third, 'the third hub to start');
    expect(existsSync(path.join(cwd, '.caseway/instances', `${tag}-c`))).toBe(true);
    third.child.kill('SIGTERM');
    await exitsCleanly(third);

    expect(await keysOf(prefixA)).toEqual(before);
    for (const id of hubIds) expect((await fetch(`${url}/api/cases/${id}`)).status).toBe(200);
    expect(await redis.hlen(`${prefixA}state:sink:deliveries`)).toBe(3);
    first.child.kill('SIGTERM');
    await exitsCleanly(first);
    // A clean stop gives the instance back.
    expect(await redis.exists(`${prefixA}instance-lock`)).toBe(0);
  }, 4 * START_MS);

  it('takes over the lock of a hub on this machine that was killed outright', async () => {
    // An instance of its own: a hub the test above left running (had it failed) must not decide this one.
    const killed = spawnStart(await freePort(), `${tag}-d`);
    await startedOrShow(killed, 'the hub to start');
    killed.child.kill('SIGKILL');
    await killed.exited;
    expect(await redis.exists(`cw-sandbox:${tag}-d:instance-lock`)).toBe(1);
    const again = spawnStart(await freePort(), `${tag}-d`);
    await eventually(async () => /Caseway is running/.test(again.output()) || again.child.exitCode !== null, START_MS, 'the restart');
    expect(again.output()).toContain('Caseway is running');
    expect(JSON.parse((await redis.get(`cw-sandbox:${tag}-d:instance-lock`)) ?? '{}')).toMatchObject({ pid: again.child.pid });
    again.child.kill('SIGTERM');
    await exitsCleanly(again);
  }, 3 * START_MS);
});
