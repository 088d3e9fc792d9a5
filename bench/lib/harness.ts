import { randomBytes } from 'node:crypto';
import autocannon from 'autocannon';
/**
 * What the fault suite and the real-path benchmark share: a private Redis with AOF, sandbox peers as separate
 * processes behind the fault proxy (the benchmarks: called directly, their calls recorded in the peer process), a hub
 * config pointing at them (sandbox: false), hub processes started as a user starts them (`caseway start` / `api` /
 * `worker`), unique ETD applications, a poster that retries until acknowledged, queue drain from outside, and the
 * accounting at the peers.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { withHubNodeFlags } from '../../src/cli/node-flags';
import { freePort, startPrivateRedis } from '../../src/cli/private-redis';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { deliveryQueueName } from '../../src/core/queues';
import type { FaultPlan, ProxyRecord } from './fault-proxy';
import type { ReceiverReport } from './peer-main';
import { tokenOf } from './fault-proxy';

/** The checkout: the nearest folder above this file with the project's package.json (from bench/ or dist/bench/). */
export const ROOT = ((): string => {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'adapters'))) return dir;
  }
  throw new Error('bench: cannot find the checkout above ' + __dirname);
})();
export const CLI = path.join(ROOT, 'dist/src/cli/main.js');
/** The peer process script: beside this file when running compiled, else the build's copy (tests run after the build). */
const PEER_MAIN = __filename.endsWith('.js') ? path.join(__dirname, 'peer-main.js') : path.join(ROOT, 'dist/bench/lib/peer-main.js');
export const FORM_KEY = 'faults-form-key-0001';
/** The delivery queues the drain watches: one per target connection (a benchmark config without the webhook leaves its queue empty). */
export const TARGETS = ['icasework', 'iizuka', 'webhook'] as const;

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/**
 * How long a hub process may take to print its banner (FAULTS_START_S, default 120): a loaded machine starts Node
 * slowly (30 s was not enough on the shared 2-core machine at load average ~50: four fault scenarios failed to start a hub).
 */
const START_MS = Number(process.env.FAULTS_START_S ?? 120) * 1000;

/** A loopback port nothing listens on right now: the one `caseway start` picks for its private Redis. */
export { freePort };

export async function waitFor<T>(check: () => Promise<T | undefined | false | null>, timeoutMs: number, what: string, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(everyMs);
  }
}

/**
 * Samples a count (say, deliveries done) every `everyMs` from now until stopped, so that the time it first reached a
 * target is known even when it got there before the caller started waiting for it (a run's deliveries can finish
 * before the load generator has reported the end of the load).
 */
export function watchCount(read: () => Promise<number>, everyMs = 50): { reachedAt(target: number): number | undefined; stop(): void } {
  const samples: Array<{ at: number; count: number }> = [];
  let stopped = false;
  void (async () => {
    while (!stopped) {
      const count = await read().catch(() => undefined);
      if (count !== undefined) samples.push({ at: Date.now(), count });
      await sleep(everyMs);
    }
  })();
  return {
    reachedAt: (target) => samples.find((s) => s.count >= target)?.at,
    stop: () => {
      stopped = true;
    },
  };
}

/**
 * How many times the threads of a process went to sleep and were woken again so far (Linux: voluntary_ctxt_switches
 * of /proc/<pid>/task/<tid>/status, summed over the threads alive now). On a virtual machine a wake-up is not cheap:
 * on the 2-vCPU EPYC host of 2026-12-02 a thread sleeping 5 ms was charged ~75 µs of CPU per wake-up (`npm run
 * bench:wake`; docs/performance.md, Round 17), so the CPU a case costs at a low rate follows how often it wakes each
 * process.
 */
export function wakeUps(pid: number | undefined): number {
  return sumOverThreads(pid, 'status', (text) => Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(text)?.[1] ?? 0));
}

/**
 * How long the threads of a process have waited for a CPU while runnable, ms so far (Linux: the second field of
 * /proc/<pid>/task/<tid>/schedstat, summed over the threads alive now: a thread that ended takes its wait with it,
 * which for Node's and Redis's long-lived threads does not arise). On a machine whose cores the bed shares, a Redis
 * that waits as long as it runs answers every command late, whatever the command costs.
 */
