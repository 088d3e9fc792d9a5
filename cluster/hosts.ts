/**
 * Processes on the bed's hosts: each one started with `ip netns exec <host>`, its output in a log file, stopped by
 * its own pid. Redis (primary, replica), Sentinels, the peers, and the hub's api and worker roles.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Bed } from './net';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MASTER_NAME = 'cwmaster';
export const SENTINELS = ['sent1', 'sent2', 'sent3'];
export const HUB_PORT = 8080;

export interface Running {
  key: string;
  host: string;
  child: ChildProcess;
  log: string;
  /** Where this process's output starts in its log (a host's log collects every run of the same key). */
  logFrom: number;
  exited: Promise<number | null>;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

export class Hosts {
  private readonly running = new Map<string, Running>();
  private readonly lastLogFrom = new Map<string, number>();
  readonly logs: string;

  constructor(readonly bed: Bed, readonly tmp: string) {
    this.logs = path.join(tmp, 'logs');
    mkdirSync(this.logs, { recursive: true });
  }

  addr(host: string): string {
    return this.bed.host(host).address;
  }

  start(host: string, key: string, command: string, args: string[], env: NodeJS.ProcessEnv = {}): Running {
    if (this.running.has(key)) throw new Error(`${key} is already running`);
    const log = path.join(this.logs, `${key}.log`);
    const logFrom = existsSync(log) ? statSync(log).size : 0;
    const fd = openSync(log, 'a');
    const child = spawn('ip', ['netns', 'exec', this.bed.ns(host), command, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
      stdio: ['ignore', fd, fd],
    });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const r: Running = { key, host, child, log, logFrom, exited };
    this.running.set(key, r);
    this.lastLogFrom.set(key, logFrom);
    void exited.then(() => {
      if (this.running.get(key) === r) this.running.delete(key);
    });
    return r;
  }

  get(key: string): Running | undefined {
    return this.running.get(key);
  }

  /** SIGTERM, then SIGKILL after the grace period. */
  async stop(key: string, graceMs = 35000): Promise<void> {
    const r = this.running.get(key);
    if (!r) return;
    r.child.kill('SIGTERM');
    const done = await Promise.race([r.exited.then(() => true), sleep(graceMs).then(() => false)]);
    if (!done) {
      r.child.kill('SIGKILL');
      await r.exited;
    }
    this.running.delete(key);
  }

  async kill(key: string): Promise<void> {
    const r = this.running.get(key);
    if (!r) return;
    r.child.kill('SIGKILL');
    await r.exited;
    this.running.delete(key);
  }

  async stopAll(prefixes: string[], graceMs = 35000): Promise<void> {
    await Promise.all([...this.running.keys()].filter((k) => prefixes.some((p) => k.startsWith(p))).map((k) => this.stop(k, graceMs)));
  }

  async killEverything(): Promise<void> {
    await Promise.all([...this.running.keys()].map((k) => this.kill(k)));
  }

  /** The output of the process running (or last run) under this key. */
  logText(key: string): string {
    try {
      return readFileSync(path.join(this.logs, `${key}.log`)).subarray(this.lastLogFrom.get(key) ?? 0).toString('utf8');
    } catch {
      return '';
    }
  }

  // ------------------------------------------------------------------ Redis and Sentinel

  redisCli(host: string, port: number, args: string[]): string {
    return execFileSync('redis-cli', ['-h', this.addr(host), '-p', String(port), '--no-raw', ...args], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] }).trim();
  }

  async startRedis(host: string, replicaOf?: string): Promise<void> {
    const dir = path.join(this.tmp, host);
    mkdirSync(dir, { recursive: true });
    const addr = this.addr(host);
    this.start(host, host, 'redis-server', [
      '--bind', addr, '--port', '6379', '--protected-mode', 'no', '--save', '', '--appendonly', 'yes', '--appendfsync', 'everysec',
      '--dir', dir, '--maxmemory-policy', 'noeviction', '--replica-announce-ip', addr,
      ...(replicaOf ? ['--replicaof', replicaOf, '6379'] : []),
    ]);
    await until(`redis on ${host}`, 20000, () => (this.redisCli(host, 6379, ['PING']).includes('PONG') ? true : undefined));
  }

  async startSentinels(primary: string): Promise<void> {
    for (const host of SENTINELS) {
      const dir = path.join(this.tmp, host);
      mkdirSync(dir, { recursive: true });
      const file = path.join(dir, 'sentinel.conf');
      writeFileSync(
        file,
        [
          'port 26379',
          `bind ${this.addr(host)}`,
          'protected-mode no',
          `dir ${dir}`,
          `sentinel announce-ip ${this.addr(host)}`,
          `sentinel monitor ${MASTER_NAME} ${this.addr(primary)} 6379 2`,
          `sentinel down-after-milliseconds ${MASTER_NAME} 3000`,
          `sentinel failover-timeout ${MASTER_NAME} 20000`,
          `sentinel parallel-syncs ${MASTER_NAME} 1`,
          '',
        ].join('\n'),
      );
      this.start(host, host, 'redis-server', [file, '--sentinel']);
    }
    for (const host of SENTINELS) {
      await until(`sentinel on ${host}`, 20000, () => (this.redisCli(host, 26379, ['PING']).includes('PONG') ? true : undefined));
    }
    // Every sentinel must know the replica and the other sentinels before a failover can be voted.
    await until('sentinels to see the replica and each other', 60000, () => {
      for (const host of SENTINELS) {
        const info = this.redisCli(host, 26379, ['SENTINEL', 'MASTER', MASTER_NAME]);
        const lines = info.split('\n').map((l) => l.replace(/^\d+\)\s*/, '').replace(/"/g, '').trim());
        const field = (name: string) => lines[lines.indexOf(name) + 1];
        if (Number(field('num-slaves')) < 1 || Number(field('num-other-sentinels')) < 2) return undefined;
      }
      return true;
    }, 500);
  }

  /** The master as the first sentinel that answers sees it: host name on the bed. */
  currentMaster(): string | undefined {
    for (const s of SENTINELS) {
      try {
        const out = this.redisCli(s, 26379, ['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', MASTER_NAME]);
        const address = out.split('\n')[0]?.replace(/^\d+\)\s*/, '').replace(/"/g, '').trim();
        for (const h of this.bed.hosts.values()) if (h.address === address) return h.name;
      } catch {
        // try the next sentinel
      }
    }
    return undefined;
  }

  sentinelUrl(): string {
    return `redis+sentinel://${SENTINELS.map((s) => `${this.addr(s)}:26379`).join(',')}/${MASTER_NAME}`;
  }

  // ------------------------------------------------------------------ netem (when the kernel has it)

  netem(host: string, delayMs: number): void {
    const ns = this.bed.ns(host);
    spawnSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'del', 'dev', 'eth0', 'root']);
    if (delayMs > 0) execFileSync('ip', ['netns', 'exec', ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'netem', 'delay', `${delayMs}ms`]);
  }
}
