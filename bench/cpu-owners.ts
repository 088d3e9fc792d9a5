/**
 * Where each profiled process's CPU went, by the part of Caseway that asked for it (bench/lib/profile-owners.ts: a
 * sample is charged to the deepest project frame on its stack, a library's work to the module that called it).
 * Profiles come from bench/cost.ts:
 *   npm run build && COST_CPU_PROF=/tmp/prof COST_TARGETS=icasework COST_CASES=5000 bash scripts/node24.sh node dist/bench/cost.js
 *   bash scripts/node24.sh node dist/bench/cpu-owners.js /tmp/prof --cases 5300 [--top 25]
 * `--cases`: the applications the profiled process handled (cost.ts posts a 300-application warm-up before COST_CASES),
 * to print ms per case beside the shares; the profile spans the process's whole life, start-up included.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { profileOwners, type CpuProfile, type OwnerShare } from './lib/profile-owners';

function option(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
}

function profileFiles(args: string[]): string[] {
  return args.flatMap((arg) =>
    statSync(arg).isDirectory()
      ? readdirSync(arg)
          .filter((f) => f.endsWith('.cpuprofile'))
          .sort()
          .map((f) => path.join(arg, f))
      : [arg],
  );
}

/** The process's part in the bed, told by which of the two engines took more of its CPU. */
function role(owners: OwnerShare[]): string {
  const ms = (name: string): number => owners.find((o) => o.owner === name)?.ms ?? 0;
  const [delivery, intake] = [ms('src/core/engine/delivery'), ms('src/core/engine/intake')];
  if (delivery === 0 && intake === 0) return 'not a hub process';
  return delivery > intake ? 'delivery' : 'api (intake)';
}

function main(): void {
  const cases = Number(option('--cases') ?? 0);
  const top = Number(option('--top') ?? 25);
  const skip = new Set(['--cases', '--top']);
  const args = process.argv.slice(2).filter((a, i, all) => !skip.has(a) && !skip.has(all[i - 1] ?? ''));
  if (args.length === 0) throw new Error('usage: node dist/bench/cpu-owners.js <profile or folder of .cpuprofile>... [--cases N] [--top N]');
  for (const file of profileFiles(args)) {
    const p = profileOwners(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile);
    const busy = p.totalMs - p.idleMs;
    console.log(`\n${path.basename(file)}: ${role(p.owners)}; sampled ${(p.totalMs / 1000).toFixed(1)} s, busy ${(busy / 1000).toFixed(1)} s`);
    console.log(`| owner | share of busy | ${cases > 0 ? 'ms per case |' : ''}`);
    console.log(`|---|---|${cases > 0 ? '---|' : ''}`);
    for (const o of p.owners.slice(0, top)) {
      console.log(`| ${o.owner} | ${((100 * o.ms) / busy).toFixed(1)}% | ${cases > 0 ? `${(o.ms / cases).toFixed(3)} |` : ''}`);
    }
    const rest = p.owners.slice(top).reduce((a, o) => a + o.ms, 0);
    if (rest > 0) console.log(`| ${p.owners.length - top} others | ${((100 * rest) / busy).toFixed(1)}% | ${cases > 0 ? `${(rest / cases).toFixed(3)} |` : ''}`);
  }
}

main();