export function waitedForCpuMs(pid: number | undefined): number {
  return sumOverThreads(pid, 'schedstat', (text) => Number(text.split(' ')[1]) / 1e6);
}

/** `read` of /proc/<pid>/task/<tid>/<file>, summed over the threads of a process alive now; 0 if it is gone or not on Linux. */
function sumOverThreads(pid: number | undefined, file: string, read: (text: string) => number): number {
  if (pid === undefined) return 0;
  try {
    return readdirSync(`/proc/${pid}/task`).reduce((sum, tid) => {
      try {
        return sum + read(readFileSync(`/proc/${pid}/task/${tid}/${file}`, 'utf8'));
      } catch {
        return sum; // the thread ended between the listing and the read
      }
    }, 0);
  } catch {
    return 0; // gone, or not Linux
  }
}

/** Peak resident set of a live process (VmHWM), MB; undefined when it is gone or not on Linux. */
export function peakRssMb(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmHWM:\s+(\d+) kB/);
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

/** Stops a child: the signal, then SIGKILL after `graceMs`. */
export async function stopChild(child: ChildProcess | undefined, signal: NodeJS.Signals = 'SIGTERM', graceMs = 15000): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited(child);
  clearTimeout(timer);
}

// ------------------------------------------------------------------------------------------------ Redis

