/**
 * `caseway start` on a machine with more than one core: the api role runs in the process the user started and
 * delivery in N child processes, each the same CLI running `caseway worker` (one implementation of the worker role).
 *
 * Why node:child_process `fork` and not node:cluster: cluster exists to share a listening port between workers; here
 * the children listen on nothing (the api process owns the port, and cluster would silently route a child's own
 * `listen` through the primary), so cluster would add its port-sharing machinery and its own exit-on-disconnect rule
 * (an immediate `process.exit`, no graceful stop) for no gain. `fork` gives a plain `caseway worker` with an IPC
 * channel, which carries "ready", metrics requests and, by closing, the parent's death.
 *
 * Supervision, as a process manager does it: a child that exits while the supervisor is not stopping is logged (exit
 * code and signal only) and restarted after a back-off (0.5 s doubling to 30 s, reset once a child has stayed up 30 s);
 * `stop()` sends SIGTERM to every child, waits for them to finish their in-flight deliveries, and kills (SIGKILL) any
 * still running past the deadline, whose jobs BullMQ's stalled-job check then hands to another worker (nothing lost).
 * A child whose IPC channel closes (the parent was killed outright) stops itself gracefully: see run-hub.ts.
 */
import { fork, type ChildProcess } from 'node:child_process';
import type { Logger } from '../core/logger';
import { withHubNodeFlags } from './node-flags';

/** Set in a child's environment by the supervisor: `caseway worker` then talks to its parent over IPC. */
export const SUPERVISED_ENV = 'CASEWAY_SUPERVISED';

/** Parent → child. */
export interface MetricsRequest {
  type: 'caseway:metrics';
  id: number;
}

/** Child → parent. */
export type ChildMessage = { type: 'caseway:ready' } | { type: 'caseway:metrics'; id: number; metrics: object[] };

export function isChildMessage(m: unknown): m is ChildMessage {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string' && (m as { type: string }).type.startsWith('caseway:');
}

export function isMetricsRequest(m: unknown): m is MetricsRequest {
  return typeof m === 'object' && m !== null && (m as { type?: unknown }).type === 'caseway:metrics' && typeof (m as { id?: unknown }).id === 'number';
}

export interface WorkerStatus {
  slot: number;
  pid?: number;
  state: 'starting' | 'ready' | 'restarting' | 'stopping' | 'stopped';
  restarts: number;
}

export interface SupervisorOptions {
  count: number;
  /** The CLI's entry module and the arguments that make it `caseway worker` with this hub's settings. */
  modulePath: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  log: Logger;
  /** How long stop() waits for a child to finish its in-flight work before killing it. */
  stopTimeoutMs: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A child up this long has proved itself: its next crash restarts it after the shortest back-off again. */
  stableMs?: number;
  /** Called once per restart (the restart counter in /metrics). */
  onRestart?: () => void;
}

interface Slot {
  index: number;
  child?: ChildProcess;
  state: WorkerStatus['state'];
  restarts: number;
  failures: number;
  startedAt: number;
  timer?: NodeJS.Timeout;
  exited?: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Settles the first start: ready, or exited before it was. */
  firstStart?: () => void;
}

export class WorkerSupervisor {
  private readonly slots: Slot[];
  private stopping = false;
  private nextRequest = 1;
  private readonly pending = new Map<number, (metrics: object[]) => void>();

  constructor(private readonly options: SupervisorOptions) {
    this.slots = Array.from({ length: options.count }, (_, index) => ({ index, state: 'starting', restarts: 0, failures: 0, startedAt: 0 }));
  }

