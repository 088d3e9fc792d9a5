/**
 * A client-side request limiter: at most `limit` acquisitions in any sliding window of `windowMs` (which also keeps
 * within 121's fixed-window ThrottlerGuard), FIFO, plus a pause that a 429 reply sets for everyone (the peer throttles
 * per client IP, so one 429 means every call of this connection should wait).
 */
import { RetryableError } from 'caseway/core';

export class SlidingWindowLimiter {
  private readonly stamps: number[] = [];
  private pausedUntil = 0;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;
  private readonly sleepers = new Set<{ timer: NodeJS.Timeout; wake: () => void }>();

  constructor(
    private readonly limit: number,
    private readonly windowMs = 60_000,
  ) {}

  /** Resolves when one more call may go out. */
  acquire(): Promise<void> {
    const turn = this.chain.then(() => this.waitForSlot());
    // The next caller waits for this one's slot, whatever happens to it.
    this.chain = turn.catch(() => undefined);
    return turn;
  }

  private nap(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.sleepers.delete(sleeper);
          resolve();
        }, Math.max(0, ms)),
        wake: resolve,
      };
      this.sleepers.add(sleeper);
    });
  }

  private async waitForSlot(): Promise<void> {
    for (;;) {
      if (this.closed) throw new RetryableError('platform121: connection closed', { peer: 'platform121' });
      const now = Date.now();
      if (this.pausedUntil > now) {
        await this.nap(this.pausedUntil - now);
        continue;
      }
      while (this.stamps.length && this.stamps[0] <= now - this.windowMs) this.stamps.shift();
      if (this.stamps.length < this.limit) {
        this.stamps.push(now);
        return;
      }
      await this.nap(this.stamps[0] + this.windowMs - now + 1);
    }
  }

  /** Fails every waiting caller (the connection is being closed). */
  close(): void {
    this.closed = true;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.wake();
    }
    this.sleepers.clear();
  }

  /** Holds every caller until `ms` from now (e.g. a 429's Retry-After). */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms);
  }

  /** Calls in the current window (for tests and metrics). */
  inWindow(): number {
    const now = Date.now();
    return this.stamps.filter((t) => t > now - this.windowMs).length;
  }
}
