/**
 * What this machine charges a process for being woken, before it does any work: CPU per wake-up of a Node process
 * that sleeps between two turns (a bare thread sleep, and a timer on the event loop), and per Redis round trip made
 * back to back against one every 5 ms. On a machine where these are large, a case costs more CPU at a low, steady
 * rate than as fast as answered, because each case then wakes the hub and Redis many times alone (bench/cost.ts
 * prints wake-ups per case; docs/performance.md, Round 17; docs/deploy.md, "CPU").
 *   npm run bench:wake
 *   WAKE_SECONDS=3   (how long each gap is measured)
 * The figures are CPU of this process (user + system) and of its private Redis (INFO cpu), divided by wake-ups. On the
 * 2-vCPU virtual machine of 2026-12-02 they were tens to hundreds of microseconds.
 */
import { Redis } from 'ioredis';
import { redisCpuMs } from './lib/redis-shapes';
import { machine, withPrivateRedis } from './lib/harness';

const SECONDS = Number(process.env.WAKE_SECONDS ?? 3);
const GAPS_MS = [1, 5, 20];

/** CPU of this process (user + system), µs. */
const cpuUs = (): number => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

/** A thread sleep (Atomics.wait: no event loop, no timer list): the wake-up itself and little else. */
function threadSleep(gapMs: number, n: number): number {
  const cell = new Int32Array(new SharedArrayBuffer(4));
  const c0 = cpuUs();
  for (let i = 0; i < n; i++) Atomics.wait(cell, 0, 0, gapMs);
  return (cpuUs() - c0) / n;
}

/** A timer on the event loop: what a Node server pays to come back from idle for one event. */
async function timerSleep(gapMs: number, n: number): Promise<number> {
  const c0 = cpuUs();
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setTimeout(resolve, gapMs));
  return (cpuUs() - c0) / n;
}

/** One GET at a time: back to back (gap 0) or one every `gapMs`. CPU per round trip of this process and of Redis. */
async function roundTrips(client: Redis, admin: Redis, gapMs: number, n: number): Promise<{ client: number; redis: number }> {
  for (let i = 0; i < 200; i++) await client.get('wake-cost');
  const redis0 = redisCpuMs(await admin.info('cpu'));
  const c0 = cpuUs();
  let due = Date.now();
  for (let i = 0; i < n; i++) {
    if (gapMs > 0) {
      due += gapMs;
      const wait = due - Date.now();
      if (wait > 0) await new Promise<void>((resolve) => setTimeout(resolve, wait));
    }
    await client.get('wake-cost');
  }
  const clientUs = (cpuUs() - c0) / n;
  const redisUs = ((redisCpuMs(await admin.info('cpu')) - redis0) * 1000) / n;
  return { client: clientUs, redis: redisUs };
}

const us = (x: number): string => `${x.toFixed(0)} µs`;

async function main(): Promise<void> {
  const started = new Date();
  const where = machine();
  const rows: Record<string, string> = {};
  for (const gap of GAPS_MS) {
    const n = Math.max(50, Math.round((SECONDS * 1000) / gap));
    rows[`thread sleep ${gap} ms, CPU per wake-up`] = us(threadSleep(gap, n));
    rows[`event-loop timer ${gap} ms, CPU per wake-up`] = us(await timerSleep(gap, n));
  }
  await withPrivateRedis('wake', async (redis) => {
    const client = new Redis(redis.url);
    const admin = new Redis(redis.url);
    try {
      await client.set('wake-cost', 'x'.repeat(200));
      const backToBack = await roundTrips(client, admin, 0, SECONDS * 2000);
      rows['Redis GET back to back, CPU per round trip: this process / Redis'] = `${us(backToBack.client)} / ${us(backToBack.redis)}`;
      const paced = await roundTrips(client, admin, 5, Math.round((SECONDS * 1000) / 5));
      rows['Redis GET one every 5 ms, CPU per round trip: this process / Redis'] = `${us(paced.client)} / ${us(paced.redis)}`;
    } finally {
      client.disconnect();
      admin.disconnect();
    }
  });
  console.log(JSON.stringify({ date: started.toISOString(), machine: where, ...rows }, null, 1));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
