/**
 * End-to-end throughput: cases ingested in batches (as a source or webhook would), routed, queued, delivered by
 * workers in the same process to an instant peer. Prints cases/s. `npm run bench` (needs Redis; uses its own key prefix).
 *   BENCH_CASES=20000 BENCH_BATCH=500 BENCH_CONCURRENCY=100 npm run bench
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { parseConfig } from '../src/core/config/load';
import { Hub } from '../src/core/hub';
import { silentLogger } from '../src/core/logger';
import { AdapterRegistry } from '../src/core/registry';
import { PayloadCipher } from '../src/core/store/payload-cipher';
import { sinkCounter } from './adapters/sink';

const CASES = Number(process.env.BENCH_CASES ?? 20000);
const BATCH = Number(process.env.BENCH_BATCH ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 100);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

const YAML = `
connections:
  feed: { adapter: sink }
  target: { adapter: sink, delivery: { concurrency: ${CONCURRENCY}, attempts: 3 } }
routes:
  - name: bench
    from: { connection: feed, source: none }
    to: [{ connection: target, action: accept }]
`;

async function main(): Promise<void> {
  // The sink has no source, so the bench registers one in code: intake is called directly, as a source would.
  const registry = AdapterRegistry.discover([path.resolve(__dirname, 'adapters')]);
  const sink = registry.get('sink')!;
  sink.sources.none = { kind: 'poll', description: 'bench feed', defaultIntervalMs: 3_600_000, poll: async () => undefined };
  const config = parseConfig(YAML, 'bench.yaml', registry, process.env);
  const prefix = `cwbench:${randomUUID().slice(0, 6)}:`;
  const hub = await new Hub({ config, registry, redisUrl: REDIS_URL, roles: { api: false, workers: true }, prefix, dataKey: PayloadCipher.generateKey(), log: silentLogger() }).start();
  const started = Date.now();
  let ingested = 0;
  const ingest = (async () => {
    for (let i = 0; i < CASES; i += BATCH) {
      const events = Array.from({ length: Math.min(BATCH, CASES - i) }, (_, j) => ({
        eventId: `e-${i + j}`,
        case: { type: 'complaint', source: { system: 'sink', id: `s-${i + j}` }, parties: [{ roles: ['customer'], person: { forenames: 'Bench', surname: `Person ${i + j}` } }] },
      }));
      await hub.intake.ingest('feed', 'none', events);
      ingested += events.length;
    }
  })();
  await ingest;
  const ingestSeconds = (Date.now() - started) / 1000;
  while (sinkCounter.delivered < CASES) await new Promise((r) => setTimeout(r, 20));
  const seconds = (Date.now() - started) / 1000;
  await hub.stop();
  const redis = new Redis(REDIS_URL);
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    if (keys.length) await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  redis.disconnect();
  process.stdout.write(
    `${CASES} cases (batches of ${BATCH}, concurrency ${CONCURRENCY}): intake ${(ingested / ingestSeconds).toFixed(0)} cases/s, end to end ${(CASES / seconds).toFixed(0)} cases/s (${seconds.toFixed(2)} s)\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${String(err)}\n`);
  process.exit(1);
});
