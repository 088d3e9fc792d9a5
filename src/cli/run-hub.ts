/** Starts a hub for the CLI: loads config, finds (or starts) Redis, prints where everything is, stops on signals. */
import { readFileSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config/load';
import type { LoadedConfig } from '../core/config/types';
import { CasewayError, ConfigErrors, safeMessage } from '../core/errors';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, Hub, InstanceLockedError, type HubRoles } from '../core/hub';
import { startHubWithHttp } from '../http/server';
import { createLogger } from '../core/logger';
import { RedisPolicyError, RedisUnavailableError } from '../core/redis';
import { DataKeyMismatchError } from '../core/store/data-key-check';
import { AdapterRegistry } from '../core/registry';
import { metricsPlugin, opsPlugins } from '../ops';
import { PrometheusMetrics } from '../ops/metrics';
import { packageRoot, type GlobalOptions } from './options';
import { redisServerInstalled, startPrivateRedis } from './private-redis';
import { guardStart } from './start-checks';
import { defaultWorkerProcesses, isMetricsRequest, SUPERVISED_ENV, WorkerSupervisor, type ChildMessage } from './supervisor';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** Redis key prefix of sandbox runs, so they never share state with a hub that talks to real peers. */
export const SANDBOX_PREFIX = 'cw-sandbox:';

/** One sandbox hub of a checkout: its name (--instance, else the port), Redis prefix and folder. */
export function sandboxInstance(opts: GlobalOptions): { name: string; prefix: string; workDir: string } {
  const name = (opts.instance ?? String(opts.port)).replace(/[^A-Za-z0-9._-]/g, '_');
  return { name, prefix: `${SANDBOX_PREFIX}${name}:`, workDir: path.resolve('.caseway', 'instances', name) };
}

export class CliExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

/** The Redis key prefix: the one given, else a separate one for sandbox runs so they never share state with a real hub. */
export function hubPrefix(opts: GlobalOptions, config: LoadedConfig): string | undefined {
  return opts.prefix ?? (isSandboxRun(opts, config) ? sandboxInstance(opts).prefix : undefined);
}

/** The hub will start sandbox peers (and talks to no real ones through them). */
export function isSandboxRun(opts: GlobalOptions, config: LoadedConfig): boolean {
  return opts.sandbox && Object.values(config.connections).some((c) => c.sandbox);
}

/** Discovers adapters and loads the config; an invalid config becomes the CLI's exit 2 with every error listed. */
export function loadOrExplain(opts: GlobalOptions) {
  const registry = AdapterRegistry.discover(opts.adapterDirs);
  try {
    return { registry, config: loadConfig(opts.config, registry) };
  } catch (err) {
    if (err instanceof ConfigErrors) throw new CliExit(2, `${err.message}\ncaseway: the configuration is invalid; nothing was started.`);
    throw err;
  }
}


