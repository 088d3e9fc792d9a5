/**
 * Redis goes away under a running hub process (issue 11.4): each connection says so in one JSON line per state change
 * (down, still down every 30 s, back), never a raw stack trace, and SIGTERM ends the process within
 * hub.shutdownTimeoutMs even while Redis is still down.
 */
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { startPrivateRedis } from '../../src/cli/private-redis';
import { CLI } from '../helpers/cli';
import { eventually, FIXTURE_ADAPTER_DIR } from '../helpers/hub';

const YAML = `
hub: { shutdownTimeoutMs: 4000 }
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 3, backoffMs: 100 } }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

/**
 * Stands in for the stopped Redis on its port: each reconnect attempt of the hub is accepted and closed at once (Redis
 * is still away) and counted, so a test waits for "the hub kept trying" instead of for a fixed time.
 */
async function reconnectCounter(port: number): Promise<{ attempts: () => number; close: () => Promise<void> }> {
  let attempts = 0;
  const server = createServer((socket) => {
    attempts += 1;
    socket.on('error', () => undefined);
    socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return { attempts: () => attempts, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** Reconnect attempts, per connection that reported down, that an outage lasts (on average). */
const ATTEMPTS_PER_CONNECTION = 3;

interface LogLine {
  msg?: string;
  redisConnection?: string;
  redisState?: string;
}

describe('Redis outage under a running hub', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-outage-'));
  const configFile = path.join(dir, 'caseway.yaml');
  let redis: Awaited<ReturnType<typeof startPrivateRedis>>;

  beforeAll(async () => {
    writeFileSync(configFile, YAML);
    redis = await startPrivateRedis(dir);
  });
  afterAll(async () => {
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  // One process (--workers 0): the lines counted below are one process's; delivery processes log their own the same way.
  it('logs a few JSON lines per connection, no stack traces, and SIGTERM ends the process while Redis is down', async () => {
    let output = '';
    const child = spawn(
      process.execPath,
      [CLI, '--config', configFile, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--redis', redis.url, '--prefix', 'outage:', '--sandbox', 'false', '--insecure-open-api', '--workers', '0', 'start'],
      // Real peers: a start needs its own data key, and /api is knowingly left open on loopback.
      { cwd: dir, env: { ...process.env, PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'info', CASEWAY_DATA_KEY: PayloadCipher.generateKey() }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    try {
      await eventually(async () => output.includes('Press Ctrl+C to stop.'), 20000, 'the hub to start');
      const lines = () =>
        output
          .split('\n')
          .filter((l) => l.startsWith('{'))
          .map((l) => JSON.parse(l) as LogLine);
      const stateLines = (state: string) => lines().filter((l) => l.redisState === state);

      // Outage 1: Redis comes back.
      const port = Number(new URL(redis.url).port);
      await redis.stop();
      await eventually(async () => stateLines('down').length >= 2, 20000, 'the connections to report down');
      const outage1 = await reconnectCounter(port);
      await eventually(async () => outage1.attempts() >= ATTEMPTS_PER_CONNECTION * stateLines('down').length, 30000, 'the hub to keep trying to reconnect');
      await outage1.close();
      redis = await startPrivateRedis(dir, [], port);
      await eventually(async () => new Set(stateLines('back').map((l) => l.redisConnection)).size === new Set(stateLines('down').map((l) => l.redisConnection)).size, 30000, 'every connection to report back').catch((e: Error) => {
        throw new Error(`${e.message}\n${output.slice(-3000)}`);
      });

      // Outage 2: SIGTERM while Redis is still down (once every connection that went down before has said so again).
      const connections = new Set(stateLines('down').map((l) => l.redisConnection)).size;
      await redis.stop();
      await eventually(async () => stateLines('down').length >= 2 * connections, 20000, 'the connections to report down again');
      const outage2 = await reconnectCounter(port);
      await eventually(async () => outage2.attempts() >= ATTEMPTS_PER_CONNECTION * (stateLines('down').length / 2), 30000, 'the hub to keep trying to reconnect');
      await outage2.close();
      child.kill('SIGTERM');
      const exit = await exited;
      expect(exit).toEqual({ code: 0, signal: null });
      expect(lines().some((l) => l.msg === 'hub stopped')).toBe(true);

      // Only JSON lines and the CLI's own one-line messages; never a stack trace.
      const other = output.split('\n').filter((l) => l && !l.startsWith('{') && !l.startsWith('caseway:') && !/^(Caseway is running|\s{2}\w|Press Ctrl)/.test(l));
      expect(other).toEqual([]);
      expect(output).not.toMatch(/\n\s+at /);
      expect(output).not.toMatch(/ECONNREFUSED.*\n.*Error/);
      // One line per connection per state change: down twice, back once (no "still down" within 30 s).
      const perConnection = new Map<string, string[]>();
      for (const l of lines().filter((x) => x.redisConnection)) perConnection.set(l.redisConnection!, [...(perConnection.get(l.redisConnection!) ?? []), l.redisState!]);
      expect(perConnection.size).toBeGreaterThanOrEqual(2);
      for (const [name, states] of perConnection) expect({ name, states }).toEqual({ name, states: ['down', 'back', 'down'] });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  }, 120000);
});
