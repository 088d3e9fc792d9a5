/**
 * The fault scenarios and the one way each is run: fresh Redis (AOF), fresh peers behind the fault proxy, fresh hub
 * processes; post, inject, drain, count at the peers. Used by `npm run faults` (1,000 applications) and by the
 * small deterministic tests in test/faults/ (~100).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { Redis } from 'ioredis';
import {
  drain,
  exited,
  freePort,
  hubConfig,
  newHubEnv,
  postApplications,
  queueProbe,
  ROOT,
  CLI,
  startHub,
  startPeer,
  startRedis,
  stopChild,
  tally,
  waitFor,
  type HubEnv,
  type HubProcess,
  type Peer,
  type PeerTally,
  type PrivateRedis,
} from '../lib/harness';

export interface SuiteOptions {
  cases: number;
  parallel: number;
  downMs: number;
  drainMs: number;
}

export interface ScenarioContext {
  options: SuiteOptions;
  redis: PrivateRedis;
  icasework: Peer;
  iizuka: Peer;
  /** The webhook sandbox receiver (adapters/webhook/sandbox), route etd-to-webhook. */
  webhook: Peer;
  env: HubEnv;
  apiPort: number;
  api?: HubProcess;
  workers: HubProcess[];
  /** Every hub process started in the scenario, killed ones included (their output is scanned). */
  all: HubProcess[];
  /** Resolves once at least this share (0..1) of the applications has been acknowledged. */
  acked(share: number): Promise<void>;
  startApi(): Promise<HubProcess>;
  startWorker(): Promise<HubProcess>;
  notes: string[];
}

export interface Scenario {
  key: string;
  name: string;
  /** 'split': `caseway api` + 2 `caseway worker`; 'start': one `caseway start`. */
  topology: 'split' | 'start';
  prefix?: string;
  prepare?(ctx: ScenarioContext): Promise<void>;
  during?(ctx: ScenarioContext): Promise<void>;
}

export interface ScenarioResult {
  key: string;
  name: string;
  tally: PeerTally;
  deadLetters: number;
  drainSeconds?: number;
  stackLines: number;
  /** Deliveries the hub processes logged as failed and to be retried (a fault the hub met, not only one it was dealt). */
  retries: number;
  /** Faults the proxies injected: replies lost after the peer acted, requests failed before forwarding, replies held back. */
  injected: { replyLost: number; failedBefore: number; held: number };
  notes: string[];
  error?: string;
}

const PEER_FAULT_SEED = 20261129;

/**
 * The webhook receiver's share of "30% peer faults, half after the peer acted", in its own terms: 10% answered 503
 * and 5% 429 with Retry-After 1 s (the adapter waits that out within the attempt) before the receiver saw them; 10%
 * stored, then the reply lost; 5% stored, then the reply held 8 s, past the hub's 5 s timeout for this peer.
 */
const WEBHOOK_FAULTS = {
  seed: PEER_FAULT_SEED,
  rules: [
    { kind: 'before' as const, probability: 0.1 },
    { kind: 'before' as const, probability: 0.05 / 0.9, status: 429, retryAfterSeconds: 1 },
    { kind: 'after' as const, probability: 0.1 / 0.85 },
    { kind: 'hold' as const, probability: 0.05 / 0.75, holdMs: 8000 },
  ],
};

async function replaceWorker(ctx: ScenarioContext, index: number, signal: NodeJS.Signals): Promise<void> {
  const victim = ctx.workers[index];
  const stoppedAt = Date.now();
  await stopChild(victim.child, signal, 60000);
  if (signal === 'SIGTERM') ctx.notes.push(`worker ${index + 1} ended ${((Date.now() - stoppedAt) / 1000).toFixed(1)} s after SIGTERM (exit ${victim.child.exitCode ?? victim.child.signalCode})`);
  ctx.workers[index] = await ctx.startWorker();
}

