/** Starts a hub for the CLI: loads config, finds (or starts) Redis, prints where everything is, stops on signals. */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../core/config/load';
import type { LoadedConfig } from '../core/config/types';
import { CasewayError, ConfigErrors, safeMessage } from '../core/errors';
import { DEFAULT_SHUTDOWN_TIMEOUT_MS, type Hub, InstanceLockedError, type HubRoles, roleName } from '../core/hub';
import { startHubWithHttp } from '../http/server';
import { createLogger } from '../core/logger';
import { RedisPolicyError, RedisUnavailableError } from '../core/redis';
import { AdapterRegistry } from '../core/registry';
import { metricsPlugin, opsPlugins } from '../ops';
import { PrometheusMetrics } from '../ops/metrics';
import { packageRoot, type GlobalOptions } from './options';
import { redisServerInstalled, startPrivateRedis } from './private-redis';
import { guardStart } from './start-checks';

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


function banner(hub: Hub, roles: HubRoles, redisUrl: string): string {
  const lines = [`Caseway is running (${[roles.api && 'api', roles.workers && 'workers'].filter(Boolean).join(' + ')})`];
  const url = hub.baseUrl;
  if (url && !roles.api) lines.push(`  Probes      ${url}   health ${url}/healthz   ready ${url}/readyz   metrics ${url}/metrics`);
  if (url && roles.api) {
    lines.push(`  API         ${url}   health ${url}/healthz   ready ${url}/readyz`);
    lines.push(`  Ops         ${url}/ops   queues ${url}/ops/queues   metrics ${url}/metrics`);
    lines.push(`  Case lookup ${url}/api/cases/<any id>   trace ${url}/api/cases/<any id>/trace`);
  }
  lines.push(`  Config      ${hub.config.file} (${Object.keys(hub.config.connections).length} connections, ${hub.config.routes.length} routes)`);
  lines.push(`  Redis       ${redisUrl.replace(/\/\/([^@/]*)@/, '//***@')}`);
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

export async function runHub(roles: HubRoles, opts: GlobalOptions): Promise<Hub> {
  const { registry, config } = loadOrExplain(opts);
  if (isSandboxRun(opts, config) && !(roles.api && roles.workers)) {
    // Each process would start its own sandbox peers, and the api and the workers would talk to different ones.
    throw new CliExit(
      2,
      `caseway ${roles.api ? 'api' : 'worker'}: ${config.file} starts sandbox peers, which only \`caseway start\` runs (one process). Use \`caseway start\`, or give the real peers' settings and --sandbox=false.`,
    );
  }
  // Every line and the metrics say which process they come from: hostname and pid (the logger's own), and the role.
  const role = roleName(roles);
  const log = createLogger({ level: opts.logLevel, base: { role } });
  const refused = guardStart(roles, opts, config, isSandboxRun(opts, config), log); if (refused) throw new CliExit(1, refused);
  const version = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  const metrics = new PrometheusMetrics({ identity: { host: hostname(), role, version } });
  let redisUrl = opts.redis;
  const prefix = hubPrefix(opts, config);
  // A sandbox run starts its Redis state clean, like the sandbox peers themselves: only its own instance's state,
  // and only once it holds the port and the instance lock, so a second start never touches a running hub.
  const ownInstance = isSandboxRun(opts, config) && opts.prefix === undefined && roles.api && roles.workers;
  const resetState = ownInstance;
  const workDir = ownInstance ? sandboxInstance(opts).workDir : path.resolve('.caseway');
  let stopPrivateRedis: (() => Promise<void>) | undefined;
  const build = () =>
    startHubWithHttp(
      {
      config,
      registry,
      redisUrl,
      roles,
      prefix,
      resetState,
      instanceLock: ownInstance,
      sandbox: opts.sandbox,
      workDir,
      log,
      metrics,
      },
      {
        // A sandbox hub has an open /api and demo ops users: it listens on loopback unless told otherwise.
        port: opts.port,
        host: opts.host ?? (isSandboxRun(opts, config) ? '127.0.0.1' : '0.0.0.0'),
        plugins: roles.api ? opsPlugins(metrics) : [metricsPlugin(metrics)],
      },
    );
  let hub: Hub;
  try {
    hub = await build();
  } catch (err) {
    if (err instanceof RedisUnavailableError && !opts.redisFromUser && redisServerInstalled()) {
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
  say(banner(hub, roles, redisUrl));
  if (resetState) say(`  (sandbox instance "${sandboxInstance(opts).name}": its Redis state under "${prefix}" was cleared, as its sandbox peers start empty)`);
  const limitMs = config.hub?.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const shutdown = (signal: string) => {
    say(`caseway: ${signal} received; finishing in-flight work (at most ${Math.round(limitMs / 1000)} s), accepting nothing new...`);
    // The hub bounds its own stop; this is the last resort should anything still hang after it.
    setTimeout(() => {
      say(`caseway: shutdown exceeded ${limitMs} ms; exiting`);
      process.exit(1);
    }, limitMs + 5000).unref();
    hub
      .stop()
      .then(async () => {
        await stopPrivateRedis?.();
        process.exit(0);
      })
      .catch(async (e: unknown) => {
        say(`caseway: shutdown failed: ${safeMessage(e)}`);
        await stopPrivateRedis?.();
        process.exit(1);
      });
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
  return hub;
}
