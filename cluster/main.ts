/**
 * `npm run cluster:test`: Caseway across machines, on one machine. Builds a bed of network namespaces (Redis
 * primary and replica, three Sentinels, two api hosts, three worker hosts, the IIZUKA and iCasework peer hosts),
 * runs the fault scenarios and the worker-scaling measurement, prints one table, writes docs/cluster-latest.md,
 * and removes everything it made.
 *
 * Two processes: the outer one (the machine's own namespace) makes and removes the namespaces and nothing else;
 * it runs the inner one (this file with --inside) on the bed's control host, so every packet the driver sends
 * goes to an address inside the bed. Settings (environment):
 *   CLUSTER_CASES (1000)            applications per scenario and per scaling step
 *   CLUSTER_CONCURRENCY (20)        applications posted at once
 *   CLUSTER_SCENARIOS (all)         comma list: baseline,worker-cut,api-cut,redis-delay,worker-added,redis-failover
 *   CLUSTER_SCALING (1)             0 skips the throughput scaling measurement
 *   CLUSTER_CUT_S (20)              how long a host stays cut off
 *   CLUSTER_REDIS_DELAY_MS (200)    delay between workers and Redis in redis-delay
 *   CLUSTER_PEER_DELAY_MS (50)      added to every peer call in the scaling measurement
 *   CLUSTER_ICW_RATE (20)           iCasework's rate limit (calls of createCase deliveries per second, as shipped)
 *   CLUSTER_DRAIN_S (300)           how long a scenario may take to deliver everything after its last post
 *   CLUSTER_WRITE_DOCS (1)          0 leaves docs/cluster-latest.md alone
 */
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { hubConfigYaml, makeSecrets, type Secrets } from './hub-config';
import { HUB_PORT, Hosts, ROOT, sleep, until } from './hosts';
import { applications, postAll, type LoadResult } from './load';
import { Bed, bedUnavailable, netemUnavailable } from './net';
import { PEER_API_PORT, PEER_CONTROL_PORT, PEER_REPORTS_PORT, type PeerState } from './peer-host';
import { renderReport, type ScalingRow, type ScenarioRow } from './report';

const num = (name: string, fallback: number) => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && process.env[name] !== '' && process.env[name] !== undefined ? v : fallback;
};

const SETTINGS = {
  cases: num('CLUSTER_CASES', 1000),
  concurrency: num('CLUSTER_CONCURRENCY', 20),
  cutS: num('CLUSTER_CUT_S', 20),
  redisDelayMs: num('CLUSTER_REDIS_DELAY_MS', 200),
  peerDelayMs: num('CLUSTER_PEER_DELAY_MS', 50),
  icwRate: num('CLUSTER_ICW_RATE', 20),
  drainS: num('CLUSTER_DRAIN_S', 300),
  scaling: process.env.CLUSTER_SCALING !== '0',
  writeDocs: process.env.CLUSTER_WRITE_DOCS !== '0',
  only: (process.env.CLUSTER_SCENARIOS ?? '').split(',').map((s) => s.trim()).filter(Boolean),
};

const say = (line: string) => process.stdout.write(`${line}\n`);

// ====================================================================== outer: the namespaces