export interface PrivateRedis {
  url: string;
  port: number;
  pid: () => number | undefined;
  /** Stops it gracefully (AOF flushed) and starts it again on the same port and folder after `downMs`. */
  restart(downMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `use` against a private Redis (AOF everysec) in a new temporary folder; stops it and removes the folder after. */
export async function withPrivateRedis<T>(name: string, use: (redis: PrivateRedis) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `caseway-${name}-`));
  try {
    const redis = await startRedis(dir);
    try {
      return await use(redis);
    } finally {
      await redis.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function startRedis(dir: string, fsync = 'everysec'): Promise<PrivateRedis> {
  const port = await freePort();
  const args = ['--appendfsync', fsync, '--save', ''];
  let current = await startPrivateRedis(dir, args, port);
  return {
    url: current.url,
    port,
    pid: () => current.child.pid,
    async restart(downMs) {
      await current.stop();
      await sleep(downMs);
      current = await startPrivateRedis(dir, args, port);
    },
    stop: () => current.stop(),
  };
}

// ------------------------------------------------------------------------------------------------ peers

export type PeerKind = 'etd' | 'icasework' | 'webhook';

export interface Peer {
  kind: PeerKind;
  child: ChildProcess;
  /** Where the hub reaches the peer: its fault proxy, or in direct mode the sandbox itself. */
  url: string;
  /** No fault proxy: the calls are recorded in the peer process (plan and down throw). */
  direct: boolean;
  controlUrl: string;
  settings: Record<string, unknown>;
  /** Fault injection at the proxy; throws in direct mode (no proxy) or when the peer refuses the plan. */
  plan(plan: FaultPlan): Promise<void>;
  down(ms: number): Promise<void>;
  records(): Promise<ProxyRecord[]>;
  /** The webhook peer: what its receiver stored per webhook-id (other peers answer 404). */
  receiver(): Promise<ReceiverReport>;
}

export function httpJson<T>(method: string, url: string, body?: unknown): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const req = http.request(url, { method, headers: data ? { 'content-type': 'application/json', 'content-length': data.length } : {} }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : undefined) as T });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

export interface PeerOptions {
  /**
   * No fault proxy in front of the peer (the benchmarks): the hub calls the sandbox's own URL and the same records are
   * taken in the peer process by observing its server (bench/lib/peer-recorder.ts), without an extra HTTP hop.
   */
  direct?: boolean;
}

/** POSTs to a peer's control endpoint; throws unless it answered 200 (e.g. /plan in direct mode: 409). */
async function control(kind: PeerKind, url: string, body: unknown): Promise<void> {
  const r = await httpJson<{ error?: string } | undefined>('POST', url, body);
  if (r.status !== 200) throw new Error(`peer ${kind}: ${new URL(url).pathname} answered HTTP ${r.status}: ${r.body?.error ?? ''}`);
}

export async function startPeer(kind: PeerKind, options: PeerOptions = {}): Promise<Peer> {
  const child = spawn(process.execPath, [PEER_MAIN, kind, ...(options.direct ? ['--direct'] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', (code) => reject(new Error(`peer ${kind} exited (${code}) before it was ready`)));
  });
  const ready = JSON.parse(line) as { url: string; controlUrl: string; settings: Record<string, unknown>; direct: boolean };
  return {
    kind,
    child,
    ...ready,
    plan: (plan) => control(kind, `${ready.controlUrl}/plan`, plan),
    down: (ms) => control(kind, `${ready.controlUrl}/down`, { ms }),
    records: async () => (await httpJson<ProxyRecord[]>('GET', `${ready.controlUrl}/records`)).body,
    receiver: async () => {
      const r = await httpJson<ReceiverReport>('GET', `${ready.controlUrl}/receiver`);
      if (r.status !== 200) throw new Error(`peer ${kind} has no receiver report (HTTP ${r.status})`);
      return r.body;
    },
  };
}

// ------------------------------------------------------------------------------------------------ hub

export interface HubOptions {
  deliveryConcurrency: number;
  attempts: number;
  backoffMs: number;
  /** 'both' (default): the default ETD route, iCasework and IIZUKA; 'icasework': the same route to iCasework alone. */
  targets?: 'both' | 'icasework';
}

/**
 * The default config's JSONata expression for "any system" (route etd-to-any-system in config/caseway.yaml): a small
 * event carrying the applicant's name, so the receiver's record holds the application token.
 */
export const WEBHOOK_EXPRESSION = `{
  "type": "case." & type,
  "timestamp": receivedAt,
  "data": {
    "hubId": $hubId,
    "reference": source.id,
    "status": status,
    "applicant": parties["applicant" in roles][0].person.{"forenames": forenames, "surname": surname}
  }
}`;

/**
 * The default config's ETD route, with both targets as real (non-sandbox) connections reached at the peers' URLs
 * (their proxies, or the sandboxes themselves in direct mode); with `webhook`, also the default config's route to
 * "any system": every ETD case posted, signed and shaped by the same JSONata expression, to the webhook receiver.
 */
export function hubConfig(icasework: Peer, iizuka: Peer, o: HubOptions, webhook?: Peer): string {
  const delivery = JSON.stringify({ concurrency: o.deliveryConcurrency, attempts: o.attempts, backoffMs: o.backoffMs });
  const webhookConnection = webhook
    ? `  webhook:
    adapter: webhook
    sandbox: false
    settings: ${JSON.stringify(webhook.settings)}
    delivery: ${delivery}
`
    : '';
  const webhookRoute = webhook
    ? `  - name: etd-to-webhook
    from: { connection: etd-form, source: application }
    filter: { path: type, equals: etd-application }
    to:
      - id: webhook-event
        connection: webhook
        action: post
        options:
          referencePointer: /id
          expression: ${JSON.stringify(WEBHOOK_EXPRESSION)}
        mapping:
          remove: [notes, documents]
`
    : '';
  return `version: 1
hub:
  name: caseway-measured
  retentionDays: 1
  defaults: { attempts: ${o.attempts}, backoffMs: ${o.backoffMs} }
connections:
  etd-form:
    adapter: etd
    settings: { inbound: { apiKeys: [{ name: load, key: ${FORM_KEY} }] } }
  iizuka:
    adapter: etd
    sandbox: false
    settings: ${JSON.stringify(iizuka.settings)}
    delivery: ${delivery}
  icasework:
    adapter: icasework
    sandbox: false
    settings: ${JSON.stringify(icasework.settings)}
    delivery: ${delivery}
${webhookConnection}routes:
  - name: etd-applications
    from: { connection: etd-form, source: application }
    filter: { path: type, equals: etd-application }
    to:
      - id: icasework-case
        connection: icasework
        action: createCase
        options: { caseType: EmergencyTravelDocument, customerRole: applicant }
        mapping:
          set:
            summary: Emergency Travel Document application received from the ETD web form
${
  o.targets === 'icasework'
    ? ''
    : `      - id: iizuka-application
        connection: iizuka
        action: submitApplication
        mapping:
          remove: [notes]
`
}${webhookRoute}`;
}

export interface HubProcess {
  role: 'start' | 'api' | 'worker';
  child: ChildProcess;
  output: () => string;
  peakRssMb: () => number | undefined;
}

export interface HubEnv {
  configFile: string;
  redisUrl: string;
  prefix: string;
  dataKey: string;
  apiToken: string;
  cwd: string;
  logFile?: string;
}

export function newHubEnv(dir: string, yaml: string, redisUrl: string, prefix: string): HubEnv {
  mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, 'caseway.yaml');
  writeFileSync(configFile, yaml);
  return { configFile, redisUrl, prefix, dataKey: PayloadCipher.generateKey(), apiToken: randomBytes(24).toString('hex'), cwd: dir };
}

/** Starts `caseway <role>` and waits until it is ready, up to FAULTS_START_S seconds (default 120) (the api answers /readyz; a worker prints its banner). */
export async function startHub(env: HubEnv, role: 'start' | 'api' | 'worker', port: number, extraArgs: string[] = []): Promise<HubProcess> {
  let output = '';
  const child = spawn(
    process.execPath,
    // As `npm start` and the Dockerfile start it: with the hub's V8 flags, unless NODE_OPTIONS sets its own (node-flags.ts).
    [...withHubNodeFlags([]), CLI, '--config', env.configFile, '--prefix', env.prefix, '--redis', env.redisUrl, '--sandbox', 'false', '--log-level', process.env.FAULTS_LOG_LEVEL ?? 'warn', ...extraArgs, role],
    // A hub with real peers starts only closed: its own data key and an API token (the harness never calls /api).
    { cwd: env.cwd, env: { ...process.env, CASEWAY_DATA_KEY: env.dataKey, CASEWAY_API_TOKEN: env.apiToken, PORT: String(port), HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const keep = (d: Buffer) => {
    output += d.toString();
    if (output.length > 200_000) output = output.slice(-100_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const hub: HubProcess = { role, child, output: () => output, peakRssMb: () => peakRssMb(child.pid) };
  await waitFor(async () => output.includes('Caseway is running') || child.exitCode !== null, START_MS, `caseway ${role} to start`).catch((err: unknown) => {
    child.kill('SIGKILL');
    throw err;
  });
  if (child.exitCode !== null) throw new Error(`caseway ${role} exited ${child.exitCode}: ${output.slice(-400)}`);
  return hub;
}

/** Where each hub process's output stood (its length), so that what it logs during a line can be read apart. */
export const outputMarks = (hubs: Pick<HubProcess, 'output'>[]): number[] => hubs.map((h) => h.output().length);

/**
 * Why deliveries failed during a line, from the hubs' own warn lines ("delivery failed, will retry", "delivery
 * dead-lettered"): by error code, outcome and safe message (safeErrorDetail: what the hub logs anyway, no peer's
 * words). A process whose kept output was cut to less than the mark is read whole.
 */
export function failureReasons(hubs: Pick<HubProcess, 'output'>[], marks: number[]): string {
  const by = new Map<string, number>();
  hubs.forEach((h, i) => {
    const out = h.output();
    for (const line of (out.length >= marks[i] ? out.slice(marks[i]) : out).split('\n')) {
      if (!line.includes('"delivery failed, will retry"') && !line.includes('"delivery dead-lettered"')) continue;
      try {
        const entry = JSON.parse(line) as { final?: boolean; error?: { code?: string; message?: string; outcome?: string } };
        const e = entry.error ?? {};
        const key = `${entry.final ? 'dead-lettered: ' : ''}${e.code ?? '?'}${e.outcome ? ` (${e.outcome})` : ''} "${(e.message ?? '').slice(0, 120)}"`;
        by.set(key, (by.get(key) ?? 0) + 1);
      } catch {
        by.set('unparsed log line', (by.get('unparsed log line') ?? 0) + 1);
      }
    }
  });
  return [...by].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none';
}

// ------------------------------------------------------------------------------------------------ load

const SAMPLE = JSON.parse(readFileSync(path.join(ROOT, 'config/samples/etd-application.json'), 'utf8')) as { etdApp: Record<string, Record<string, unknown>> };

/** A valid ETD application, unique by its token (applicant's surname) and passport number. */
export function application(run: number, n: number): { token: string; body: string } {
  const token = tokenOf(run, n);
  // Copies of the changed branches only (the rest is shared with SAMPLE and only read): the load generator shares the
  // two cores with the hub, and a structured clone of the whole sample was ~18% of its CPU.
  const { appDetails, passportDetails } = SAMPLE.etdApp;
  const etdApp = {
    ...SAMPLE.etdApp,
    appDetails: { ...appDetails, surname: token, email: `${token.toLowerCase()}@example.org` },
    passportDetails: {
      ...passportDetails,
      docNumber: String(100000000 + ((run * 7919 + n) % 899999999)),
      passportApplicant: { ...(passportDetails.passportApplicant as Record<string, unknown>), surname: token },
    },
  };
  return { token, body: JSON.stringify({ ...SAMPLE, etdApp }) };
}

export interface PostOutcome {
  token: string;
  acked: boolean;
  attempts: number;
  /** Ack latency of the attempt that succeeded, ms. */
  latencyMs?: number;
  lastStatus: number;
}

function postOnce(postAgent: http.Agent, url: string, body: string): Promise<number> {
  return new Promise((resolve) => {
    const req = http.request(
      url,
      { method: 'POST', agent: postAgent, timeout: 30000, headers: { 'content-type': 'application/json', 'x-api-key': FORM_KEY, 'content-length': Buffer.byteLength(body) } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(0));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

/**
 * Posts `count` unique applications, `parallel` at a time; each is retried (as a form would, on 5xx, 429 or no
 * answer) until it gets 200 or `giveUpMs` passed. `onAck` sees the running number acknowledged.
 */
export async function postApplications(
  url: () => string,
  run: number,
  count: number,
  parallel: number,
  onAck: (acked: number) => void = () => undefined,
  giveUpMs = 120000,
): Promise<PostOutcome[]> {
  const out: PostOutcome[] = [];
  let next = 0;
  let acked = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: parallel });
  const lane = async () => {
    while (next < count) {
      const n = next++;
      const { token, body } = application(run, n);
      const first = Date.now();
      const outcome: PostOutcome = { token, acked: false, attempts: 0, lastStatus: 0 };
      for (;;) {
        const started = Date.now();
        outcome.attempts += 1;
        outcome.lastStatus = await postOnce(agent, `${url()}/etd/application`, body);
        if (outcome.lastStatus === 200) {
          outcome.acked = true;
          outcome.latencyMs = Date.now() - started;
          onAck(++acked);
          break;
        }
        const retryable = outcome.lastStatus === 0 || outcome.lastStatus === 429 || outcome.lastStatus >= 500;
        if (!retryable || Date.now() - first > giveUpMs) break;
        await sleep(Math.min(2000, 100 * 2 ** Math.min(outcome.attempts, 5)));
      }
      out.push(outcome);
    }
  };
  try {
    await Promise.all(Array.from({ length: parallel }, lane));
  } finally {
    agent.destroy();
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ drain & accounting

export interface QueueProbe {
  /** Jobs still to do (waiting, active, delayed, prioritized, waiting-children; BullMQ 6 counts a paused queue's jobs as waiting) over the delivery queues, and failed ones. */
  counts(): Promise<{ pending: number; failed: number; completed: number }>;
  close(): Promise<void>;
}

export function queueProbe(redisUrl: string, prefix: string): QueueProbe {
  const connection = new Redis(redisUrl, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, retryStrategy: () => 200 });
  connection.on('error', () => undefined);
  const queues = TARGETS.map((t) => new Queue(deliveryQueueName(t), { connection, prefix: `${prefix}q` }));
  for (const q of queues) q.on('error', () => undefined);
  return {
    async counts() {
      let pending = 0;
      let failed = 0;
      let completed = 0;
      for (const q of queues) {
        const c = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'failed', 'completed');
        pending += (c.waiting ?? 0) + (c.active ?? 0) + (c.delayed ?? 0) + (c.prioritized ?? 0) + (c['waiting-children'] ?? 0);
        failed += c.failed ?? 0;
        completed += c.completed ?? 0;
      }
      return { pending, failed, completed };
    },
    async close() {
      await Promise.all(queues.map((q) => q.close().catch(() => undefined)));
      connection.disconnect();
    },
  };
}

/** Waits until no delivery job is pending; resolves to the seconds it took, or undefined on timeout. */
export async function drain(probe: QueueProbe, timeoutMs: number): Promise<number | undefined> {
  const started = Date.now();
  let quietSince = 0;
  while (Date.now() - started < timeoutMs) {
    const c = await probe.counts().catch(() => undefined);
    if (c && c.pending === 0) {
      // Twice in a row, 300 ms apart: a job moving between states is not "done".
      if (quietSince && Date.now() - quietSince >= 300) return (quietSince - started) / 1000;
      quietSince ||= Date.now();
    } else quietSince = 0;
    await sleep(150);
  }
  return undefined;
}

export interface PeerTally {
  acked: number;
  delivered: number;
  /** Extra accepted POSTs of one application that IIZUKA could not tell apart (no key, or another key). */
  dupIizuka: number;
  /** Extra accepted POSTs that carried the Idempotency-Key of an earlier accepted one (folded by a peer that honours it). */
  iizukaSameKeyResends: number;
  dupIcwCases: number;
  doubledNotes: number;
  /** Applications retried at IIZUKA whose attempts did not all carry one Idempotency-Key. */
  iizukaKeyUnstable: number;
  /** Acknowledged but missing at one peer or more (the webhook receiver included when it was in the run). */
  lost: number;
  lostTokens: string[];
  callsPerCase: { icasework: number; iizuka: number };
  webhook?: WebhookTally;
}

/**
 * The webhook receiver's count, by webhook-id. The receiver stores a message once per webhook-id and acknowledges a
 * repeat without storing it (as the Standard Webhooks specification asks receivers to).
 */
export interface WebhookTally {
  /** Arrivals with a valid signature (first deliveries and repeats). */
  received: number;
  /** Distinct webhook-ids stored. */
  distinctIds: number;
  /**
   * Records the receiver created beyond one per application: an application stored under a second webhook-id (the
   * receiver cannot tell it is the same), or one webhook-id stored twice. Must be 0.
   */
  duplicates: number;
  /** Arrivals of a webhook-id already stored, which the receiver folded (retries after lost or late replies). */
  redelivered: number;
  /** Acknowledged applications with no stored webhook delivery. */
  lost: number;
  lostTokens: string[];
  /** Requests whose signature the receiver refused. Must be 0. */
  invalidSignatures: number;
}

export function tallyWebhook(ackedTokens: string[], report: ReceiverReport): WebhookTally {
  const perId = new Map<string, number>();
  const perToken = new Map<string, Set<string>>();
  for (const d of report.stored) {
    perId.set(d.webhookId, (perId.get(d.webhookId) ?? 0) + 1);
    if (!d.token) continue;
    const ids = perToken.get(d.token) ?? new Set<string>();
    ids.add(d.webhookId);
    perToken.set(d.token, ids);
  }
  const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
  const lostTokens = ackedTokens.filter((t) => !perToken.get(t)?.size);
  return {
    received: sum(report.stored.map((d) => d.arrivals)),
    distinctIds: perId.size,
    duplicates: sum([...perToken.values()].map((ids) => ids.size - 1)) + sum([...perId.values()].map((n) => n - 1)),
    redelivered: sum(report.stored.map((d) => d.arrivals - 1)),
    lost: lostTokens.length,
    lostTokens,
    invalidSignatures: report.invalidSignatures,
  };
}

const ok = (r: ProxyRecord) => r.forwarded && r.status >= 200 && r.status < 300;

/** Counts at the peers (what they acted on, reply lost or not) against what the hub acknowledged. */
/**
 * `iizukaTarget` false: the route had no IIZUKA target, so a case is delivered once iCasework created it. `receiver`:
 * the webhook receiver's report, when the route also posts to it.
 */
export function tally(ackedTokens: string[], icw: ProxyRecord[], iizuka: ProxyRecord[], iizukaTarget = true, receiver?: ReceiverReport): PeerTally {
  // IIZUKA has no idempotency of its own: a second accepted POST of one application is a duplicate unless it carried
  // the Idempotency-Key of an earlier accepted one (which a peer honouring the IETF draft folds into the first).
  const accepted = new Map<string, Array<string | undefined>>();
  const keys = new Map<string, Array<string | undefined>>();
  for (const r of iizuka) {
    if (r.op !== 'application' || !r.token) continue;
    if (r.forwarded) keys.set(r.token, [...(keys.get(r.token) ?? []), r.idempotencyKey]);
    if (ok(r)) accepted.set(r.token, [...(accepted.get(r.token) ?? []), r.idempotencyKey]);
  }
  const distinct = (k: Array<string | undefined>) => k.filter((x) => x === undefined).length + new Set(k.filter((x) => x !== undefined)).size;
  const cases = new Map<string, Set<string>>();
  for (const r of icw) {
    if (r.op !== 'createcase' || !ok(r) || !r.token || !r.caseId) continue;
    const set = cases.get(r.token) ?? new Set<string>();
    set.add(r.caseId);
    cases.set(r.token, set);
  }
  const notes = new Map<string, number>();
  for (const r of icw) if (r.op === 'addcasenotes' && ok(r) && r.note) notes.set(r.note, (notes.get(r.note) ?? 0) + 1);
  const sum = (values: Iterable<number>) => [...values].reduce((a, b) => a + b, 0);
  const webhook = receiver ? tallyWebhook(ackedTokens, receiver) : undefined;
  const missedByWebhook = new Set(webhook?.lostTokens ?? []);
  const lostTokens = ackedTokens.filter((t) => !((!iizukaTarget || accepted.get(t)?.length) && cases.get(t)?.size) || missedByWebhook.has(t));
  const cased = Math.max(1, cases.size);
  return {
    acked: ackedTokens.length,
    delivered: ackedTokens.length - lostTokens.length,
    dupIizuka: sum([...accepted.values()].map((k) => distinct(k) - 1)),
    iizukaSameKeyResends: sum([...accepted.values()].map((k) => k.length - distinct(k))),
    dupIcwCases: sum([...cases.values()].map((s) => s.size - 1)),
    doubledNotes: sum([...notes.values()].map((n) => n - 1)),
    iizukaKeyUnstable: [...keys.values()].filter((k) => k.length > 1 && (k[0] === undefined || k.some((x) => x !== k[0]))).length,
    lost: lostTokens.length,
    lostTokens,
    callsPerCase: { icasework: icw.length / cased, iizuka: iizuka.length / Math.max(1, accepted.size) },
    ...(webhook ? { webhook } : {}),
  };
}

export function machine(): string {
  return `${os.cpus().length} CPU (${os.cpus()[0]?.model ?? 'unknown'}), nproc ${os.availableParallelism()}, ${Math.round(os.totalmem() / 2 ** 30)} GB, Node ${process.version}, ${os.platform()} ${os.release()}, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} at start (the machine is shared: figures on a busy machine are lower bounds)`;
}

/** How many changed files a Git line names before it says how many more there are. */
const DIRTY_NAMED = 5;

/**
 * The checked-out commit, and the tracked files that differ from it (a run's figures are of that code, not of the
 * commit alone): read when a run starts. `cwd` is the checkout (this one by default).
 */
export function gitHead(cwd = ROOT): string {
  const r = spawnSync('git', ['log', '-1', '--format=%h %s'], { cwd, encoding: 'utf8' });
  const changed = (spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd, encoding: 'utf8' }).stdout ?? '')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => l.slice(3));
  const more = changed.length > DIRTY_NAMED ? ` and ${changed.length - DIRTY_NAMED} more` : '';
  const dirty = changed.length ? ` (with uncommitted changes: ${changed.slice(0, DIRTY_NAMED).join(', ')}${more})` : '';
  return `${(r.stdout ?? '').trim().slice(0, 100)}${dirty}`;
}

/** A report's Git line: the commit read at the start, flagged if the checkout moved while the run went on. */
export function gitLine(atStart: string): string {
  return `${atStart}${gitHead() === atStart ? '' : ' (at the start; the checkout moved during the run)'}`;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** What a paced load sent and got: the 200 answers' latencies (ms, sorted), and when each token's POST was sent. */
export interface PacedLoad {
  seconds: number;
  acked: number;
  errors: number;
  latencies: number[];
  sentAt: Map<string, number>;
}

/**
 * A steady load: `total` unique applications at `ratePerS` in all, each POSTed when it falls due (checked every 5 ms,
 * over a keep-alive agent, no cap on the requests in flight), so arrivals are spread evenly over each second, as a
 * steady source's would be. autocannon's own rate limit (`overallRate`) is not: each connection sends its share of a
 * second as fast as it is answered and then waits for the next second, so the load arrives as one burst at the start
 * of every second (test/faults/paced-load.test.ts shows both).
 */
export async function paceApplications(url: string, run: number, total: number, ratePerS: number): Promise<PacedLoad> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 200 });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  let errors = 0;
  let lastAnswer = Date.now();
  const post = (n: number) =>
    new Promise<void>((resolve) => {
      const { token, body } = application(run, n);
      const t0 = Date.now();
      sentAt.set(token, t0);
      const req = http.request(
        `${url}/etd/application`,
        { method: 'POST', agent, headers: { 'content-type': 'application/json', 'x-api-key': FORM_KEY, 'content-length': Buffer.byteLength(body) } },
        (res) => {
          res.resume();
          res.on('end', () => {
            lastAnswer = Date.now();
            if (res.statusCode === 200) latencies.push(lastAnswer - t0);
            else errors += 1;
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors += 1;
        resolve();
      });
      req.end(body);
    });
  const started = Date.now();
  const pending: Array<Promise<void>> = [];
  try {
    for (let n = 0; n < total; ) {
      const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * ratePerS));
      while (n < due) pending.push(post(n++));
      if (n < total) await sleep(5);
    }
    await Promise.all(pending);
  } finally {
    agent.destroy();
  }
  return { seconds: (lastAnswer - started) / 1000, acked: latencies.length, errors, latencies: latencies.sort((a, b) => a - b), sentAt };
}

/**
 * The benchmarks' load at full speed: autocannon posting `amount` unique applications over `connections`, each sent as
 * soon as the connection's previous one is answered; the 200 answers and their latencies, ms. (A fixed rate:
 * paceApplications.)
 */
export function loadApplications(url: string, connections: number, run: number, amount: number): Promise<{ seconds: number; acked: number; errors: number; latencies: number[] }> {
  let n = 0;
  const latencies: number[] = [];
  let acked = 0;
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let lastAnswer = started;
    const instance = autocannon(
      {
        url: `${url}/etd/application`,
        connections,
        amount,
        timeout: 30,
        // autocannon notices that `amount` is reached only on its sampling tick (1 s by default), so its callback can
        // come up to a second after the last answer; the load's duration is taken to the last answer instead.
        sampleInt: 100,
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-api-key': FORM_KEY },
        requests: [{ setupRequest: (req) => ({ ...req, body: application(run, n++).body }) }],
      },
      (err, result) => {
        if (err) return reject(err);
        resolve({ seconds: (lastAnswer - started) / 1000, acked, errors: result.errors + result.non2xx + result.timeouts, latencies: latencies.sort((a, b) => a - b) });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      lastAnswer = Date.now();
      if (status === 200) {
        acked += 1;
        latencies.push(ms);
      }
    });
  });
}