export const SCENARIOS: Scenario[] = [
  { key: 'baseline', name: 'baseline', topology: 'split' },
  {
    key: 'worker-kill',
    name: 'worker SIGKILL mid-delivery (×2)',
    topology: 'split',
    async during(ctx) {
      await ctx.acked(0.3);
      await replaceWorker(ctx, 0, 'SIGKILL');
      await ctx.acked(0.6);
      await replaceWorker(ctx, 1, 'SIGKILL');
    },
  },
  {
    key: 'redis-restart',
    name: 'Redis restart mid-intake (AOF, 2 s down)',
    topology: 'split',
    async during(ctx) {
      await ctx.acked(0.5);
      await ctx.redis.restart(2000);
    },
  },
  {
    key: 'peer-faults',
    name: '30% peer faults, half after the peer acted',
    topology: 'split',
    async prepare(ctx) {
      // 15% fail before forwarding; of the rest, 15/85 lose the reply after the peer acted: 15% + 15% overall.
      const plan = { seed: PEER_FAULT_SEED, rules: [{ kind: 'before' as const, probability: 0.15 }, { kind: 'after' as const, probability: 0.15 / 0.85 }] };
      await Promise.all([ctx.icasework.plan(plan), ctx.iizuka.plan(plan), ctx.webhook.plan(WEBHOOK_FAULTS)]);
      ctx.notes.push('webhook: 503 10%, 429 + Retry-After 5%, reply lost 10%, reply held past the timeout 5%');
    },
  },
  {
    key: 'peer-down',
    name: 'iCasework and the webhook receiver down 60 s',
    topology: 'split',
    async during(ctx) {
      await ctx.acked(0.2);
      await Promise.all([ctx.icasework.down(ctx.options.downMs), ctx.webhook.down(ctx.options.downMs)]);
      ctx.notes.push(`down ${ctx.options.downMs / 1000} s`);
    },
  },
  {
    key: 'worker-term',
    name: 'worker SIGTERM mid-delivery',
    topology: 'split',
    async during(ctx) {
      await ctx.acked(0.5);
      await replaceWorker(ctx, 0, 'SIGTERM');
    },
  },
  {
    key: 'api-kill',
    name: 'api SIGKILL mid-intake',
    topology: 'split',
    async during(ctx) {
      await ctx.acked(0.5);
      await stopChild(ctx.api?.child, 'SIGKILL');
      ctx.api = await ctx.startApi();
    },
  },
  {
    key: 'second-start',
    name: 'a second `caseway start` (default config) while one runs',
    topology: 'start',
    // The first hub holds the state a sandbox `npm start` keeps under its default prefix.
    prefix: 'cw-sandbox:',
    async during(ctx) {
      await ctx.acked(0.5);
      // The hub's durable state: cases, payloads, views, references, event keys, traces, delivery records. Queue keys
      // are left out: a running hub's job locks and finished jobs come and go by design, and what the queues owe is
      // checked at the peers (every acknowledged application delivered exactly once).
      // Short-lived locks (a delivery's or a poll's, released when it ends) are left out for the same reason.
      const before = (await listKeys(ctx.redis.url, ctx.env.prefix)).filter((k) => !k.startsWith(`${ctx.env.prefix}q:`) && !k.includes(':lock:'));
      // `npm start` a second time in the same checkout: default config (sandbox peers), default prefix, same port.
      const env: NodeJS.ProcessEnv = { ...process.env, CASEWAY_CONFIG: path.join(ROOT, 'config/caseway.yaml'), REDIS_URL: ctx.redis.url, PORT: String(ctx.apiPort), HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
      delete env.CASEWAY_PREFIX;
      delete env.CASEWAY_SANDBOX;
      const second = spawn(process.execPath, [CLI, 'start'], { cwd: ctx.env.cwd, env, stdio: 'ignore' });
      let timer: NodeJS.Timeout | undefined;
      const ended = await Promise.race([exited(second).then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), 20000)))]);
      clearTimeout(timer);
      if (!ended) await stopChild(second, 'SIGTERM', 30000);
      const kept = await keptKeys(ctx.redis.url, before);
      const after = new Set(await listKeys(ctx.redis.url, ctx.env.prefix));
      const gone = before.filter((k) => !after.has(k)).slice(0, 5).map((k) => k.slice(ctx.env.prefix.length));
      ctx.notes.push(`second start ${ended ? `exited ${second.exitCode}` : 'kept running (stopped)'}; first hub's keys kept ${kept} of ${before.length}${gone.length ? ` (gone: ${gone.join(', ')})` : ''}`);
    },
  },
];

/** Resolves once a peer has acted on a request whose reply the proxy is still holding back. */
async function peerActed(peer: Peer): Promise<void> {
  await waitFor(async () => (await peer.records()).some((r) => r.forwarded && r.status >= 200 && r.status < 300), 60000, `${peer.kind} to act`, 50);
}