async function outer(): Promise<number> {
  const runId = `cw${randomBytes(2).toString('hex')}`;
  const missing = bedUnavailable(runId);
  if (missing) {
    say(`cluster:test: skipped, ${missing}; the multi-host bed needs root and Linux network namespaces (iproute2). Nothing was run.`);
    return 0;
  }
  const bed = new Bed(runId);
  const noNetem = netemUnavailable(runId);
  const netem = noNetem === null;
  const tmp = mkdtempSync(path.join(os.tmpdir(), `caseway-${runId}-`));
  let child: ReturnType<typeof spawn> | undefined;
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted = true;
    say(`cluster:test: ${signal}; stopping the run and removing the bed...`);
    child?.kill(signal);
    setTimeout(() => {
      bed.teardown();
      process.exit(130);
    }, 20000).unref();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say(`cluster:test: building the bed ${runId}-* (${bed.hosts.size} hosts + a switch) on 198.18.77.0/24${netem ? '' : `; no tc netem here (${noNetem}), delays come from a userspace TCP delay proxy`}`);
    bed.create();
    const code = await new Promise<number>((resolve) => {
      child = spawn('ip', ['netns', 'exec', bed.ns('ctl'), process.execPath, __filename, '--inside', runId, tmp, netem ? 'netem' : 'proxy'], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, ...(noNetem ? { CLUSTER_NO_NETEM: noNetem } : {}) } });
      child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    });
    return interrupted ? 130 : code;
  } finally {
    bed.teardown();
    const left = bed.existing();
    say(left.length ? `cluster:test: could not remove ${left.join(', ')}` : `cluster:test: bed ${runId} removed (no namespace, process or address of it is left).`);
    if (!process.env.CLUSTER_KEEP_LOGS) rmSync(tmp, { recursive: true, force: true });
    else say(`cluster:test: logs kept in ${tmp}/logs`);
  }
}

// ====================================================================== inner: the driver on the control host

