/**
 * The per-process counters bench/cost.ts divides by cases (bench/lib/harness.ts): wake-ups (voluntary context
 * switches) and time spent waiting for a CPU, each summed over a process's threads from /proc. Linux only, as the
 * bench is. Bounded from one side only (at least so many wake-ups), so a busy machine cannot fail the test.
 */
import { spawn } from 'node:child_process';
import { wakeUps, waitedForCpuMs } from '../../bench/lib/harness';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('per-process counters of the bench', () => {
  it('counts a wake-up for each sleep of a process, and reads another process by its pid', async () => {
    const before = wakeUps(process.pid);
    for (let i = 0; i < 10; i++) await sleep(5);
    // Each sleep blocked the event loop's thread in the kernel until its timer: one voluntary switch at least.
    expect(wakeUps(process.pid) - before).toBeGreaterThanOrEqual(10);

    // A process that does nothing but sleep 20 times, then waits to be read.
    const child = spawn('bash', ['-c', 'for i in $(seq 20); do sleep 0.01; done; read'], { stdio: ['pipe', 'ignore', 'ignore'] });
    try {
      const pid = child.pid!;
      // bash waits for each `sleep` child (a wake-up each) and then blocks on `read`.
      await waitUntil(() => wakeUps(pid) >= 20);
      expect(wakeUps(pid)).toBeGreaterThanOrEqual(20);
      expect(waitedForCpuMs(pid)).toBeGreaterThanOrEqual(0);
    } finally {
      child.stdin?.end();
      await new Promise<void>((resolve) => (child.exitCode !== null ? resolve() : child.once('exit', () => resolve())));
    }
  });

  it('gives 0 for a process that is gone or unknown, instead of throwing', async () => {
    const child = spawn('true');
    const pid = child.pid!;
    await new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Reaped: its /proc entry is gone.
    await waitUntil(() => wakeUps(pid) === 0);
    expect(wakeUps(pid)).toBe(0);
    expect(waitedForCpuMs(pid)).toBe(0);
    expect(wakeUps(undefined)).toBe(0);
    expect(waitedForCpuMs(undefined)).toBe(0);
  });
});

/** Polls a condition every 10 ms, for up to 30 s (a condition that never holds fails the test by its expectation). */
async function waitUntil(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 3000 && !condition(); i++) await sleep(10);
}
