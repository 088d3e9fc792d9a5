/**
 * Closed by default outside the sandbox: `caseway start|api|worker` with real peers refuses to start open, with one
 * line naming the fix; with a token, own ops hashes and an own data key it starts and /api wants the token.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { warnOpenApi } from '../../src/cli/start-checks';
import { createLogger } from '../../src/core/logger';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { hashPassword } from '../../src/ops/password';
import { CLI } from '../helpers/cli';
import { FIXTURE_ADAPTER_DIR, INBOX_TO_SINK_YAML, eventually } from '../helpers/hub';
import { REDIS_URL, testRedis } from '../helpers/redis';

const DEMO_HASH = /passwordHash: "\$\{OPS_OPERATOR_HASH:-([^}]+)\}"/.exec(readFileSync(path.resolve(__dirname, '../../config/caseway.yaml'), 'utf8'))![1];

const yaml = (operatorHash: string) => `
ops:
  users:
    - { name: operator, role: operator, passwordHash: "${operatorHash}" }
${INBOX_TO_SINK_YAML}`;

describe('caseway start with real peers (closed by default)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-secure-start-'));
  const { redis, prefix, cleanup } = testRedis();
  let ownHash = '';
  let configFile = '';
  const demoConfig = path.join(dir, 'demo.yaml');
  const dataKey = PayloadCipher.generateKey();
  const token = 'test-token-0123456789abcdef';

  beforeAll(async () => {
    ownHash = await hashPassword('a-real-operator-password', { N: 1024 });
    configFile = path.join(dir, 'caseway.yaml');
    writeFileSync(configFile, yaml(ownHash));
    writeFileSync(demoConfig, yaml(DEMO_HASH));
  });
  afterAll(async () => {
    await cleanup();
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  const baseEnv = (): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1' };
    delete env.CASEWAY_API_TOKEN;
    delete env.CASEWAY_DATA_KEY;
    return env;
  };
  const argv = (config: string, args: string[]) => [CLI, '--config', config, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--prefix', prefix, '--redis', REDIS_URL, ...args];
  const refused = (config: string, args: string[], env: NodeJS.ProcessEnv, cwd = dir) => {
    const out = spawnSync(process.execPath, argv(config, args), { cwd, env: { ...baseEnv(), ...env }, encoding: 'utf8', timeout: 90000 });
    expect(out.status).toBe(1);
    const lines = out.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    return lines[0];
  };

  it('refuses without CASEWAY_API_TOKEN (start and api), naming the token and the flag', () => {
    for (const role of ['start', 'api']) {
      expect(refused(configFile, ['--sandbox=false', role], { CASEWAY_DATA_KEY: dataKey })).toMatch(/^caseway: CASEWAY_API_TOKEN is not set, .*set it .*--insecure-open-api/);
    }
  });

  it('refuses an ops user with a demo password hash of config/caseway.yaml, naming the user and ops-password', () => {
    expect(refused(demoConfig, ['start'], { CASEWAY_DATA_KEY: dataKey, CASEWAY_API_TOKEN: token })).toMatch(/^caseway: ops user "operator" still has the demo password hash of config\/caseway\.yaml; .*caseway ops-password/);
  });

  it('refuses without a data key, and with the generated development key, for workers too', () => {
    expect(refused(configFile, ['--sandbox=false', 'worker'], {})).toMatch(/^caseway: no data key is set, .*CASEWAY_DATA_KEY/);
    const cwd = path.join(dir, 'with-dev-key');
    mkdirSync(path.join(cwd, '.caseway'), { recursive: true });
    const devKey = PayloadCipher.generateKey();
    writeFileSync(path.join(cwd, '.caseway', 'data-key'), `${devKey}\n`);
    expect(refused(configFile, ['start'], { CASEWAY_DATA_KEY: devKey, CASEWAY_API_TOKEN: token }, cwd)).toMatch(/^caseway: the data key is the development key generated into \.caseway\/data-key; /);
  });

  it('names the first problem in one line and counts the rest when several are open', () => {
    expect(refused(demoConfig, ['start'], {})).toMatch(/^caseway: CASEWAY_API_TOKEN is not set, .* \(2 more to fix after this one\)$/);
  });

  async function started(args: string[], env: NodeJS.ProcessEnv) {
    let output = '';
    const child = spawn(process.execPath, argv(configFile, args), { cwd: dir, env: { ...baseEnv(), ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    // A hub that never printed its banner is killed here: the test's own finally only stops a hub it got back.
    const url = await eventually(async () => /API\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(output)?.[1], 20000, 'the banner').catch(async (err: Error) => {
      child.kill('SIGKILL');
      await exited;
      throw new Error(`${err.message}; it printed: ${output.slice(0, 300)}`);
    });
    return { url, output: () => output, stop: async () => { child.kill('SIGTERM'); return exited; } };
  }

  it('starts with a token, own hashes and an own data key; /api answers 401 without the token', async () => {
    const hub = await started(['--sandbox=false', 'start'], { CASEWAY_DATA_KEY: dataKey, CASEWAY_API_TOKEN: token });
    try {
      const open = await axios.get(`${hub.url}/api/cases/nope`, { validateStatus: () => true });
      expect(open.status).toBe(401);
      const wrong = await axios.get(`${hub.url}/api/cases/nope`, { headers: { Authorization: 'Bearer wrong' }, validateStatus: () => true });
      expect(wrong.status).toBe(401);
      const right = await axios.get(`${hub.url}/api/cases/nope`, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
      expect(right.status).toBe(404);
      // express matches paths case-insensitively by default: another spelling of /api must not skip the token
      // (before the fix, GET /API/dead-letters answered 200 with no token).
      for (const [method, path] of [['get', '/API/dead-letters'], ['get', '/Api/Cases/nope'], ['delete', '/API/dead-letters/icasework/x'], ['post', '/aPi/dead-letters/icasework/x/replay']] as const) {
        const variant = await axios.request({ method, url: `${hub.url}${path}`, validateStatus: () => true });
        expect(`${method} ${path} ${variant.status}`).toBe(`${method} ${path} 401`);
      }
      // With the token, another spelling is simply no route (the /api routers are case-sensitive).
      const spelled = await axios.get(`${hub.url}/API/dead-letters`, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
      expect(spelled.status).toBe(404);
      expect((await axios.get(`${hub.url}/api/dead-letters`, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true })).status).toBe(200);
      expect(hub.output()).not.toContain('insecure');
    } finally {
      expect(await hub.stop()).toBe(0);
    }
  });

  it('--insecure-open-api starts without a token and warns that /api is open', async () => {
    const hub = await started(['--sandbox=false', '--insecure-open-api', 'start'], { CASEWAY_DATA_KEY: dataKey });
    try {
      expect((await axios.get(`${hub.url}/api/cases/nope`, { validateStatus: () => true })).status).toBe(404);
      expect(hub.output()).toMatch(/"insecureOpenApi":true.*\/api is open \(--insecure-open-api\)/);
    } finally {
      expect(await hub.stop()).toBe(0);
    }
  });
});

/**
 * No REDIS_URL and nothing answering at the default 127.0.0.1:6379: a sandbox run starts a private redis-server (so
 * `npm start` works on a bare machine), a hub with real peers must not (it would accept cases into a Redis no other
 * process, and no later start, ever reads). The machine's own Redis is on 6379, so each start runs in a network
 * namespace of its own, where loopback has nothing listening. Needs root and iproute2, as CI has.
 */