/**
 * The deterministic pieces of the suite, for `npm test` at ~100 applications: the fault hits at a known point (the
 * first N replies lost; workers killed while the peers' replies are held back) instead of at random.
 */
export const TEST_SCENARIOS: Record<string, Scenario> = {
  baseline: SCENARIOS[0],
  'reply-lost': {
    key: 'reply-lost',
    name: 'the first 10 replies of each write lost after the peer acted',
    topology: 'split',
    async prepare(ctx) {
      await ctx.icasework.plan({ rules: [{ op: 'createcase', kind: 'after', times: 10 }, { op: 'addcasenotes', kind: 'after', times: 10 }] });
      await ctx.iizuka.plan({ rules: [{ op: 'application', kind: 'after', times: 10 }] });
      await ctx.webhook.plan({ rules: [{ op: 'receive', kind: 'after', times: 10 }] });
    },
  },
  'worker-kill': {
    key: 'worker-kill',
    name: 'both workers SIGKILLed while the peers have acted and their replies are held',
    topology: 'split',
    async prepare(ctx) {
      await Promise.all([ctx.icasework, ctx.iizuka, ctx.webhook].map((p) => p.plan({ rules: [], replyDelayMs: 3000 })));
    },
    async during(ctx) {
      await Promise.all([peerActed(ctx.icasework), peerActed(ctx.iizuka), peerActed(ctx.webhook)]);
      await Promise.all(ctx.workers.map((w) => stopChild(w.child, 'SIGKILL')));
      await Promise.all([ctx.icasework, ctx.iizuka, ctx.webhook].map((p) => p.plan({ rules: [] })));
      ctx.workers = await Promise.all([ctx.startWorker(), ctx.startWorker()]);
    },
  },
  'worker-term': {
    key: 'worker-term',
    name: 'a worker SIGTERMed while the peers have acted and their replies are held',
    topology: 'split',
    async prepare(ctx) {
      await Promise.all([ctx.icasework, ctx.iizuka, ctx.webhook].map((p) => p.plan({ rules: [], replyDelayMs: 1500 })));
    },
    async during(ctx) {
      await Promise.all([peerActed(ctx.icasework), peerActed(ctx.iizuka), peerActed(ctx.webhook)]);
      await replaceWorker(ctx, 0, 'SIGTERM');
      await Promise.all([ctx.icasework, ctx.iizuka, ctx.webhook].map((p) => p.plan({ rules: [] })));
    },
  },
  'peer-down': {
    key: 'peer-down',
    name: 'iCasework and the webhook receiver down for a few seconds',
    topology: 'split',
    async during(ctx) {
      await ctx.acked(0.2);
      await Promise.all([ctx.icasework.down(ctx.options.downMs), ctx.webhook.down(ctx.options.downMs)]);
    },
  },
  'second-start': SCENARIOS[SCENARIOS.length - 1],
};

async function listKeys(url: string, prefix: string): Promise<string[]> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    const out: string[] = [];
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      out.push(...keys);
    } while (cursor !== '0');
    return out;
  } finally {
    redis.disconnect();
  }
}

/** How many of these keys still exist. Jobs completed meanwhile are still kept (removeOnComplete keeps 24 h). */
async function keptKeys(url: string, keys: string[]): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    let kept = 0;
    for (let i = 0; i < keys.length; i += 500) kept += await redis.exists(...keys.slice(i, i + 500));
    return kept;
  } finally {
    redis.disconnect();
  }
}

/** Keys of cases stored without a real hub id (issue 11: `case:undefined`). */
async function undefinedIdKeys(url: string, prefix: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 3 });
  try {
    return (await redis.keys(`${prefix}*undefined*`)).length;
  } finally {
    redis.disconnect();
  }
}

function retryLines(hubs: HubProcess[]): number {
  return hubs.reduce((n, h) => n + (h.output().match(/"msg":"delivery failed, will retry"/g)?.length ?? 0), 0);
}

function stackLines(hubs: HubProcess[]): number {
  return hubs.reduce((n, h) => n + (h.output().match(/^\s+at .+\(.*:\d+:\d+\)$/gm)?.length ?? 0), 0);
}

