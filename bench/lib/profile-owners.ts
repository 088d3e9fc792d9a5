/**
 * Where a process's CPU went, by the part of Caseway that asked for it: each sample of a V8 CPU profile (`node
 * --cpu-prof`, as bench/cost.ts takes with COST_CPU_PROF) is charged to the deepest frame of the project's own code
 * on its stack (a file under src/, adapters/ or bench/ of the build), so a library's work counts for the module that
 * called it (axios under the iCasework client, ioredis under the store that issued the command). A sample with no
 * project frame (a socket read, a timer of a library) is charged to the deepest npm package on its stack, else to the
 * Node module of its leaf; V8's own entries ((garbage collector), (program), (idle)) stay as they are.
 */

/** The part of a .cpuprofile this reads (Chrome DevTools Protocol `Profiler.Profile`). */
export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string }; children?: number[] }>;
  samples: number[];
  timeDeltas: number[];
}

export interface OwnerShare {
  owner: string;
  /** Sampled time charged to it, ms. */
  ms: number;
}

export interface ProfileOwners {
  /** Sampled time, ms: all of it, and the part the process was idle. */
  totalMs: number;
  idleMs: number;
  /** Charged time by owner, the largest first; idle left out. */
  owners: OwnerShare[];
}

const PROJECT = /\/dist\/((?:src|adapters|bench)\/.+?)\.js$/;
const PACKAGE = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//;

/** The owner one frame names, or undefined when it is neither project code nor an npm package. */
function frameOwner(url: string): { owner: string; project: boolean } | undefined {
  // A package first: a package's own build may also sit under dist/src/ (@bull-board/api's does).
  const pkg = PACKAGE.exec(url);
  if (pkg) return { owner: `npm:${pkg[1]}`, project: false };
  const own = PROJECT.exec(url);
  if (own) return { owner: own[1], project: true };
  return undefined;
}

/** The owner of one sample: see the module's comment. */
function sampleOwner(leaf: number, byId: Map<number, CpuProfile['nodes'][number]>, parent: Map<number, number>): string {
  let firstPackage: string | undefined;
  for (let id: number | undefined = leaf; id !== undefined; id = parent.get(id)) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) break;
    const owner = frameOwner(frame.url);
    if (owner?.project) return owner.owner;
    if (owner && firstPackage === undefined) firstPackage = owner.owner;
  }
  if (firstPackage !== undefined) return firstPackage;
  const frame = byId.get(leaf)?.callFrame;
  if (!frame) return '(unknown)';
  if (frame.url === '') return frame.functionName.startsWith('(') ? frame.functionName : `native ${frame.functionName}`;
  return frame.url.startsWith('node:') ? frame.url.replace(/^node:(internal\/)?/, 'node:') : frame.url;
}

export function profileOwners(profile: CpuProfile): ProfileOwners {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const owners = new Map<string, number>();
  let totalUs = 0;
  const ownerOf = new Map<number, string>();
  profile.samples.forEach((id, i) => {
    const us = profile.timeDeltas[i] ?? 0;
    totalUs += us;
    let owner = ownerOf.get(id);
    if (owner === undefined) {
      owner = sampleOwner(id, byId, parent);
      ownerOf.set(id, owner);
    }
    owners.set(owner, (owners.get(owner) ?? 0) + us);
  });
  const idleUs = owners.get('(idle)') ?? 0;
  owners.delete('(idle)');
  return {
    totalMs: totalUs / 1000,
    idleMs: idleUs / 1000,
    owners: [...owners].map(([owner, us]) => ({ owner, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
  };
}