function getJson<T>(host: string, port: number, urlPath: string, headers: Record<string, string> = {}, timeoutMs = 5000): Promise<{ status: number; body: T }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: urlPath, headers, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        try {
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
        } catch (err) {
          reject(err);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

function postEmpty(host: string, port: number, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host, port, path: urlPath, method: 'POST', timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every value under a key named like "role" in a readiness answer: how the hub reports its Redis. */
function rolesIn(value: unknown, out: string[] = [], key = ''): string[] {
  if (Array.isArray(value)) for (const v of value) rolesIn(v, out, key);
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) rolesIn(v, out, k);
  else if (/role/i.test(key) && (typeof value === 'string' || typeof value === 'number')) out.push(String(value));
  return out;
}

// Counts every job not yet finished in the BullMQ queues under a prefix, in one server-side pass. `:paused` is BullMQ 5's
// list of a paused queue's jobs: BullMQ 6 keeps them in `:wait` (the hub moves an old list there at start), so it is only
// ever found on a Redis a BullMQ 5 hub used.
const PENDING_SCRIPT = `
local n = 0
local cursor = '0'
repeat
  local r = redis.call('SCAN', cursor, 'MATCH', ARGV[1], 'COUNT', 1000)
  cursor = r[1]
  for _, k in ipairs(r[2]) do
    if string.match(k, ':wait$') or string.match(k, ':active$') or string.match(k, ':paused$') then
      n = n + redis.call('LLEN', k)
    elseif string.match(k, ':delayed$') or string.match(k, ':prioritized$') or string.match(k, ':waiting%-children$') then
      n = n + redis.call('ZCARD', k)
    end
  end
until cursor == '0'
return n`;

interface Scenario {
  name: string;
  title: string;
  /** Worker hosts running from the start. */
  workers: string[];
  /** Workers reach Redis with this much delay. */
  redisDelay?: boolean;
  /** A reason the scenario cannot run on this build, else undefined. */
  unsupported?: () => string | undefined;
  /** Runs once this share of the applications has been acknowledged; answers when the fault is over. */
  fault?: { at: number; run: () => Promise<{ endedAt: number; note?: string }> };
  /** What "time to recover" is measured from. */
  recoverFrom: 'fault end' | 'last post' | 'fault start';
  /** When the build cannot run the scenario: still exercise the bed's side of the fault (no hubs), to prove the bed. */
  bedOnly?: boolean;
}

class Driver {
  readonly hosts: Hosts;
  readonly secrets: Secrets = makeSecrets();
  readonly configFile: string;
  sentinel = false;
  minReplicas = false;
  readonly rows: ScenarioRow[] = [];
  readonly scaling: ScalingRow[] = [];
  private readonly notes: string[] = [];

  constructor(readonly bed: Bed, readonly tmp: string, readonly delayBy: 'netem' | 'proxy') {
    this.hosts = new Hosts(bed, tmp);
    this.configFile = path.join(tmp, 'caseway-cluster.yaml');
  }

  private get a() {
    return (h: string) => this.hosts.addr(h);
  }

  // ------------------------------------------------------------ what this build supports

  private detectFeatures(): void {
    const dist = path.join(ROOT, 'dist', 'src');
    this.sentinel = grepDir(dist, 'redis+sentinel');
    const write = (minReplicas?: number) =>
      writeFileSync(this.configFile, hubConfigYaml({ iizuka: this.a('iizuka'), icasework: this.a('icw'), peerPort: PEER_API_PORT, reportsPort: PEER_REPORTS_PORT, minReplicas, icaseworkRatePerSecond: SETTINGS.icwRate, concurrency: 4 }));
    write(1);
    try {
      execFileSync(process.execPath, ['dist/src/cli/main.js', 'validate', this.configFile], { cwd: ROOT, env: { ...process.env, ...this.secrets }, stdio: ['ignore', 'pipe', 'pipe'] });
      this.minReplicas = true;
    } catch {
      this.minReplicas = false;
      write(undefined);
      execFileSync(process.execPath, ['dist/src/cli/main.js', 'validate', this.configFile], { cwd: ROOT, env: { ...process.env, ...this.secrets }, stdio: ['ignore', 'pipe', 'pipe'] });
    }
    say(`  this build: redis+sentinel:// ${this.sentinel ? 'supported' : 'NOT supported (hubs use the primary\'s address; the failover scenario is skipped)'}; hub.redis.minReplicas ${this.minReplicas ? 'supported (set to 1)' : 'NOT supported (left out of the config)'}`);
    if (!this.sentinel) this.notes.push('This build does not accept `redis+sentinel://` URLs: the hubs were given the primary\'s address and the failover scenario did not run.');
    if (!this.minReplicas) this.notes.push('This build refuses `hub.redis.minReplicas`: intake acknowledged without waiting for the replica.');
  }

  redisUrl(): string {
    return this.sentinel ? this.hosts.sentinelUrl() : `redis://${this.a(this.hosts.currentMaster() ?? 'redis1')}:6379`;
  }

  // ------------------------------------------------------------ hosts

  async startRedisTier(): Promise<void> {
    await this.hosts.startRedis('redis1');
    await this.hosts.startRedis('redis2', this.a('redis1'));
    await until('the replica to sync', 30000, () => (this.hosts.redisCli('redis2', 6379, ['INFO', 'replication']).includes('master_link_status:up') ? true : undefined));
    await this.hosts.startSentinels('redis1');
  }

  async startPeers(): Promise<void> {
    const node = process.execPath;
    this.hosts.start('iizuka', 'peer-iizuka', node, ['dist/cluster/peer-host.js', 'etd', this.a('iizuka'), this.secrets.IIZUKA_API_KEY]);
    this.hosts.start('icw', 'peer-icw', node, ['dist/cluster/peer-host.js', 'icasework', this.a('icw'), this.secrets.ICW_KEY, this.secrets.ICW_SECRET]);
    for (const h of ['iizuka', 'icw']) await until(`peer ${h}`, 30000, async () => ((await getJson<PeerState>(this.a(h), PEER_CONTROL_PORT, '/state')).status === 200 ? true : undefined));
  }

  async stopPeers(): Promise<void> {
    await this.hosts.stopAll(['peer-'], 5000);
  }

  async setPeerDelay(ms: number): Promise<void> {
    for (const h of ['iizuka', 'icw']) {
      if (this.delayBy === 'netem') this.hosts.netem(h, ms);
      else await postEmpty(this.a(h), PEER_CONTROL_PORT, `/delay?ms=${ms}`);
    }
  }

  async peerStates(): Promise<{ etd: PeerState; icw: PeerState }> {
    const [etd, icw] = await Promise.all([getJson<PeerState>(this.a('iizuka'), PEER_CONTROL_PORT, '/state', {}, 15000), getJson<PeerState>(this.a('icw'), PEER_CONTROL_PORT, '/state', {}, 15000)]);
    return { etd: etd.body, icw: icw.body };
  }

  startHub(role: 'api' | 'worker', host: string, prefix: string, redisUrl = this.redisUrl()): void {
    this.hosts.start(host, `hub-${host}`, process.execPath, ['dist/src/cli/main.js', role], {
      ...this.secrets,
      CASEWAY_CONFIG: this.configFile,
      REDIS_URL: redisUrl,
      PORT: String(HUB_PORT),
      HOST: '0.0.0.0',
      CASEWAY_PREFIX: prefix,
      CASEWAY_SANDBOX: 'false',
      LOG_LEVEL: 'warn',
      HOSTNAME: host,
      CASEWAY_ROLE: role,
    });
  }

  async hubUp(host: string): Promise<void> {
    const key = `hub-${host}`;
    await until(`the hub on ${host}`, 60000, () => {
      if (!this.hosts.get(key)) throw new Error(`the hub on ${host} exited: ${this.hosts.logText(key).split('\n').slice(-5).join(' | ')}`);
      return this.hosts.logText(key).includes('Caseway is running') ? true : undefined;
    }).catch((err: unknown) => {
      const log = this.hosts.logText(key).split('\n').slice(-8).join('\n    ');
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n    ${log}`);
    });
  }

  async startWorker(host: string, prefix: string, redisDelay = false): Promise<void> {
    let url = this.redisUrl();
    if (redisDelay) {
      if (this.delayBy === 'netem') {
        this.hosts.netem(host, SETTINGS.redisDelayMs);
      } else {
        // The worker reaches the current primary through a delay proxy on its own host.
        const master = this.hosts.currentMaster() ?? 'redis1';
        this.hosts.start(host, `proxy-${host}`, process.execPath, ['dist/cluster/delay-proxy.js', '127.0.0.1:6390', `${this.a(master)}:6379`, String(SETTINGS.redisDelayMs)]);
        await until(`delay proxy on ${host}`, 10000, () => (this.hosts.logText(`proxy-${host}`).includes('delay-proxy') ? true : undefined));
        url = 'redis://127.0.0.1:6390';
      }
    }
    this.startHub('worker', host, prefix, url);
    await this.hubUp(host);
  }

  pending(prefix: string): number {
    const master = this.hosts.currentMaster() ?? 'redis1';
    return Number(this.hosts.redisCli(master, 6379, ['EVAL', PENDING_SCRIPT, '0', `${prefix}*`]).replace(/[^0-9]/g, ''));
  }

  async deadLetters(): Promise<number | string> {
    for (const h of ['api1', 'api2']) {
      try {
        const r = await getJson<{ deadLetters: unknown[] }>(this.a(h), HUB_PORT, '/api/dead-letters', { Authorization: `Bearer ${this.secrets.CASEWAY_API_TOKEN}` });
        if (r.status === 200) return r.body.deadLetters.length;
      } catch {
        // the other api host
      }
    }
    return '?';
  }

  async readinessRoles(): Promise<string> {
    try {
      const r = await getJson<unknown>(this.a('api1'), HUB_PORT, '/readyz');
      const roles = rolesIn(r.body);
      const failover = (r.body as { redisRole?: { failover?: string } } | undefined)?.redisRole?.failover;
      return roles.length ? `${[...new Set(roles)].join('/')}${failover ? `, failover ${failover}` : ''}` : 'not reported';
    } catch {
      return '?';
    }
  }

  async stopHubs(): Promise<void> {
    await this.hosts.stopAll(['hub-'], 40000);
    await this.hosts.stopAll(['proxy-'], 5000);
    for (const w of ['wrk1', 'wrk2', 'wrk3']) if (this.delayBy === 'netem') this.hosts.netem(w, 0);
  }

  // ------------------------------------------------------------ scenarios

  scenarios(): Scenario[] {
    const cut = (host: string) => async () => {
      this.bed.link(host, 'down');
      say(`    ${host} cut off`);
      await sleep(SETTINGS.cutS * 1000);
      this.bed.link(host, 'up');
      say(`    ${host} back`);
      return { endedAt: Date.now() };
    };
    return [
      { name: 'baseline', title: 'no fault (reference)', workers: ['wrk1', 'wrk2', 'wrk3'], recoverFrom: 'last post' },
      { name: 'worker-cut', title: `worker host wrk1 cut off ${SETTINGS.cutS} s mid-delivery`, workers: ['wrk1', 'wrk2', 'wrk3'], fault: { at: 0.3, run: cut('wrk1') }, recoverFrom: 'fault end' },
      { name: 'api-cut', title: `api host api1 cut off ${SETTINGS.cutS} s mid-intake`, workers: ['wrk1', 'wrk2', 'wrk3'], fault: { at: 0.3, run: cut('api1') }, recoverFrom: 'fault end' },
      { name: 'redis-delay', title: `${SETTINGS.redisDelayMs} ms between workers and Redis (${this.delayBy === 'netem' ? 'tc netem on the worker links' : 'TCP delay proxy on each worker host'})`, workers: ['wrk1', 'wrk2', 'wrk3'], redisDelay: true, recoverFrom: 'last post' },
      {
        name: 'worker-added',
        title: 'wrk3 added under load (2 -> 3 worker hosts)',
        workers: ['wrk1', 'wrk2'],
        fault: {
          at: 0.5,
          run: async () => {
            say('    adding wrk3');
            await this.startWorker('wrk3', this.prefix);
            return { endedAt: Date.now() };
          },
        },
        recoverFrom: 'last post',
      },
      {
        name: 'redis-failover',
        title: `Redis primary killed, Sentinel promotes the replica${this.minReplicas ? ' (minReplicas: 1)' : ''}`,
        workers: ['wrk1', 'wrk2', 'wrk3'],
        unsupported: () => (this.sentinel ? undefined : 'not supported by this build (no redis+sentinel:// URLs)'),
        fault: {
          at: 0.3,
          run: async () => {
            const old = this.hosts.currentMaster() ?? 'redis1';
            const started = Date.now();
            await this.hosts.kill(old);
            say(`    killed the primary on ${old}`);
            const promoted = await until('Sentinel to promote the replica', 90000, () => {
              const now = this.hosts.currentMaster();
              return now && now !== old ? now : undefined;
            }, 250);
            const switchS = (Date.now() - started) / 1000;
            say(`    ${promoted} promoted after ${switchS.toFixed(1)} s; restarting ${old} as its replica`);
            await this.hosts.startRedis(old, this.a(promoted));
            await until(`${old} to sync from ${promoted}`, 60000, () => (this.hosts.redisCli(old, 6379, ['INFO', 'replication']).includes('master_link_status:up') ? true : undefined), 500);
            const rejoinS = (Date.now() - started) / 1000;
            return { endedAt: started, note: `Sentinel promoted ${promoted} ${switchS.toFixed(1)} s after the kill; ${old} back as its replica after ${rejoinS.toFixed(1)} s` };
          },
        },
        recoverFrom: 'fault start',
        bedOnly: true,
      },
    ];
  }

  private prefix = '';

  async runScenario(s: Scenario, index: number): Promise<void> {
    const row: ScenarioRow = { name: s.name, title: s.title, cases: SETTINGS.cases };
    this.rows.push(row);
    const why = s.unsupported?.();
    if (why) {
      row.skipped = why;
      say(`  ${s.name}: ${why}`);
      if (s.bedOnly && s.fault) {
        try {
          const bed = await s.fault.run();
          row.skipped = `${why}; the bed's side alone (no hubs): ${bed.note ?? 'done'}`;
        } catch (err) {
          row.skipped = `${why}; the bed's side alone failed: ${err instanceof Error ? err.message : String(err)}`;
        }
        say(`    ${row.skipped}`);
      }
      return;
    }
    say(`  ${s.name}: ${s.title}`);
    this.prefix = `${this.bed.runId}-${index}-${s.name}:`;
    const tag = `${this.bed.runId}.${s.name}`;
    try {
      await this.startPeers();
      this.startHub('api', 'api1', this.prefix);
      this.startHub('api', 'api2', this.prefix);
      await Promise.all([this.hubUp('api1'), this.hubUp('api2')]);
      for (const w of s.workers) await this.startWorker(w, this.prefix, s.redisDelay);
      const apps = applications(tag, SETTINGS.cases);
      let faultPromise: Promise<{ endedAt: number; note?: string }> | undefined;
      let faultStartedAt = 0;
      const at = s.fault ? Math.max(1, Math.floor(SETTINGS.cases * s.fault.at)) : Infinity;
      const load: LoadResult = await postAll(apps, {
        hosts: [this.a('api1'), this.a('api2')],
        port: HUB_PORT,
        apiKey: this.secrets.ETD_FORM_API_KEY,
        concurrency: SETTINGS.concurrency,
        onAck: (n) => {
          if (n >= at && !faultPromise && s.fault) {
            faultStartedAt = Date.now();
            faultPromise = s.fault.run();
          }
        },
      });
      const lastPostAt = Date.now();
      say(`    posted ${apps.length} in ${load.seconds.toFixed(1)} s: ${load.acknowledged.size} acknowledged${Object.keys(load.answers).length ? `, other answers ${JSON.stringify(load.answers)}` : ''}`);
      if (load.firstRefusal) say(`    refused: ${load.firstRefusal}`);
      const fault = faultPromise ? await faultPromise : undefined;
      const from = s.recoverFrom === 'fault end' ? (fault?.endedAt ?? lastPostAt) : s.recoverFrom === 'fault start' ? faultStartedAt || lastPostAt : lastPostAt;

      // Delivered: every acknowledged application is at both peers; settled: no job left in any queue.
      let deliveredAt: number | undefined;
      let states = await this.peerStates();
      const missing = (st: PeerState) => [...load.acknowledged].filter((m) => !st.held[m]).length;
      const deadline = Date.now() + SETTINGS.drainS * 1000;
      for (;;) {
        states = await this.peerStates();
        const gone = missing(states.etd) + missing(states.icw);
        if (gone === 0 && deliveredAt === undefined) deliveredAt = Date.now();
        let pending = -1;
        try {
          pending = this.pending(this.prefix);
        } catch {
          // Redis between primaries: ask again
        }
        if (gone === 0 && pending === 0) break;
        if (Date.now() > deadline) {
          row.note = `still ${gone} missing, ${pending} jobs pending after ${SETTINGS.drainS} s`;
          break;
        }
        await sleep(1000);
      }
      states = await this.peerStates();
      row.posted = apps.length;
      row.acknowledged = load.acknowledged.size;
      row.unacknowledged = load.unacknowledged;
      row.answers = load.answers;
      const etdMissing = [...load.acknowledged].filter((m) => !states.etd.held[m]);
      const icwMissing = [...load.acknowledged].filter((m) => !states.icw.held[m]);
      row.deliveredIizuka = load.acknowledged.size - etdMissing.length;
      row.deliveredIcasework = load.acknowledged.size - icwMissing.length;
      row.lost = new Set([...etdMissing, ...icwMissing]).size;
      row.dupIizuka = states.etd.extraAccepted;
      row.resentIizuka = states.etd.repeatedSameKey ?? 0;
      row.dupIcasework = states.icw.extraAccepted;
      row.icaseworkWithoutExternalId = states.icw.withoutExternalId ?? 0;
      row.deadLetters = await this.deadLetters();
      row.recoverS = deliveredAt === undefined ? undefined : Math.max(0, (deliveredAt - from) / 1000);
      row.recoverFrom = s.recoverFrom;
      row.readiness = await this.readinessRoles();
      if (fault?.note) row.note = [fault.note, row.note].filter(Boolean).join('; ');
      say(`    delivered IIZUKA ${row.deliveredIizuka}, iCasework ${row.deliveredIcasework}; lost ${row.lost}; duplicates IIZUKA ${row.dupIizuka} (re-sent with the same key ${row.resentIizuka}), iCasework ${row.dupIcasework}; dead letters ${row.deadLetters}; recovered in ${row.recoverS?.toFixed(1) ?? '-'} s`);
    } catch (err) {
      row.error = err instanceof Error ? err.message : String(err);
      say(`    failed: ${row.error}`);
    } finally {
      await this.stopHubs();
      await this.stopPeers();
    }
  }

  // ------------------------------------------------------------ throughput scaling

  async runScaling(): Promise<void> {
    say(`  scaling: delivered cases/s with 1, 2, 3 worker hosts, every peer call +${SETTINGS.peerDelayMs} ms`);
    for (const k of [1, 2, 3]) {
      const row: ScalingRow = { workers: k, cases: SETTINGS.cases };
      this.scaling.push(row);
      this.prefix = `${this.bed.runId}-scale${k}:`;
      try {
        await this.startPeers();
        await this.setPeerDelay(SETTINGS.peerDelayMs);
        this.startHub('api', 'api1', this.prefix);
        this.startHub('api', 'api2', this.prefix);
        await Promise.all([this.hubUp('api1'), this.hubUp('api2')]);
        // Intake first, with no worker running: the queue holds every case, then k workers start at once.
        const apps = applications(`${this.bed.runId}.scale${k}`, SETTINGS.cases);
        const load = await postAll(apps, { hosts: [this.a('api1'), this.a('api2')], port: HUB_PORT, apiKey: this.secrets.ETD_FORM_API_KEY, concurrency: SETTINGS.concurrency });
        row.acknowledged = load.acknowledged.size;
        await sleep(2500); // Redis's figure covers its last 1.6 s: let the intake burst pass out of it
        row.redisOpsIdle = this.redisOps();
        const workers = ['wrk1', 'wrk2', 'wrk3'].slice(0, k);
        await Promise.all(workers.map((w) => this.startWorker(w, this.prefix)));
        const n = load.acknowledged.size;
        const lo = Math.max(1, Math.floor(n * 0.1));
        const hi = Math.max(lo + 1, Math.floor(n * 0.9));
        const marks: Record<'etd' | 'icw' | 'both', { lo?: number; hi?: number }> = { etd: {}, icw: {}, both: {} };
        let peakOps = 0;
        const deadline = Date.now() + SETTINGS.drainS * 1000;
        for (;;) {
          const st = await this.peerStates();
          const got = {
            etd: [...load.acknowledged].filter((m) => st.etd.held[m]).length,
            icw: [...load.acknowledged].filter((m) => st.icw.held[m]).length,
            both: [...load.acknowledged].filter((m) => st.etd.held[m] && st.icw.held[m]).length,
          };
          const now = Date.now();
          for (const key of ['etd', 'icw', 'both'] as const) {
            if (got[key] >= lo && marks[key].lo === undefined) marks[key].lo = now;
            if (got[key] >= hi && marks[key].hi === undefined) marks[key].hi = now;
          }
          peakOps = Math.max(peakOps, this.redisOps() ?? 0);
          if (got.both >= n || now > deadline) {
            row.lost = n - got.both;
            row.dupIizuka = st.etd.extraAccepted;
            row.dupIcasework = st.icw.extraAccepted;
            break;
          }
          await sleep(250);
        }
        const rate = (m: { lo?: number; hi?: number }) => (m.lo !== undefined && m.hi !== undefined && m.hi > m.lo ? (hi - lo) / ((m.hi - m.lo) / 1000) : undefined);
        row.iizukaPerS = rate(marks.etd);
        row.icaseworkPerS = rate(marks.icw);
        row.casesPerS = rate(marks.both);
        row.redisOpsPeak = peakOps;
        row.load = os.loadavg()[0];
        say(`    ${k} worker host(s): ${row.casesPerS?.toFixed(1) ?? '-'} cases/s (IIZUKA ${row.iizukaPerS?.toFixed(1) ?? '-'}/s, iCasework ${row.icaseworkPerS?.toFixed(1) ?? '-'}/s), Redis peak ${peakOps} ops/s`);
      } catch (err) {
        row.error = err instanceof Error ? err.message : String(err);
        say(`    failed: ${row.error}`);
      } finally {
        await this.stopHubs();
        await this.setPeerDelay(0).catch(() => undefined);
        await this.stopPeers();
      }
    }
  }

  /** Redis's own figure of commands per second (its last few seconds), on the current primary. */
  redisOps(): number | undefined {
    try {
      const info = this.hosts.redisCli(this.hosts.currentMaster() ?? 'redis1', 6379, ['INFO', 'stats']);
      return Number(/instantaneous_ops_per_sec:(\d+)/.exec(info)?.[1] ?? 0);
    } catch {
      return undefined;
    }
  }

  async run(): Promise<number> {
    const started = new Date();
    say('  starting Redis primary, replica and three Sentinels');
    await this.startRedisTier();
    this.detectFeatures();
    const all = this.scenarios();
    const chosen = SETTINGS.only.length ? all.filter((s) => SETTINGS.only.includes(s.name)) : all;
    let i = 0;
    for (const s of chosen) await this.runScenario(s, i++);
    if (SETTINGS.scaling) await this.runScaling();
    const report = renderReport({
      started,
      finished: new Date(),
      command: `CLUSTER_CASES=${SETTINGS.cases} npm run cluster:test${SETTINGS.only.length ? ` (CLUSTER_SCENARIOS=${SETTINGS.only.join(',')})` : ''}`,
      machine: machine(),
      settings: SETTINGS,
      features: { sentinel: this.sentinel, minReplicas: this.minReplicas, delayBy: this.delayBy, ...(process.env.CLUSTER_NO_NETEM ? { noNetem: process.env.CLUSTER_NO_NETEM } : {}) },
      rows: this.rows,
      scaling: this.scaling,
      notes: this.notes,
    });
    say('');
    say(report.table);
    if (SETTINGS.writeDocs) {
      writeFileSync(path.join(ROOT, 'docs', 'cluster-latest.md'), report.markdown);
      say('written to docs/cluster-latest.md');
    }
    await this.hosts.killEverything();
    const bad = this.rows.some((r) => !r.skipped && (r.error || (r.lost ?? 0) > 0 || (r.dupIizuka ?? 0) + (r.dupIcasework ?? 0) > 0 || r.note?.includes('missing')));
    return bad ? 1 : 0;
  }
}

