/**
 * V8 flags every hub process runs with, in one place: the supervisor forks its worker processes with them, `npm
 * start` and the Dockerfile start the first process with them (a test checks that both name them), and the iSupport
 * line of `npm run bench` runs its reader with them, as a worker would.
 *
 * `--max-semi-space-size=16` (MiB): V8 grows its young generation whenever the bytes that survived its collections
 * since the last growth add up to the young generation's size, so any long-running process that keeps a little alive
 * at every collection ends at the maximum, which V8 sizes from the heap limit (three semi-spaces of up to 64 MiB on a
 * machine with a few GB of memory). A worker reading a 1,000,000-member iSupport export peaked at 200-292 MB that way;
 * with 16 MiB, at 164-167 MB, no slower, and the hub's CPU per delivered case showed no change beyond run-to-run
 * spread (docs/performance.md, Round 9). An operator's own value, on the command line or in NODE_OPTIONS, wins.
 */
export const HUB_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];

/** The flag's name, without its value (`--max-semi-space-size`); V8 also accepts underscores. */
function flagName(flag: string): string {
  return flag.split('=')[0].replace(/_/g, '-');
}

/**
 * The node arguments a hub child process starts with: the parent's own (process.execArgv), then each of
 * HUB_NODE_FLAGS that neither they nor NODE_OPTIONS already set.
 */
export function withHubNodeFlags(execArgv: readonly string[], nodeOptions = process.env.NODE_OPTIONS ?? ''): string[] {
  const given = new Set([...execArgv, ...nodeOptions.split(/\s+/).filter(Boolean)].map(flagName));
  return [...execArgv, ...HUB_NODE_FLAGS.filter((f) => !given.has(flagName(f)))];
}
