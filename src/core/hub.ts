/**
 * The hub: wires config, adapters, Redis, intake, delivery workers, pollers and (for the api role) the HTTP server.
 * Roles let workers scale out on other machines that share one Redis: `start` = api + workers.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import path from 'node:path';
import type { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AdapterContext, SandboxHandle, WebhookSourceDefinition } from './adapter';
import { compileOnce, createAjv, describeAjvErrors } from './config/ajv';
import type { LoadedConfig } from './config/types';
import { createAdapterContext } from './context';
import { DeadLetters } from './engine/dead-letters';
import { startDeliveryWorker } from './engine/delivery';
import { Intake } from './engine/intake';
import { PollRunner, schedulePolls, startPollWorker } from './engine/poller';
import { CasewayError, ConfigError, ConfigErrors, safeMessage } from './errors';
import { createLogger, type Logger } from './logger';
import { noopMetrics, type HubMetrics } from './metrics';
import { closeSettled, DEFAULT_DELIVERY, deliveryQueueName, migrateLegacyPausedLists, POLL_QUEUE, QueueSet } from './queues';
import { ConnectionWatch, connectRedis, deleteKeysWithPrefix, queueConnection, watchRedis, workerConnection } from './redis';
import type { AdapterRegistry } from './registry';
import type { ConnectionRuntime, HubRuntime } from './runtime';
import { CaseStore } from './store/case-store';
import { checkDataKey } from './store/data-key-check';
import { Keys } from './store/keys';
import { PayloadCipher } from './store/payload-cipher';
import { StatsStore } from './store/stats-store';
import { StampWriter } from './store/stamps';
import { TraceStore } from './store/trace-store';
import { ViewStore } from './store/view-store';
import { EchoStore } from './store/echo-store';
import { isRecord } from './util';

export interface HubRoles {
  api: boolean;
  workers: boolean;
}

/** The process's role as logs, metrics and health name it: the CLI command that runs it (`caseway api|worker|start`). */
export type RoleName = 'api' | 'worker' | 'start';

export function roleName(roles: HubRoles): RoleName {
  return roles.api && roles.workers ? 'start' : roles.api ? 'api' : 'worker';
}

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * An HTTP port already taken for the hub (src/http/server.ts makes one). The hub never opens a port itself: whoever
 * composes it (the CLI) listens first, so a second start on a taken port stops before it touches Redis. The listener
 * answers 503 until `serve` hands it the API; the hub closes it on stop, or when its start fails.
 */
export interface HubListener {
  readonly url: string;
  readonly port: number;
  serve(handler: RequestHandler): void;
  /** Stops accepting and closes idle connections; resolves once every open request is answered. */
  close(): Promise<void>;
  /** Drops every connection at once (shutdown past its deadline). */
  closeAllConnections(): void;
}

export interface HubOptions {
  config: LoadedConfig;
  registry: AdapterRegistry;
  redisUrl: string;
  roles: HubRoles;
  /** Redis key prefix (default cw:); the CLI resolves --prefix / CASEWAY_PREFIX, tests use a unique one. */
  prefix?: string;
  /** The HTTP port, taken before the hub starts (see HubListener). */
  listener?: HubListener;
  /** Builds the request handler once the hub runs (the CLI passes src/http's app with the ops plugins). */
  api?: (hub: Hub) => RequestHandler | Promise<RequestHandler>;
  /** Start sandbox peers for connections marked `sandbox: true` (default true). */
  sandbox?: boolean;
  /** Folder for local state (dev data key, sandbox files). */
  workDir?: string;
  dataKey?: string;
  log?: Logger;
  metrics?: HubMetrics;
  /**
   * Delete every key under the prefix before starting. For sandbox runs: the sandbox peers start empty, so the hub's
   * memory of them (cross-references, seen events, cursors) must too, or ids would point at cases that no longer exist.
   */
  resetState?: boolean;
  /** Admin tools (dead letters, replay): open stores and queues only; no sandboxes, settings not re-validated. */
  adminOnly?: boolean;
  /**
   * Hold `<prefix>instance-lock` while running, taken after the HTTP port and before any reset: a second hub for the
   * same prefix refuses to start (InstanceLockedError) instead of touching the first one's state. For sandbox runs.
   */
  instanceLock?: boolean;
}