function banner(hub: Hub, roles: HubRoles, redisUrl: string, supervisor?: WorkerSupervisor): string {
  const workers = supervisor?.status() ?? [];
  const what = supervisor ? `api + ${workers.length} worker process${workers.length > 1 ? 'es' : ''}` : [roles.api && 'api', roles.workers && 'workers'].filter(Boolean).join(' + ');
  const lines = [`Caseway is running (${what})`];
  const url = hub.baseUrl;
  if (url && !roles.api) lines.push(`  Probes      ${url}   health ${url}/healthz   ready ${url}/readyz   metrics ${url}/metrics`);
  if (url && roles.api) {
    lines.push(`  API         ${url}   health ${url}/healthz   ready ${url}/readyz`);
    lines.push(`  Ops         ${url}/ops   queues ${url}/ops/queues   metrics ${url}/metrics`);
    lines.push(`  Case lookup ${url}/api/cases/<any id>   trace ${url}/api/cases/<any id>/trace`);
  }
  lines.push(`  Config      ${hub.config.file} (${Object.keys(hub.config.connections).length} connections, ${hub.config.routes.length} routes)`);
  lines.push(`  Redis       ${redisUrl.replace(/\/\/([^@/]*)@/, '//***@')}`);
  if (supervisor) {
    lines.push(`  Workers     ${workers.length} delivery process${workers.length > 1 ? 'es' : ''} (pid ${workers.map((w) => w.pid ?? '-').join(', ')}; this process ${process.pid} runs the api; --workers 0 for one process)`);
  }
  for (const [name, handle] of hub.sandboxes) {
    lines.push(`  Sandbox     ${name.padEnd(12)} ${Object.entries(handle.urls).map(([k, v]) => `${k} ${v}`).join('   ')}`);
  }
  if (hub.sandboxes.size) lines.push('  Try it      npm run demo   (pushes the sample cases through every route)');
  if (url && roles.api && !process.env.CASEWAY_API_TOKEN) lines.push('  Note        /api is open: set CASEWAY_API_TOKEN before exposing this hub beyond your machine.');
  lines.push('Press Ctrl+C to stop.');
  return lines.join('\n');
}

/** Start failures the operator can act on become one line and an exit code; anything else is a bug and stays as is. */
function explain(err: unknown, opts: GlobalOptions): unknown {
  if (err instanceof RedisUnavailableError) {
    return new CliExit(1, `caseway: ${err.message}. Start Redis (e.g. \`sudo apt-get install redis-server\` or \`brew install redis\`, then \`redis-server\`) or point REDIS_URL at one.`);
  }
  if (err instanceof RedisPolicyError) return new CliExit(1, `caseway: ${err.message}`);
  if (err instanceof DataKeyMismatchError) return new CliExit(1, `caseway: ${err.message}. See docs/deploy.md, "Secrets".`);
  if (err instanceof ConfigErrors) return new CliExit(2, `${err.message}\ncaseway: the configuration is invalid; nothing was started.`);
  if (err instanceof InstanceLockedError) {
    return new CliExit(1, `caseway: ${err.message}; stop it first, or start this one with another PORT or CASEWAY_INSTANCE.`);
  }
  if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    return new CliExit(1, `caseway: port ${opts.port} is already in use; start with another one, e.g. PORT=${opts.port + 1} npm start`);
  }
  if (err instanceof CasewayError && err.code === 'REDIS_URL') return new CliExit(2, `caseway: ${err.message}`);
  return err;
}

/** This process is a delivery process forked by `caseway start` (see supervisor.ts): no port, metrics over IPC. */
function supervisedByStart(roles: HubRoles): boolean {
  return !roles.api && roles.workers && process.env[SUPERVISED_ENV] === '1' && typeof process.send === 'function';
}

/**
 * How many delivery processes `caseway start` forks: --workers / CASEWAY_WORKERS, else one per core beyond the
 * first. A sandbox run stays one process (its sandbox peers run inside it; see docs/performance.md).
 */
export function workerProcessCount(opts: GlobalOptions, sandboxRun: boolean, cores = availableParallelism()): number {
  if (sandboxRun) return 0;
  return opts.workers ?? defaultWorkerProcesses(cores);
}

/** The `caseway worker` command line a delivery process of this hub runs: the same settings, resolved. */
export function workerArgs(opts: GlobalOptions, redisUrl: string, prefix: string | undefined): string[] {
  const args = ['--config', path.resolve(opts.config), '--redis', redisUrl, '--sandbox', String(opts.sandbox)];
  if (prefix !== undefined) args.push('--prefix', prefix);
  // The first folder is the built-in one, which every process discovers anyway.
  for (const dir of opts.adapterDirs.slice(1)) args.push('--adapter-dir', dir);
  if (opts.logLevel) args.push('--log-level', opts.logLevel);
  args.push('worker');
  return args;
}

