/**
 * What queueing one delivery job costs this process, CPU per job: BullMQ's `addBulk` with a single job against `add`,
 * one call at a time, rounds alternated (src/core/queues.ts, addJobs, takes `add` for a lone job). Also what building
 * an ioredis pipeline costs on a connection BullMQ has defined its scripts on, against one without scripts: `addBulk`
 * builds one per call, and ioredis copies every defined script into it.
 *   npm run build && bash scripts/node24.sh node dist/bench/queue-add.js
 *   QUEUE_ADD_JOBS=5000 QUEUE_ADD_ROUNDS=3
 * A private Redis (AOF everysec) is started and stopped; the queue is removed at the end.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { deliveryJobOptions, type DeliveryJobData } from '../src/core/queues';
import { machine, withPrivateRedis } from './lib/harness';

const JOBS = Number(process.env.QUEUE_ADD_JOBS ?? 5000);
const ROUNDS = Number(process.env.QUEUE_ADD_ROUNDS ?? 3);
const PIPELINES = 20000;

const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** Both measurements against the Redis at `url`; the rows to print. */
async function measure(url: string): Promise<Record<string, string>> {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const plain = new Redis(url);
  const queue = new Queue('deliver.bench', { connection, prefix: 'qa' });
  let n = 0;
  const job = (): { name: string; data: DeliveryJobData; opts: ReturnType<typeof deliveryJobOptions> } => {
    n += 1;
    return {
      name: 'createCase',
      data: { hubId: `h${n}`, payloadRef: `p${n}`, route: 'bench', target: 'icasework-createCase', eventKey: `e${n}`, day: '2026-12-02' },
      opts: deliveryJobOptions({}, `d-${n}`),
    };
  };
  const rows: Record<string, string> = {};
  try {
    await queue.waitUntilReady();
    await plain.ping();
    for (const [label, client] of [
      ['with BullMQ’s scripts', connection],
      ['without scripts', plain],
    ] as const) {
      const c0 = cpuUs();
      for (let i = 0; i < PIPELINES; i++) client.pipeline();
      rows[`ioredis pipeline built on a connection ${label}`] =
        `${((cpuUs() - c0) / PIPELINES).toFixed(1)} µs (${Object.keys(client.scriptsSet).length} scripts)`;
    }
    const kinds = {
      addBulk: async () => {
        await queue.addBulk([job()]);
      },
      add: async () => {
        const j = job();
        await queue.add(j.name, j.data, j.opts);
      },
    };
    for (const kind of Object.values(kinds)) for (let i = 0; i < 300; i++) await kind();
    const per: Record<string, string[]> = { addBulk: [], add: [] };
    for (let r = 0; r < ROUNDS; r++) {
      for (const [name, kind] of Object.entries(kinds)) {
        const c0 = cpuUs();
        for (let i = 0; i < JOBS; i++) await kind();
        per[name].push(((cpuUs() - c0) / JOBS).toFixed(0));
      }
    }
    rows['one job per call, CPU per job by round: addBulk'] = `${per.addBulk.join(' / ')} µs`;
    rows['one job per call, CPU per job by round: add'] = `${per.add.join(' / ')} µs`;
    await queue.obliterate({ force: true });
  } finally {
    await queue.close();
    connection.disconnect();
    plain.disconnect();
  }
  return rows;
}

async function main(): Promise<void> {
  const started = new Date();
  const where = machine();
  const rows = await withPrivateRedis('queue-add', (redis) => measure(redis.url));
  console.log(JSON.stringify({ date: started.toISOString(), machine: where, ...rows }, null, 1));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