function grepDir(dir: string, needle: string): boolean {
  if (!existsSync(dir)) return false;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (grepDir(full, needle)) return true;
    } else if (entry.name.endsWith('.js') && readFileSync(full, 'utf8').includes(needle)) {
      return true;
    }
  }
  return false;
}

function machine(): string {
  const redis = (() => {
    try {
      return execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=([0-9.]+)/)?.[1] ?? '?';
    } catch {
      return '?';
    }
  })();
  return `${os.hostname()}: ${os.type()} ${os.release()}, ${os.cpus().length} CPU (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB; Node ${process.versions.node}, Redis ${redis}; load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`;
}

async function inner(runId: string, tmp: string, delayBy: 'netem' | 'proxy'): Promise<number> {
  const driver = new Driver(new Bed(runId), tmp, delayBy);
  const stop = () => void driver.hosts.killEverything().then(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    return await driver.run();
  } catch (err) {
    say(`cluster:test: the bed failed: ${err instanceof Error ? err.message : String(err)}`);
    await driver.hosts.killEverything();
    return 1;
  }
}

const args = process.argv.slice(2);
const run = args[0] === '--inside' ? inner(args[1] ?? '', args[2] ?? '', args[3] === 'netem' ? 'netem' : 'proxy') : outer();
run.then(
  (code) => process.exit(code),
  (err: unknown) => {
    say(`cluster:test: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