/**
 * `caseway start`, `api` or `worker`. `start` with delivery processes (`command: 'start'`, more than one core, not a
 * sandbox run) runs the api here and forks `caseway worker` children, which it supervises.
 */
export async function runHub(roles: HubRoles, opts: GlobalOptions, command: 'start' | 'api' | 'worker' = roles.api ? (roles.workers ? 'start' : 'api') : 'worker'): Promise<Hub> {
  const { registry, config } = loadOrExplain(opts);
  const sandboxRun = isSandboxRun(opts, config);
  if (sandboxRun && !(roles.api && roles.workers)) {
    // Each process would start its own sandbox peers, and the api and the workers would talk to different ones.
    throw new CliExit(
      2,
      `caseway ${roles.api ? 'api' : 'worker'}: ${config.file} starts sandbox peers, which only \`caseway start\` runs (one process). Use \`caseway start\`, or give the real peers' settings and --sandbox=false.`,
    );
  }
  const child = supervisedByStart(roles);
  // A delivery process told to stop while it is still starting (its parent stopping at once) stops right after
  // starting, gracefully, instead of dying of the signal with its first jobs half-taken.
  let stopRequest: string | undefined;
  let shutdown = (why: string) => void (stopRequest ??= why);
  const requestStop = (why: string) => shutdown(why);
  if (child) {
    process.once('SIGTERM', () => requestStop('SIGTERM received'));
    process.once('SIGINT', () => requestStop('SIGINT received'));
    // The IPC channel closes when the parent exits, however it exits (SIGKILL included): no orphan keeps running.
    process.once('disconnect', () => requestStop('the caseway start that ran this worker has gone'));
  }
  const workerProcesses = command === 'start' ? workerProcessCount(opts, sandboxRun) : 0;
  // `start` with delivery processes: this process is the api; the children are the workers.
  const hubRoles: HubRoles = workerProcesses > 0 ? { api: true, workers: false } : roles;
  const role = child ? 'worker' : workerProcesses > 0 ? 'api' : command;
  const log = createLogger({ level: opts.logLevel, base: { role } });
  if (sandboxRun && opts.workers) say(`caseway: a sandbox run is one process (its sandbox peers run in it); --workers ${opts.workers} is not used.`);
  const refused = guardStart(hubRoles, opts, config, sandboxRun, log); if (refused) throw new CliExit(1, refused);
  const version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  // Every line and the metrics say which process they come from: hostname and pid (the logger's own), and the role.
  const metrics = new PrometheusMetrics({ identity: { host: hostname(), role, version, pid: String(process.pid) } });
  let redisUrl = opts.redis;
  const prefix = hubPrefix(opts, config);
  // A sandbox run starts its Redis state clean, like the sandbox peers themselves: only its own instance's state,
  // and only once it holds the port and the instance lock, so a second start never touches a running hub.
  const ownInstance = sandboxRun && opts.prefix === undefined && roles.api && roles.workers;
  const resetState = ownInstance;
  const workDir = ownInstance ? sandboxInstance(opts).workDir : path.resolve('.caseway');
  let stopPrivateRedis: (() => Promise<void>) | undefined;
  const hubOptions = () => ({ config, registry, redisUrl, roles: hubRoles, prefix, resetState, instanceLock: ownInstance, sandbox: opts.sandbox, workDir, log, metrics });
  const build = () =>
    child
      ? // Its parent owns the port and answers probes and /metrics for it.
        new Hub(hubOptions()).start()
      : startHubWithHttp(hubOptions(), {
          // A sandbox hub has an open /api and demo ops users: it listens on loopback unless told otherwise.
          port: opts.port,
          host: opts.host ?? (sandboxRun ? '127.0.0.1' : '0.0.0.0'),
          plugins: hubRoles.api ? opsPlugins(metrics) : [metricsPlugin(metrics)],
        });
  let hub: Hub;
  try {
    hub = await build();
  } catch (err) {
    // Only a sandbox run falls back to a private redis-server. A hub with real peers that quietly took one would
    // accept cases where no other process (and no later start, once the real Redis answers) would ever see them.
    if (err instanceof RedisUnavailableError && sandboxRun && !opts.redisFromUser && !child && redisServerInstalled()) {
      const privateRedis = await startPrivateRedis(workDir);
      stopPrivateRedis = privateRedis.stop;
      say(`caseway: ${err.message}; started a private redis-server at ${privateRedis.url} (data in ${path.relative(process.cwd(), path.join(workDir, 'redis'))}, stops with the hub).`);
      redisUrl = privateRedis.url;
      try {
        hub = await build();
      } catch (again) {
        await privateRedis.stop();
        throw explain(again, opts);
      }
    } else {
      throw explain(err, opts);
    }
  }
  const limitMs = config.hub?.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  let supervisor: WorkerSupervisor | undefined;
  if (workerProcesses > 0) {
    // Forked only now: this process holds the port (and, were it a sandbox run, the instance lock), so a start that
    // is refused never starts a worker.
    const env = { ...process.env };
    delete env.CASEWAY_ADAPTER_DIRS; // passed as --adapter-dir, resolved
    let onRestart: () => void = () => undefined;
    supervisor = new WorkerSupervisor({
      count: workerProcesses,
      modulePath: process.argv[1],
      args: workerArgs(opts, redisUrl, prefix),
      env,
      log,
      // A child bounds its own stop by the same limit; this is the margin before it is killed.
      stopTimeoutMs: limitMs + 2000,
      onRestart: () => onRestart(),
    });
    const running = supervisor;
    onRestart = metrics.superviseWorkers(() => running.metrics(), () => running.status());
    // Not awaited: the api serves at once (cases queue until a worker is ready); each child logs when it is ready.
    void supervisor.start();
  }
  let stopping = false;
  shutdown = (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`caseway${child ? ` worker ${process.pid}` : ''}: ${why}; finishing in-flight work (at most ${Math.round(limitMs / 1000)} s), accepting nothing new...`);
    // The hub bounds its own stop; this is the last resort should anything still hang after it.
    setTimeout(() => {
      say(`caseway: shutdown exceeded ${limitMs} ms; exiting`);
      process.exit(1);
    }, limitMs + 5000).unref();
    Promise.all([hub.stop(), supervisor?.stop()])
      .then(async ([, workers]) => {
        // The private Redis goes last: the delivery processes use it until they exit.
        await stopPrivateRedis?.();
        process.exit(workers && !workers.clean ? 1 : 0);
      })
      .catch(async (e: unknown) => {
        say(`caseway: shutdown failed: ${safeMessage(e)}`);
        await supervisor?.stop().catch(() => undefined);
        await stopPrivateRedis?.();
        process.exit(1);
      });
  };
  if (!child) {
    // Installed before the banner says the hub is running: whoever reads it (an operator, systemd, a test) may send
    // SIGTERM at once, and a signal that arrives before Node has a listener kills the process outright, mid-delivery.
    process.once('SIGTERM', () => shutdown('SIGTERM received'));
    process.once('SIGINT', () => shutdown('SIGINT received'));
    say(banner(hub, roles, redisUrl, supervisor));
    if (resetState) say(`  (sandbox instance "${sandboxInstance(opts).name}": its Redis state under "${prefix}" was cleared, as its sandbox peers start empty)`);
  } else {
    process.on('message', (m: unknown) => {
      if (!isMetricsRequest(m)) return;
      void metrics.registry.getMetricsAsJSON().then((json) => {
        const answer: ChildMessage = { type: 'caseway:metrics', id: m.id, metrics: json };
        if (process.connected) process.send?.(answer);
      });
    });
    if (stopRequest) shutdown(stopRequest);
    else if (process.connected) {
      const ready: ChildMessage = { type: 'caseway:ready' };
      process.send?.(ready);
    }
  }
  return hub;
}