/** Default for hub.shutdownTimeoutMs. */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 30_000;
const INSTANCE_LOCK_TTL_MS = 30_000;

/** Another running hub holds this prefix; nothing of its state was touched. */
export class InstanceLockedError extends CasewayError {
  constructor(readonly prefix: string, readonly holder: string) {
    super(`another hub (${holder}) is running on Redis prefix "${prefix}"; its state was left untouched`, { code: 'INSTANCE_LOCKED', retryable: false, context: { prefix } });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RENEW_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/** Sandbox settings first, the connection's own settings on top (deeply, so one nested field can be overridden). */
export function mergeSettings(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isRecord(value) && isRecord(out[key]) ? mergeSettings(out[key] as Record<string, unknown>, value) : value;
  }
  return out;
}

export class Hub {
  readonly log: Logger;
  runtime!: HubRuntime;
  intake!: Intake;
  deadLetters!: DeadLetters;
  polls!: PollRunner;
  readonly sandboxes = new Map<string, SandboxHandle>();
  private workers: Worker[] = [];
  private listener?: HubListener;
  private stopping?: Promise<void>;
  private readonly watches = new Map<string, ConnectionWatch>();
  private lock?: { key: string; value: string; timer: NodeJS.Timeout };

  constructor(readonly options: HubOptions) {
    this.log = options.log ?? createLogger();
    this.listener = options.listener;
  }

  get config(): LoadedConfig {
    return this.options.config;
  }

  get redis(): Redis {
    return this.runtime.redis;
  }

  /** Base URL of the HTTP API once listening. */
  get baseUrl(): string | undefined {
    return this.listener?.url;
  }

  async start(): Promise<this> {
    const { config, roles } = this.options;
    const prefix = this.options.prefix ?? 'cw:';
    let redis: Redis | undefined;
    try {
      redis = watchRedis(await connectRedis(this.options.redisUrl, 'caseway', config.hub?.redis), this.watch('commands'));
      const keys = new Keys(prefix);
      // Then the instance lock: a second hub on the same prefix stops here, before any reset.
      if (this.options.instanceLock) await this.takeInstanceLock(redis, keys);
      if (this.options.resetState) await deleteKeysWithPrefix(redis, prefix, new Set(this.lock ? [this.lock.key] : []));
      const retentionSeconds = (config.hub?.retentionDays ?? 30) * 86400;
      const cipher = new PayloadCipher(this.options.dataKey ?? config.hub?.dataKey ?? this.devDataKey());
      // Before anything is written: a process with another key than the prefix's would seal cases the others cannot open.
      // Admin commands (`caseway dead-letters`, `replay`, …) seal nothing, and must not record a key of their own.
      if (!this.options.adminOnly) await checkDataKey(redis, keys, cipher);
      const connections = await this.startConnections(redis, keys);
      const workerRedis = watchRedis(workerConnection(redis), this.watch('workers'));
      const queueRedis = watchRedis(queueConnection(redis), this.watch('commands'));
      const stamps = new StampWriter(redis);
      this.runtime = {
        config,
        redis,
        workerRedis,
        queueRedis,
        keys,
        cases: new CaseStore(redis, keys, cipher, retentionSeconds, Math.max(retentionSeconds, (config.hub?.referenceRetentionDays ?? 365) * 86400)),
        views: new ViewStore(redis, keys, cipher, retentionSeconds),
        echoes: new EchoStore(redis, keys, cipher, retentionSeconds),
        traces: new TraceStore(redis, keys, retentionSeconds),
        detailHasher: cipher.detailHasher(),
        stats: new StatsStore(redis, keys, retentionSeconds, stamps),
        stamps,
        queues: new QueueSet(queueRedis, keys.queuePrefix, (err) => this.watch('commands').down(err)),
        metrics: this.options.metrics ?? noopMetrics,
        log: this.log,
        connections,
        retentionSeconds,
      };
      // Before any worker takes a job or the console counts one: a Redis that ran BullMQ 5 may hold a paused queue's jobs
      // in the list BullMQ 6 no longer reads (see migrateLegacyPausedLists).
      const queueNames = [...new Set(config.routes.flatMap((r) => r.to.map((t) => deliveryQueueName(t.connection)))), POLL_QUEUE];
      for (const [queue, moved] of await migrateLegacyPausedLists(redis, keys.queuePrefix, queueNames)) {
        this.log.info({ queue, moved }, 'moved the job ids of a BullMQ 5 paused list into the wait list');
      }
      this.intake = new Intake(this.runtime);
      this.deadLetters = new DeadLetters(this.runtime);
      this.polls = new PollRunner(this.runtime, this.intake);
      if (roles.workers) await this.startWorkers();
      if (this.listener && this.options.api) this.listener.serve(await this.options.api(this));
    } catch (err) {
      await this.abortStart(redis);
      throw err;
    }
    this.log.info({ roles, connections: [...this.runtime.connections.keys()], routes: config.routes.map((r) => r.name) }, 'hub started');
    return this;
  }

