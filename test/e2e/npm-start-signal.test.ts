/**
 * `npm start` under a process manager: a SIGTERM sent to npm must reach the hub. npm forwards it to the script's
 * process only, so the script execs the hub (before, npm's child was a `sh -c` that died and left the hub running,
 * orphaned, with its port and sandbox state; seen 2026-12-01).
 */
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../../src/cli/private-redis';
import { SANDBOX_PREFIX } from '../../src/cli/run-hub';
import { processAlive } from '../helpers/cli';
import { deleteKeys, eventually } from '../helpers/hub';
import { REDIS_URL } from '../helpers/redis';

const ROOT = path.resolve(__dirname, '../..');


describe('npm start and signals', () => {
  it('a SIGTERM to `npm start` stops the hub cleanly, leaving no process behind', async () => {
    const port = await freePort();
    const instance = `npmsignal${port}`;
    let output = '';
    const npm = spawn('npm', ['start'], { cwd: ROOT, env: { ...process.env, PORT: String(port), CASEWAY_INSTANCE: instance, REDIS_URL }, stdio: ['ignore', 'pipe', 'pipe'] });
    npm.stdout.on('data', (d: Buffer) => (output += d.toString()));
    npm.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const npmExited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
    let hubPid = 0;
    try {
      await eventually(async () => /API\s+http:\/\/127\.0\.0\.1:\d+/.test(output), 120000, 'the hub banner');
      hubPid = Number(/"pid":(\d+),[^\n]*"role":"start"/.exec(output)?.[1]);
      expect(hubPid).toBeGreaterThan(0);
      expect(hubPid).not.toBe(npm.pid);
      npm.kill('SIGTERM');
      await eventually(async () => !processAlive(hubPid), 60000, 'the hub to exit').catch((err: Error) => {
        throw new Error(`${err.message}\n--- output after the banner ---\n${output.slice(output.indexOf('Press Ctrl+C')).slice(-6000)}`);
      });
      await npmExited;
      expect(output).toMatch(/"msg":"hub stopped"/);
    } finally {
      if (hubPid && processAlive(hubPid)) process.kill(hubPid, 'SIGKILL');
      if (npm.exitCode === null && npm.signalCode === null) npm.kill('SIGKILL');
      const redis = new Redis(REDIS_URL);
      await deleteKeys(redis, `${SANDBOX_PREFIX}${instance}:`);
      redis.disconnect();
      rmSync(path.join(ROOT, '.caseway', 'instances', instance), { recursive: true, force: true });
    }
  }, 180000);
});
