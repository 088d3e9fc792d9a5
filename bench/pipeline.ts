/**
 * End-to-end throughput: cases ingested in batches (as a source or webhook would), routed, queued and delivered to
 * an instant peer; counts come from the hub's own per-route stats in Redis. Prints cases/s.
 *   npm run bench                               one process does intake and delivery
 *   BENCH_WORKERS=1 npm run bench               intake here, delivery in N separate `caseway worker` processes
 *   BENCH_CASES=20000 BENCH_BATCH=500 BENCH_CONCURRENCY=100 npm run bench
 * Needs Redis (REDIS_URL); uses its own key prefix and removes it afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/core/config/load';
import { Hub } from '../src/core/hub';
import { deleteKeysWithPrefix } from '../src/core/redis';
import { silentLogger } from '../src/core/logger';
import { AdapterRegistry } from '../src/core/registry';
import { PayloadCipher } from '../src/core/store/payload-cipher';
import { dayOf } from '../src/core/store/stats-store';

const CASES = Number(process.env.BENCH_CASES ?? 20000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 0);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADAPTERS = path.resolve(__dirname, 'adapters');

const YAML = `
connections:
  feed: { adapter: sink }
  target: { adapter: sink, delivery: { concurrency: ${CONCURRENCY}, attempts: 3 } }
routes:
  - name: bench
    from: { connection: feed, source: feed }
    to: [{ connection: target, action: accept }]
`;

function startWorkers(configFile: string, prefix: string, dataKey: string): ChildProcess[] {
  const cli = path.resolve(__dirname, '../src/cli/main.js');
  return Array.from({ length: WORKERS }, () =>
    spawn(process.execPath, [cli, '--config', configFile, '--adapter-dir', ADAPTERS, '--prefix', prefix, '--redis', REDIS_URL, '--log-level', 'error', 'worker'], {
      env: { ...process.env, CASEWAY_DATA_KEY: dataKey, PORT: '0', HOST: '127.0.0.1' },
      stdio: 'ignore',
    }),
  );
}

async function main(): Promise<void> {
  const registry = AdapterRegistry.discover([ADAPTERS]);
  const config = parseConfig(YAML, 'bench.yaml', registry, process.env);
  const prefix = `cwbench:${randomUUID().slice(0, 6)}:`;
  const dataKey = PayloadCipher.generateKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-bench-'));
  const configFile = path.join(dir, 'bench.yaml');
  writeFileSync(configFile, YAML);
  const workers = startWorkers(configFile, prefix, dataKey);
  const hub = await new Hub({ config, registry, redisUrl: REDIS_URL, roles: { api: false, workers: WORKERS === 0 }, prefix, dataKey, log: silentLogger() }).start();
  const redis = new Redis(REDIS_URL);
  const statsKey = `${prefix}stats:${dayOf(new Date())}:bench`;
  try {
    if (WORKERS) await new Promise((r) => setTimeout(r, 1500)); // let the worker processes connect
    const started = Date.now();
    for (let i = 0; i < CASES; i += BATCH) {
      const events = Array.from({ length: Math.min(BATCH, CASES - i) }, (_, j) => ({
        eventId: `e-${i + j}`,
        case: { type: 'complaint', source: { system: 'sink', id: `s-${i + j}` }, parties: [{ roles: ['customer'], person: { forenames: 'Bench', surname: `Person ${i + j}` } }] },
      }));
      await hub.intake.ingest('feed', 'feed', events);
    }
    const ingestSeconds = (Date.now() - started) / 1000;
    while (Number((await redis.hget(statsKey, 'delivered')) ?? 0) < CASES) await new Promise((r) => setTimeout(r, 20));
    const seconds = (Date.now() - started) / 1000;
    process.stdout.write(
      `${CASES} cases (batches of ${BATCH}, concurrency ${CONCURRENCY}, ${WORKERS ? `${WORKERS} worker process(es)` : 'delivery in-process'}): ` +
        `intake ${(CASES / ingestSeconds).toFixed(0)} cases/s, end to end ${(CASES / seconds).toFixed(0)} cases/s (${seconds.toFixed(2)} s)\n`,
    );
  } finally {
    await hub.stop();
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : w.once('exit', r)))));
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