  /** The hub's Redis connections that are down now (commands, workers), as their watches last saw them. */
  redisConnectionsDown(): string[] {
    return [...this.watches.values()].filter((w) => w.isDown).map((w) => w.name);
  }

  /** One watch per connection role; errors of BullMQ queues and workers on a connection feed the same state. */
  private watch(name: string): ConnectionWatch {
    let watch = this.watches.get(name);
    if (!watch) {
      watch = new ConnectionWatch(this.log, name);
      this.watches.set(name, watch);
    }
    return watch;
  }

  private async takeInstanceLock(redis: Redis, keys: Keys): Promise<void> {
    const key = keys.instanceLock();
    const value = JSON.stringify({ host: hostname(), pid: process.pid, port: this.portInUse(), since: new Date().toISOString() });
    let taken = await redis.set(key, value, 'PX', INSTANCE_LOCK_TTL_MS, 'NX');
    if (taken !== 'OK') {
      const holder = (await redis.get(key)) ?? '{}';
      let h: { host?: string; pid?: number; port?: number } = {};
      try {
        h = JSON.parse(holder) as typeof h;
      } catch {
        // an unreadable holder is still a holder
      }
      // A hub on this machine that was killed outright left its lock behind: take it over at once.
      if (h.host === hostname() && typeof h.pid === 'number' && !processAlive(h.pid)) {
        await redis.eval(RELEASE_LOCK, 1, key, holder);
        taken = await redis.set(key, value, 'PX', INSTANCE_LOCK_TTL_MS, 'NX');
      }
      if (taken !== 'OK') throw new InstanceLockedError(keys.prefix, `pid ${h.pid ?? '?'} on ${h.host ?? '?'}${h.port ? `, port ${h.port}` : ''}`);
    }
    const timer = setInterval(() => {
      redis.eval(RENEW_LOCK, 1, key, value, INSTANCE_LOCK_TTL_MS).then(
        (renewed) => {
          if (renewed !== 1) this.log.error({ prefix: keys.prefix }, 'instance lock lost: another hub may have taken this prefix');
        },
        () => undefined, // Redis down: the connection watch says so; the lock is renewed once it is back
      );
    }, INSTANCE_LOCK_TTL_MS / 3);
    timer.unref();
    this.lock = { key, value, timer };
  }

  private async releaseInstanceLock(redis: Redis): Promise<void> {
    if (!this.lock) return;
    clearInterval(this.lock.timer);
    const { key, value } = this.lock;
    this.lock = undefined;
    await redis.eval(RELEASE_LOCK, 1, key, value).catch(() => undefined);
  }

  private portInUse(): number | undefined {
    return this.listener?.port;
  }

  /** Undoes a start that failed half-way: frees the port and the lock and drops the connections. */
  private async abortStart(redis: Redis | undefined): Promise<void> {
    for (const w of this.workers) await w.close(true).catch(() => undefined);
    this.workers = [];
    if (this.runtime) await this.runtime.queues.close(true).catch(() => undefined);
    await this.stopSandboxes();
    if (redis) {
      await this.releaseInstanceLock(redis);
      redis.disconnect();
    }
    this.runtime?.workerRedis.disconnect();
    this.runtime?.queueRedis.disconnect();
    if (this.listener) {
      const listener = this.listener;
      this.listener = undefined;
      await listener.close();
    }
  }

