/**
 * A SIGTERM sent the moment `caseway start` prints "Caseway is running" stops the hub gracefully: the banner is
 * printed only once the signal listeners are in place. A probe preloaded into the process sends the signal from
 * inside the banner's own write, so the race CI met (a hub killed outright, exit code null) is met on every run.
 */
import path from 'node:path';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/core/redis';
import { cliSetup, spawnCaseway } from '../helpers/cli';
import { quietRedis, REDIS_URL } from '../helpers/redis';

const YAML = `
hub: { shutdownTimeoutMs: 15000 }
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;
const PROBE = path.resolve(__dirname, '../fixtures/preload/sigterm-at-banner.cjs');

describe('SIGTERM at the banner', () => {
  const cli = cliSetup(YAML);
  const redis = quietRedis(new Redis(REDIS_URL));
  const tag = `cwtest-banner-${Math.random().toString(36).slice(2, 8)}`;

  afterAll(async () => {
    await deleteKeysWithPrefix(redis, `${tag}-`);
    redis.disconnect();
    cli.cleanup();
  });

  it.each([
    ['one process', '0'],
    ['the api with a delivery process', '1'],
  ])('stops %s gracefully and exits 0', async (_what, workers) => {
    const p = spawnCaseway(cli, `${tag}-${workers}:`, ['--insecure-open-api', '--log-level', 'warn', '--workers', workers, 'start'], ['--require', PROBE]);
    const code = await p.exited;
    const shown = `--- hub output ---\n${p.output()}`;
    expect([code, p.child.signalCode, shown]).toEqual([0, null, shown]);
    expect(p.output()).toContain('Caseway is running');
    expect(p.output()).toMatch(/SIGTERM received; finishing in-flight work/);
  });
});