const netnsUsable = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;
(netnsUsable ? describe : describe.skip)('no Redis at the default address (own network namespace)', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-no-redis-'));
  const ns = `cwnoredis${process.pid}`;
  const dataKey = PayloadCipher.generateKey();
  const sandboxYaml = path.join(dir, 'sandbox.yaml');
  const realYaml = path.join(dir, 'real.yaml');
  let ownHash = '';

  beforeAll(async () => {
    ownHash = await hashPassword('a-real-operator-password', { N: 1024 });
    writeFileSync(realYaml, yaml(ownHash));
    writeFileSync(sandboxYaml, yaml(ownHash).replace('inbox: { adapter: recorder }', 'inbox: { adapter: recorder, sandbox: true }'));
    expect(spawnSync('ip', ['netns', 'add', ns]).status).toBe(0);
    expect(spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']).status).toBe(0);
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout.split('\n').filter(Boolean).forEach((pid) => {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* already gone */
      }
    });
    spawnSync('ip', ['netns', 'delete', ns]);
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (): NodeJS.ProcessEnv => {
    const e: NodeJS.ProcessEnv = { ...process.env, PORT: '0', HOST: '127.0.0.1', CASEWAY_API_TOKEN: 'test-token-0123456789abcdef', CASEWAY_DATA_KEY: dataKey };
    delete e.REDIS_URL;
    return e;
  };
  const inNamespace = (config: string, args: string[], cwd: string) =>
    spawn('ip', ['netns', 'exec', ns, process.execPath, CLI, '--config', config, '--adapter-dir', FIXTURE_ADAPTER_DIR, ...args], { cwd, env: env(), stdio: ['ignore', 'pipe', 'pipe'] });

  it('a hub with real peers exits 1 naming the address and REDIS_URL, and starts no redis-server of its own', () => {
    const cwd = path.join(dir, 'real');
    mkdirSync(cwd);
    const out = spawnSync('ip', ['netns', 'exec', ns, process.execPath, CLI, '--config', realYaml, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--sandbox=false', 'start'], { cwd, env: env(), encoding: 'utf8', timeout: 90000 });
    expect(out.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^caseway: Redis is not reachable at redis:\/\/127\.0\.0\.1:6379 .*point REDIS_URL at one\.$/)]);
    expect(out.status).toBe(1);
    expect(out.stdout + out.stderr).not.toContain('private redis-server');
    expect(existsSync(path.join(cwd, '.caseway', 'redis'))).toBe(false);
  });

  it('the negative: a sandbox run in the same place starts its private redis-server and serves', async () => {
    const cwd = path.join(dir, 'sandbox');
    mkdirSync(cwd);
    const child = inNamespace(sandboxYaml, ['start'], cwd);
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually(async () => /API\s+http:\/\/127\.0\.0\.1:\d+/.test(output), 60000, 'the banner');
      expect(output).toMatch(/started a private redis-server at redis:\/\/127\.0\.0\.1:\d+/);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

describe('the --insecure-open-api reminder', () => {
  afterEach(() => jest.useRealTimers());
  it('warns at start and again every 10 minutes until stopped', () => {
    jest.useFakeTimers();
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (l: string) => void lines.push(l) } });
    const stop = warnOpenApi(log);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(10 * 60 * 1000 - 1);
    expect(lines).toHaveLength(1);
    jest.advanceTimersByTime(1);
    expect(lines).toHaveLength(2);
    jest.advanceTimersByTime(20 * 60 * 1000);
    expect(lines).toHaveLength(4);
    stop();
    jest.advanceTimersByTime(60 * 60 * 1000);
    expect(lines).toHaveLength(4);
    expect(lines.every((l) => l.includes('/api is open'))).toBe(true);
  });
});