  private devDataKey(): string {
    const fromEnv = process.env.CASEWAY_DATA_KEY;
    if (fromEnv) return fromEnv;
    const file = path.join(this.workDir(), 'data-key');
    if (existsSync(file)) return readFileSync(file, 'utf8').trim();
    mkdirSync(path.dirname(file), { recursive: true });
    const key = PayloadCipher.generateKey();
    writeFileSync(file, `${key}\n`, { mode: 0o600 });
    this.log.warn({ file }, 'no data key configured (CASEWAY_DATA_KEY): generated a local one for development');
    return key;
  }

  private workDir(): string {
    return this.options.workDir ?? path.resolve('.caseway');
  }

  private async startConnections(redis: Redis, keys: Keys): Promise<Map<string, ConnectionRuntime>> {
    const { config, registry } = this.options;
    const ajv = createAjv();
    const out = new Map<string, ConnectionRuntime>();
    const errors: ConfigError[] = [];
    for (const [name, conn] of Object.entries(config.connections)) {
      const adapter = registry.get(conn.adapter);
      if (!adapter) throw new ConfigErrors([new ConfigError(config.file, `/connections/${name}/adapter`, `unknown adapter "${conn.adapter}"`)]);
      let settings = conn.settings ?? {};
      if (conn.sandbox && this.options.sandbox !== false && !this.options.adminOnly && adapter.sandbox) {
        const workDir = path.join(this.workDir(), 'sandbox', name);
        mkdirSync(workDir, { recursive: true });
        const handle = await adapter.sandbox.start({ host: '127.0.0.1', port: 0, log: this.log.child({ sandbox: name }), settings, workDir });
        this.sandboxes.set(name, handle);
        settings = mergeSettings(handle.settings, settings);
      }
      const validate = compileOnce(ajv, adapter.settingsSchema);
      if (!this.options.adminOnly && !validate(settings)) {
        for (const e of describeAjvErrors(validate.errors, `/connections/${name}/settings`)) errors.push(new ConfigError(config.file, e.path, e.reason));
        continue;
      }
      const ctx: AdapterContext<unknown> = createAdapterContext({
        connection: { name, adapter: adapter.name, settings, configDir: path.dirname(path.resolve(config.file)) },
        redis,
        prefix: keys.prefix,
        log: this.log,
        metrics: { peerResponse: (operation, status, seconds) => (this.options.metrics ?? noopMetrics).peerResponse(name, operation, status, seconds) },
      });
      const delivery = { ...DEFAULT_DELIVERY, ...config.hub?.defaults, ...conn.delivery };
      out.set(name, { name, config: conn, adapter, ctx, delivery });
    }
    if (errors.length) {
      throw new ConfigErrors(errors);
    }
    return out;
  }

  private async startWorkers(): Promise<void> {
    const targets = new Set(this.config.routes.flatMap((r) => r.to.map((t) => t.connection)));
    for (const name of targets) this.workers.push(startDeliveryWorker(this.runtime, this.runtime.connections.get(name)!));
    const polls = await schedulePolls(this.runtime);
    this.workers.push(startPollWorker(this.runtime, this.polls));
    // Worker errors are almost always Redis outages: one line per state change, never a raw trace per retry.
    for (const w of this.workers) w.on('error', (err) => this.watch('workers').down(err));
    this.log.info({ deliveryQueues: [...targets], polls: polls.map((p) => `${p.connection}.${p.source}`) }, 'workers started');
  }

