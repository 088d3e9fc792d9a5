/**
 * Redis's side of a bench line: its CPU, key shapes (ids replaced) and the slow log (which commands took 10 ms or
 * more, and how long at worst). Only command names and key shapes are printed: never an argument's value.
 */
import type { Redis } from 'ioredis';

/**
 * A key's kind: of the parts after the prefix, words of lowercase letters stay, numbers become # and anything else
 * (hub ids, digests, a peer's own ids in cross-references) becomes *, so no id reaches a printed line. Keys of
 * other prefixes: ''.
 */
export function keyShape(key: string, prefix: string): string {
  const head = key.startsWith(prefix) ? prefix : key.startsWith('bull') ? '' : undefined;
  if (head === undefined) return '';
  const parts = key.slice(head.length).split(':').map((part) => (/^[a-z][a-z.-]*$/.test(part) ? part : /^\d+$/.test(part) ? '#' : '*'));
  return head.replace(/\d+/g, '#') + parts.join(':');
}

/** The CPU Redis has used so far, from its INFO (cpu section): used_cpu_user + used_cpu_sys (its scripts included), ms. */
export function redisCpuMs(info: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  return (field('used_cpu_user') + field('used_cpu_sys')) * 1000;
}

/** The slow log's threshold for a line, microseconds (10 ms: the latency monitor's threshold in the same lines). */
const SLOW_US = 10000;

/** Empties the slow log and makes it keep every command of `thresholdUs` or more (up to 1,024 of them) from now on. */
export async function resetSlowlog(r: Redis, thresholdUs = SLOW_US): Promise<void> {
  await r.config('SET', 'slowlog-log-slower-than', String(thresholdUs), 'slowlog-max-len', '1024');
  await r.call('SLOWLOG', 'RESET');
}

type SlowlogEntry = [number, number, number, Array<string | Buffer>, ...unknown[]];

/**
 * The slow log since resetSlowlog, summed by command and key shape (a script by its first key's shape, and by the
 * first 8 hex digits of its SHA for EVALSHA): "name ×count max N ms", worst first. Sets the threshold back to Redis's
 * default (10 ms).
 */
export async function slowlogSummary(r: Redis, prefix: string): Promise<string[]> {
  const entries = (await r.call('SLOWLOG', 'GET', '1024')) as SlowlogEntry[];
  await r.config('SET', 'slowlog-log-slower-than', String(SLOW_US));
  const by = new Map<string, { count: number; maxUs: number }>();
  for (const [, , us, args] of entries) {
    const words = args.map(String);
    const cmd = (words[0] ?? '?').toLowerCase();
    const script = cmd === 'evalsha' || cmd === 'eval';
    const name = script ? `${cmd}${cmd === 'evalsha' ? ` ${(words[1] ?? '').slice(0, 8)}` : ''} ${keyShape(words[3] ?? '', prefix)}` : `${cmd} ${keyShape(words[1] ?? '', prefix)}`;
    const t = by.get(name) ?? { count: 0, maxUs: 0 };
    t.count++;
    t.maxUs = Math.max(t.maxUs, us);
    by.set(name, t);
  }
  return [...by].sort((a, b) => b[1].maxUs - a[1].maxUs).map(([name, t]) => `${name.trim()} ×${t.count} max ${(t.maxUs / 1000).toFixed(0)} ms`);
}
