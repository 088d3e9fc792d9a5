/**
 * The hub: wires config, adapters, Redis, intake, delivery workers, pollers and (for the api role) the HTTP server.
 * Roles let workers scale out on other machines that share one Redis: `start` = api + workers.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
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
import { ConfigError, ConfigErrors, safeMessage } from './errors';
import { createLogger, type Logger } from './logger';
import { noopMetrics, type HubMetrics } from './metrics';
import { DEFAULT_DELIVERY, QueueSet } from './queues';
import { connectRedis, deleteKeysWithPrefix, workerConnection } from './redis';
import type { AdapterRegistry } from './registry';
import type { ConnectionRuntime, HubRuntime } from './runtime';
import { CaseStore } from './store/case-store';
import { Keys } from './store/keys';
import { PayloadCipher } from './store/payload-cipher';
import { StatsStore } from './store/stats-store';
import { TraceStore } from './store/trace-store';

export interface HubRoles {
  api: boolean;
  workers: boolean;
}

/** Something that adds HTTP endpoints to the hub's API (the ops console, metrics). */
export type HttpPlugin = (app: import('express').Express, hub: Hub) => void | Promise<void>;

export interface HubOptions {
  config: LoadedConfig;
  registry: AdapterRegistry;
  redisUrl: string;
  roles: HubRoles;
  /** Redis key prefix (default cw:); the CLI resolves --prefix / CASEWAY_PREFIX, tests use a unique one. */
  prefix?: string;
  http?: { port: number; host?: string };
  /** Start sandbox peers for connections marked `sandbox: true` (default true). */
  sandbox?: boolean;
  /** Folder for local state (dev data key, sandbox files). */
  workDir?: string;
  dataKey?: string;
  log?: Logger;
  metrics?: HubMetrics;
  httpPlugins?: HttpPlugin[];
  /**
   * Delete every key under the prefix before starting. For sandbox runs: the sandbox peers start empty, so the hub's
   * memory of them (cross-references, seen events, cursors) must too, or ids would point at cases that no longer exist.
   */
  resetState?: boolean;
  /** Admin tools (dead letters, replay): open stores and queues only; no sandboxes, settings not re-validated. */
  adminOnly?: boolean;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sandbox settings first, the connection's own settings on top (deeply, so one nested field can be overridden). */
export function mergeSettings(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    out[key] = isPlainObject(value) && isPlainObject(out[key]) ? mergeSettings(out[key] as Record<string, unknown>, value) : value;
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
  private server?: Server;
  private stopping?: Promise<void>;
  private url?: string;

  constructor(readonly options: HubOptions) {
    this.log = options.log ?? createLogger();
  }

  get config(): LoadedConfig {
    return this.options.config;
  }

  get redis(): Redis {
    return this.runtime.redis;
  }

  /** Base URL of the HTTP API once listening. */
  get baseUrl(): string | undefined {
    return this.url;
  }

  async start(): Promise<this> {
    const { config, roles } = this.options;
    const prefix = this.options.prefix ?? 'cw:';
    const redis = await connectRedis(this.options.redisUrl);
    const keys = new Keys(prefix);
    if (this.options.resetState) await deleteKeysWithPrefix(redis, prefix);
    const retentionSeconds = (config.hub?.retentionDays ?? 30) * 86400;
    const cipher = new PayloadCipher(this.options.dataKey ?? config.hub?.dataKey ?? this.devDataKey());
    const connections = await this.startConnections(redis, keys);
    this.runtime = {
      config,
      redis,
      workerRedis: workerConnection(redis),
      keys,
      cases: new CaseStore(redis, keys, cipher, retentionSeconds, Math.max(retentionSeconds, (config.hub?.referenceRetentionDays ?? 365) * 86400)),
      traces: new TraceStore(redis, keys, retentionSeconds),
      stats: new StatsStore(redis, keys, retentionSeconds),
      queues: new QueueSet(redis, keys.queuePrefix),
      metrics: this.options.metrics ?? noopMetrics,
      log: this.log,
      connections,
      retentionSeconds,
    };
    this.intake = new Intake(this.runtime);
    this.deadLetters = new DeadLetters(this.runtime);
    this.polls = new PollRunner(this.runtime, this.intake);
    if (roles.workers) await this.startWorkers();
    // A worker-only process still answers /healthz, /readyz and its plugins' endpoints (e.g. /metrics) when given a port.
    if (roles.api || (roles.workers && this.options.http)) await this.startApi();
    this.log.info({ roles, connections: [...connections.keys()], routes: config.routes.map((r) => r.name) }, 'hub started');
    return this;
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
      await this.stopSandboxes();
      redis.disconnect();
      throw new ConfigErrors(errors);
    }
    return out;
  }

  private async startWorkers(): Promise<void> {
    const targets = new Set(this.config.routes.flatMap((r) => r.to.map((t) => t.connection)));
    for (const name of targets) this.workers.push(startDeliveryWorker(this.runtime, this.runtime.connections.get(name)!));
    const polls = await schedulePolls(this.runtime);
    this.workers.push(startPollWorker(this.runtime, this.polls));
    this.log.info({ deliveryQueues: [...targets], polls: polls.map((p) => `${p.connection}.${p.source}`) }, 'workers started');
  }

  /** Mounts each webhook source fed into an enabled route, once. */
  mountWebhooks(router: import('express').Router): string[] {
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
      (def as WebhookSourceDefinition<unknown>).mount(router, conn.ctx, (events) => this.intake.ingest(conn.name, route.from.source, events), options);
    }
    return [...mounted];
  }

  private async startApi(): Promise<void> {
    const { createHttpApp } = await import('../http/app');
    const app = await createHttpApp(this, this.options.httpPlugins ?? [], { api: this.options.roles.api });
    const port = this.options.http?.port ?? 8080;
    const host = this.options.http?.host ?? '0.0.0.0';
    await new Promise<void>((resolve, reject) => {
      // Express 5 hands listen errors (EADDRINUSE) to this callback instead of emitting them.
      const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve()));
      this.server = server;
    });
    const address = this.server!.address();
    const actualPort = typeof address === 'object' && address ? address.port : port;
    this.url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${actualPort}`;
  }

  /** Graceful: stop accepting, let in-flight jobs finish, then close everything. Safe to call twice. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.server) {
      const server = this.server;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections?.();
      });
    }
    await Promise.all(this.workers.map((w) => w.close()));
    if (this.runtime) {
      await this.runtime.queues.close();
      for (const conn of this.runtime.connections.values()) {
        await conn.adapter.close?.(conn.ctx).catch((err: unknown) => this.log.warn({ connection: conn.name, error: safeMessage(err) }, 'adapter close failed'));
      }
    }
    await this.stopSandboxes();
    if (this.runtime) {
      await this.runtime.workerRedis.quit().catch(() => undefined);
      await this.runtime.redis.quit().catch(() => undefined);
    }
    this.log.info('hub stopped');
  }

  private async stopSandboxes(): Promise<void> {
    for (const [name, handle] of this.sandboxes) {
      await handle.stop().catch((err: unknown) => this.log.warn({ sandbox: name, error: safeMessage(err) }, 'sandbox stop failed'));
    }
    this.sandboxes.clear();
  }
}