  /**
   * Mounts each webhook source fed into an enabled route, once. `onIntakeError` sees every intake failure before the
   * adapter does (the HTTP layer answers retryable ones 503 there, for every webhook adapter alike).
   */
  mountWebhooks(router: import('express').Router, onIntakeError: (err: unknown) => boolean = () => false): string[] {
    const mounted = new Set<string>();
    for (const route of this.config.routes) {
      if (route.enabled === false) continue;
      const key = `${route.from.connection}.${route.from.source}`;
      if (mounted.has(key)) continue;
      const conn = this.runtime.connections.get(route.from.connection)!;
      const def = conn.adapter.sources[route.from.source];
      if (def?.kind !== 'webhook') continue;
      mounted.add(key);
      const options = conn.config.sources?.[route.from.source]?.options ?? {};
      const emit = async (events: Parameters<Intake['ingest']>[2]) => {
        try {
          return await this.intake.ingest(conn.name, route.from.source, events);
        } catch (err) {
          // Answered (503) by the HTTP layer when retryable; the adapter still sees the error, its own answer is skipped.
          if (onIntakeError(err)) this.log.warn({ connection: conn.name, source: route.from.source, error: safeMessage(err) }, 'intake failed, answered 503');
          throw err;
        }
      };
      (def as WebhookSourceDefinition<unknown>).mount(router, conn.ctx, emit, options);
    }
    return [...mounted];
  }

  /**
   * Graceful: stop accepting, let in-flight jobs finish, then close everything. Bounded by hub.shutdownTimeoutMs
   * (default 30 s) whether or not Redis answers: past it, workers, queues and connections are closed by force.
   * Safe to call twice.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    const limitMs = this.config.hub?.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
    const deadline = Date.now() + limitMs;
    let forced = false;
    /** Waits for `work` until the deadline; false when it had to give up. */
    const within = async (work: Promise<unknown>, what: string): Promise<boolean> => {
      let timer: NodeJS.Timeout | undefined;
      const left = Math.max(0, deadline - Date.now());
      const done = await Promise.race([
        work.then(() => true, (err: unknown) => {
          this.log.warn({ step: what, error: safeMessage(err) }, 'shutdown step failed');
          return true;
        }),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), left))),
      ]);
      clearTimeout(timer);
      if (!done && !forced) {
        forced = true;
        this.log.warn({ step: what, shutdownTimeoutMs: limitMs }, 'shutdown took too long: closing the rest by force');
      }
      return done;
    };
    /** Forced steps get a short grace each, so a dead Redis cannot hold the process. */
    const briefly = (work: Promise<unknown>) => Promise.race([work.catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    if (this.listener) {
      const listener = this.listener;
      if (!(await within(listener.close(), 'http'))) listener.closeAllConnections();
    }
    if (!(await within(Promise.all(this.workers.map((w) => closeSettled(w))), 'workers'))) await briefly(Promise.all(this.workers.map((w) => w.close(true))));
    if (this.runtime) {
      if (forced || !(await within(this.runtime.queues.close(), 'queues'))) await briefly(this.runtime.queues.close(true));
      for (const conn of this.runtime.connections.values()) {
        const closing = conn.adapter.close?.(conn.ctx) ?? Promise.resolve();
        if (forced) await briefly(closing);
        else await within(closing, `adapter ${conn.name}`);
      }
    }
    if (forced) await briefly(this.stopSandboxes());
    else await within(this.stopSandboxes(), 'sandboxes');
    if (this.runtime) {
      const { redis, workerRedis, queueRedis } = this.runtime;
      // The last lastActivity / lastSuccess stamps held back for their trailing write (workers and intake are done).
      if (forced) await briefly(this.runtime.stamps.close());
      else await within(this.runtime.stamps.close(), 'stamps');
      if (forced) await briefly(this.releaseInstanceLock(redis));
      else await within(this.releaseInstanceLock(redis), 'instance lock');
      for (const conn of [workerRedis, queueRedis, redis]) {
        if (forced || conn.status !== 'ready' || !(await within(conn.quit(), 'redis'))) conn.disconnect();
      }
    }
    this.log.info({ forced }, 'hub stopped');
  }

  private async stopSandboxes(): Promise<void> {
    for (const [name, handle] of this.sandboxes) {
      await handle.stop().catch((err: unknown) => this.log.warn({ sandbox: name, error: safeMessage(err) }, 'sandbox stop failed'));
    }
    this.sandboxes.clear();
  }
}