  /** Forks every child (their pids are known on return); resolves once each is ready or has exited once, or after `waitMs`. */
  async start(waitMs = 60_000): Promise<void> {
    const first = this.slots.map((slot) => new Promise<void>((resolve) => (slot.firstStart = resolve)));
    for (const slot of this.slots) this.spawn(slot);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(first), new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))]);
    clearTimeout(timer);
  }

  status(): WorkerStatus[] {
    return this.slots.map((s) => ({ slot: s.index, pid: s.child?.pid, state: s.state, restarts: s.restarts }));
  }

  private spawn(slot: Slot): void {
    const { modulePath, args, env, log } = this.options;
    slot.state = 'starting';
    slot.startedAt = Date.now();
    // stdin is the terminal's: never the children's. Their log lines go where the parent's go.
    // The hub's V8 flags (node-flags.ts) unless the operator set their own.
    const execArgv = withHubNodeFlags(process.execArgv, env.NODE_OPTIONS ?? '');
    const child = fork(modulePath, args, { execArgv, env: { ...env, [SUPERVISED_ENV]: '1' }, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    slot.child = child;
    slot.exited = new Promise((resolve) => {
      let done = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (done) return;
        done = true;
        resolve({ code, signal });
        this.exited(slot, child, code, signal);
      };
      child.once('exit', finish);
      // A fork that could not start at all (EAGAIN, ENOMEM) emits only 'error'.
      child.once('error', (err) => {
        log.error({ worker: slot.index, error: err.message }, 'worker process could not be started');
        if (child.pid === undefined) finish(null, null);
      });
    });
    child.on('message', (m: unknown) => {
      if (!isChildMessage(m)) return;
      if (m.type === 'caseway:ready') {
        if (slot.child === child && slot.state === 'starting') slot.state = 'ready';
        log.info({ worker: slot.index, workerPid: child.pid, restarts: slot.restarts }, 'worker process ready');
        slot.firstStart?.();
        slot.firstStart = undefined;
      } else if (m.type === 'caseway:metrics') {
        this.pending.get(m.id)?.(m.metrics);
      }
    });
  }

  private exited(slot: Slot, child: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (slot.child !== child) return;
    slot.child = undefined;
    slot.firstStart?.();
    slot.firstStart = undefined;
    if (this.stopping) {
      slot.state = 'stopped';
      return;
    }
    const { minBackoffMs = 500, maxBackoffMs = 30_000, stableMs = 30_000 } = this.options;
    if (Date.now() - slot.startedAt >= stableMs) slot.failures = 0;
    const delayMs = Math.min(maxBackoffMs, minBackoffMs * 2 ** slot.failures);
    slot.failures += 1;
    slot.restarts += 1;
    slot.state = 'restarting';
    // Exit code and signal only: a child's own log lines say why, without personal data.
    this.options.log.warn({ worker: slot.index, workerPid: child.pid, code, signal, restarts: slot.restarts, restartInMs: delayMs }, 'worker process exited unexpectedly; restarting it');
    this.options.onRestart?.();
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (!this.stopping) this.spawn(slot);
    }, delayMs);
  }

  /**
   * Asks every child for its metrics (prom-client's getMetricsAsJSON), one array per child; a child that does not
   * answer within `timeoutMs` (starting, stopping, busy past it) is left out of this scrape.
   */
  async metrics(timeoutMs = 2000): Promise<object[][]> {
    const asks = this.slots.flatMap((slot) => {
      const child = slot.child;
      if (!child?.connected) return [];
      const id = this.nextRequest++;
      return [
        new Promise<object[] | undefined>((resolve) => {
          const timer = setTimeout(() => {
            this.pending.delete(id);
            resolve(undefined);
          }, timeoutMs);
          this.pending.set(id, (metrics) => {
            clearTimeout(timer);
            this.pending.delete(id);
            resolve(metrics);
          });
          const request: MetricsRequest = { type: 'caseway:metrics', id };
          child.send(request, (err) => {
            if (err) this.pending.get(id)?.([]);
          });
        }),
      ];
    });
    return (await Promise.all(asks)).filter((m): m is object[] => m !== undefined && m.length > 0);
  }

  /**
   * SIGTERM to every child, then waits for them: each finishes its in-flight deliveries and exits. One still running
   * after `stopTimeoutMs` is killed; its active jobs are taken over by BullMQ's stalled-job check. `clean` says
   * whether every child exited 0 on its own.
   */
  async stop(): Promise<{ clean: boolean }> {
    this.stopping = true;
    let clean = true;
    await Promise.all(
      this.slots.map(async (slot) => {
        clearTimeout(slot.timer);
        const child = slot.child;
        if (!child || !slot.exited) {
          slot.state = 'stopped';
          return;
        }
        slot.state = 'stopping';
        child.kill('SIGTERM');
        let timer: NodeJS.Timeout | undefined;
        const killed = new Promise<'killed'>((resolve) => {
          timer = setTimeout(() => resolve('killed'), this.options.stopTimeoutMs);
        });
        const outcome = await Promise.race([slot.exited, killed]);
        clearTimeout(timer);
        if (outcome === 'killed') {
          this.options.log.warn({ worker: slot.index, workerPid: child.pid, stopTimeoutMs: this.options.stopTimeoutMs }, 'worker process did not stop in time; killing it (its jobs go back to the queue)');
          child.kill('SIGKILL');
          await slot.exited;
          clean = false;
        } else if (outcome.signal === 'SIGTERM') {
          // Killed by this SIGTERM before its own handlers were in place, i.e. before it had started a worker.
          this.options.log.debug({ worker: slot.index, workerPid: child.pid }, 'worker process stopped before it had started');
        } else if (outcome.code !== 0) {
          this.options.log.warn({ worker: slot.index, workerPid: child.pid, code: outcome.code, signal: outcome.signal }, 'worker process stopped with an error');
          clean = false;
        }
      }),
    );
    return { clean };
  }
}

/** The default number of delivery processes for `caseway start`: one per core beyond the first (none on one core). */
export function defaultWorkerProcesses(cores: number): number {
  return cores > 1 ? cores - 1 : 0;
}
