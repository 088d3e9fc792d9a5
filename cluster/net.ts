/**
 * The test bed's network: one namespace per host, each with a veth into a bridge that lives in a namespace of its
 * own, all on a benchmarking subnet (198.18.0.0/15, RFC 2544) that exists only inside these namespaces. Every name
 * starts with the run id, so teardown removes exactly what this run made.
 */
import { execFileSync, spawnSync } from 'node:child_process';

export const SUBNET = '198.18.77';

export interface HostSpec {
  name: string;
  address: string;
  /** The bridge-side end of the host's veth (inside the switch namespace), the one a "cable cut" takes down. */
  port: string;
}

export const HOSTS: Array<{ name: string; octet: number }> = [
  { name: 'ctl', octet: 2 },
  { name: 'redis1', octet: 11 },
  { name: 'redis2', octet: 12 },
  { name: 'sent1', octet: 21 },
  { name: 'sent2', octet: 22 },
  { name: 'sent3', octet: 23 },
  { name: 'api1', octet: 31 },
  { name: 'api2', octet: 32 },
  { name: 'wrk1', octet: 41 },
  { name: 'wrk2', octet: 42 },
  { name: 'wrk3', octet: 43 },
  { name: 'iizuka', octet: 51 },
  { name: 'icw', octet: 52 },
];

export function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export class Bed {
  readonly hosts = new Map<string, HostSpec>();
  constructor(readonly runId: string) {
    for (const h of HOSTS) this.hosts.set(h.name, { name: h.name, address: `${SUBNET}.${h.octet}`, port: `p${h.octet}` });
  }

  ns(host: string): string {
    return `${this.runId}-${host}`;
  }

  get switchNs(): string {
    return `${this.runId}-sw`;
  }

  host(name: string): HostSpec {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  create(): void {
    ip(['netns', 'add', this.switchNs]);
    ip(['-n', this.switchNs, 'link', 'set', 'lo', 'up']);
    ip(['-n', this.switchNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', this.switchNs, 'link', 'set', 'br0', 'up']);
    for (const h of this.hosts.values()) {
      const ns = this.ns(h.name);
      ip(['netns', 'add', ns]);
      ip(['-n', ns, 'link', 'set', 'lo', 'up']);
      ip(['-n', this.switchNs, 'link', 'add', h.port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
      ip(['-n', this.switchNs, 'link', 'set', h.port, 'master', 'br0']);
      ip(['-n', this.switchNs, 'link', 'set', h.port, 'up']);
      ip(['-n', ns, 'addr', 'add', `${h.address}/24`, 'dev', 'eth0']);
      ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    }
  }

  /** Takes the host's cable out (down) or puts it back (up). */
  link(host: string, state: 'up' | 'down'): void {
    ip(['-n', this.switchNs, 'link', 'set', this.host(host).port, state]);
  }

  /** This run's namespaces that exist now. */
  existing(): string[] {
    const out = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
    return out
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter((n) => n.startsWith(`${this.runId}-`));
  }

  /** Kills every process inside this run's namespaces, then deletes them. Safe to call twice. */
  teardown(): void {
    const names = this.existing();
    for (const signal of ['TERM', 'KILL']) {
      let any = false;
      for (const ns of names) {
        const pids = (spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout ?? '').split('\n').filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid);
        for (const pid of pids) {
          any = true;
          try {
            process.kill(Number(pid), `SIG${signal}` as NodeJS.Signals);
          } catch {
            // already gone
          }
        }
      }
      if (any && signal === 'TERM') spawnSync('sleep', ['2']);
    }
    for (const ns of names) spawnSync('ip', ['netns', 'del', ns]);
  }
}

/** Whether this machine can build the bed: root, iproute2, and namespaces that can be made. */
export function bedUnavailable(runId: string): string | undefined {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'not running as root';
  if (spawnSync('ip', ['-V']).status !== 0) return 'iproute2 (`ip`) is not installed';
  if (spawnSync('redis-server', ['--version']).status !== 0) return 'redis-server is not installed';
  const probe = `${runId}-probe`;
  const made = spawnSync('ip', ['netns', 'add', probe], { encoding: 'utf8' });
  if (made.status !== 0) return `network namespaces are not available (${(made.stderr ?? '').trim()})`;
  const bridge = spawnSync('ip', ['-n', probe, 'link', 'add', 'br0', 'type', 'bridge'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (bridge.status !== 0) return `bridges are not available (${(bridge.stderr ?? '').trim()})`;
  return undefined;
}

/** Whether the kernel has tc netem (many VM and container kernels lack sch_netem). */
/**
 * Whether `tc qdisc ... netem` works here: null when it does, else what tc said (e.g. "Error: Specified qdisc kind is
 * unknown." on a kernel built without CONFIG_NET_SCH_NETEM), for the run's output and report.
 */
export function netemUnavailable(runId: string): string | null {
  const probe = `${runId}-probe`;
  spawnSync('ip', ['netns', 'add', probe]);
  const tc = spawnSync('ip', ['netns', 'exec', probe, 'tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms'], { encoding: 'utf8' });
  spawnSync('ip', ['netns', 'del', probe]);
  if (tc.status === 0) return null;
  return `\`tc qdisc add dev lo root netem delay 1ms\` failed: ${(tc.stderr || tc.error?.message || `exit ${tc.status}`).trim()}`;
}
