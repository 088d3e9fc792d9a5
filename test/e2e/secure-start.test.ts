/**
 * Closed by default outside the sandbox: `caseway start|api|worker` with real peers refuses to start open, with one
 * line naming the fix; with a token, own ops hashes and an own data key it starts and /api wants the token.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import { warnOpenApi } from '../../src/cli/start-checks';
import { createLogger } from '../../src/core/logger';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { hashPassword } from '../../src/ops/password';
import { CLI } from '../helpers/cli';
import { FIXTURE_ADAPTER_DIR, eventually } from '../helpers/hub';
import { REDIS_URL, testRedis } from '../helpers/redis';

const DEMO_HASH = /passwordHash: "\$\{OPS_OPERATOR_HASH:-([^}]+)\}"/.exec(readFileSync(path.resolve(__dirname, '../../config/caseway.yaml'), 'utf8'))![1];

const yaml = (operatorHash: string) => `
ops:
  users:
    - { name: operator, role: operator, passwordHash: "${operatorHash}" }
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder }
routes:
  - name: to-sink
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

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