export async function runScenario(scenario: Scenario, options: SuiteOptions, dir: string, run: number): Promise<ScenarioResult> {
  const redis = await startRedis(dir);
  const [icasework, iizuka, webhook] = await Promise.all([startPeer('icasework'), startPeer('etd'), startPeer('webhook')]);
  const prefix = scenario.prefix ?? `cwf${run}:`;
  const env = newHubEnv(path.join(dir, 'hub'), hubConfig(icasework, iizuka, { deliveryConcurrency: 8, attempts: 8, backoffMs: 1000 }, webhook), redis.url, prefix);
  const apiPort = await freePort();
  let ackedSoFar = 0;
  const waiters: Array<{ at: number; resolve: () => void }> = [];
  const ctx: ScenarioContext = {
    options,
    redis,
    icasework,
    iizuka,
    webhook,
    env,
    apiPort,
    workers: [],
    all: [],
    notes: [],
    acked: (share) =>
      new Promise((resolve) => {
        const at = Math.max(1, Math.floor(share * options.cases));
        if (ackedSoFar >= at) resolve();
        else waiters.push({ at, resolve });
      }),
    startApi: async () => {
      const h = await startHub(env, scenario.topology === 'start' ? 'start' : 'api', apiPort);
      ctx.all.push(h);
      return h;
    },
    startWorker: async () => {
      const h = await startHub(env, 'worker', 0);
      ctx.all.push(h);
      return h;
    },
  };
  const probe = queueProbe(redis.url, prefix);
  let error: string | undefined;
  let drainSeconds: number | undefined;
  let tallied: PeerTally | undefined;
  let deadLetters = 0;
  const injected = { replyLost: 0, failedBefore: 0, held: 0 };
  try {
    ctx.api = await ctx.startApi();
    if (scenario.topology === 'split') ctx.workers = await Promise.all([ctx.startWorker(), ctx.startWorker()]);
    await scenario.prepare?.(ctx);
    const onAck = (n: number) => {
      ackedSoFar = n;
      for (const w of waiters.filter((x) => x.at <= n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    };
    const posting = postApplications(() => `http://127.0.0.1:${apiPort}`, run, options.cases, options.parallel, onAck);
    const [outcomes] = await Promise.all([
      posting.finally(() => {
        // A scenario still waiting for a share never reached: let it go on.
        for (const w of waiters.splice(0)) w.resolve();
      }),
      scenario.during?.(ctx).catch((err: unknown) => {
        ctx.notes.push(`fault step failed: ${String(err)}`);
      }),
    ]);
    const refused = outcomes.filter((o) => !o.acked);
    if (refused.length) ctx.notes.push(`${refused.length} never acknowledged (last status ${[...new Set(refused.map((o) => o.lastStatus))].join('/')})`);
    drainSeconds = await drain(probe, options.drainMs);
    const counts = await waitFor(() => probe.counts(), 30000, 'queue counts');
    deadLetters = counts.failed;
    const [icw, etd, hooks, receiver] = await Promise.all([icasework.records(), iizuka.records(), webhook.records(), webhook.receiver()]);
    for (const r of [...icw, ...etd, ...hooks]) {
      if (r.replyLost) injected.replyLost += 1;
      if (!r.forwarded) injected.failedBefore += 1;
      if (r.held) injected.held += 1;
    }
    tallied = tally(
      outcomes.filter((o) => o.acked).map((o) => o.token),
      icw,
      etd,
      true,
      receiver,
    );
    const undefinedKeys = await undefinedIdKeys(redis.url, prefix);
    if (undefinedKeys) ctx.notes.push(`${undefinedKeys} Redis key(s) with hub id "undefined"`);
  } catch (err) {
    error = String(err);
    ctx.notes.push(`error: ${error}`);
  } finally {
    await probe.close();
    await Promise.all(ctx.all.map((h) => stopChild(h.child, 'SIGTERM', 20000)));
    await Promise.all([stopChild(icasework.child), stopChild(iizuka.child), stopChild(webhook.child)]);
    await redis.stop();
  }
  return {
    key: scenario.key,
    name: scenario.name,
    tally: tallied ?? { acked: 0, delivered: 0, dupIizuka: 0, iizukaSameKeyResends: 0, dupIcwCases: 0, doubledNotes: 0, iizukaKeyUnstable: 0, lost: 0, lostTokens: [], callsPerCase: { icasework: 0, iizuka: 0 } },
    deadLetters,
    drainSeconds,
    stackLines: stackLines(ctx.all),
    retries: retryLines(ctx.all),
    injected,
    notes: ctx.notes,
    error,
  };
}
