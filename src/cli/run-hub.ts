/** Starts a hub for the CLI: loads config, finds (or starts) Redis, prints where everything is, stops on signals. */
import path from 'node:path';
import { loadConfig } from '../core/config/load';
import type { LoadedConfig } from '../core/config/types';
import { ConfigErrors, safeMessage } from '../core/errors';
import { Hub, type HubRoles } from '../core/hub';
import { createLogger } from '../core/logger';
import { RedisPolicyError, RedisUnavailableError } from '../core/redis';
import { AdapterRegistry } from '../core/registry';
import { metricsPlugin, opsPlugins } from '../ops';
import { PrometheusMetrics } from '../ops/metrics';
import type { GlobalOptions } from './options';
import { redisServerInstalled, startPrivateRedis } from './private-redis';
import { guardStart } from './start-checks';

const say = (line: string) => process.stderr.write(`${line}\n`);

/** Redis key prefix of sandbox runs, so they never share state with a hub that talks to real peers. */
export const SANDBOX_PREFIX = 'cw-sandbox:';

export class CliExit extends Error {
  constructor(readonly exitCode: number, message: string) {
    super(message);
  }
}

/** The Redis key prefix: the one given, else a separate one for sandbox runs so they never share state with a real hub. */
export function hubPrefix(opts: GlobalOptions, config: LoadedConfig): string | undefined {
  return opts.prefix ?? (isSandboxRun(opts, config) ? SANDBOX_PREFIX : undefined);
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

export async function runHub(roles: HubRoles, opts: GlobalOptions): Promise<Hub> {
  const { registry, config } = loadOrExplain(opts);
  if (isSandboxRun(opts, config) && !(roles.api && roles.workers)) {
    // Each process would start its own sandbox peers, and the api and the workers would talk to different ones.
    throw new CliExit(
      2,
      `caseway ${roles.api ? 'api' : 'worker'}: ${config.file} starts sandbox peers, which only \`caseway start\` runs (one process). Use \`caseway start\`, or give the real peers' settings and --sandbox=false.`,
    );
  }
  const log = createLogger({ level: opts.logLevel });
  const refused = guardStart(roles, opts, config, isSandboxRun(opts, config), log); if (refused) throw new CliExit(1, refused);
  const metrics = new PrometheusMetrics();
  let redisUrl = opts.redis;
  const prefix = hubPrefix(opts, config);
  // A sandbox run starts its Redis state clean, like the sandbox peers themselves.
  const resetState = prefix === SANDBOX_PREFIX && opts.prefix === undefined && roles.api && roles.workers;
  let stopPrivateRedis: (() => Promise<void>) | undefined;
  const build = () =>
    new Hub({
      config,
      registry,
      redisUrl,
      roles,
      prefix,
      resetState,
      // A sandbox hub has an open /api and demo ops users: it listens on loopback unless told otherwise.
      http: { port: opts.port, host: opts.host ?? (isSandboxRun(opts, config) ? '127.0.0.1' : '0.0.0.0') },
      sandbox: opts.sandbox,
      workDir: path.resolve('.caseway'),
      log,
      metrics,
      httpPlugins: roles.api ? opsPlugins(metrics) : [metricsPlugin(metrics)],
    });
  let hub: Hub;
  try {
    hub = await build().start();
  } catch (err) {
    if (err instanceof RedisUnavailableError && !opts.redisFromUser && redisServerInstalled()) {
      const privateRedis = await startPrivateRedis(path.resolve('.caseway'));
      stopPrivateRedis = privateRedis.stop;
      say(`caseway: ${err.message}; started a private redis-server at ${privateRedis.url} (data in .caseway/redis, stops with the hub).`);
      redisUrl = privateRedis.url;
      hub = await build().start();
    } else if (err instanceof RedisUnavailableError) {
      throw new CliExit(1, `caseway: ${err.message}. Start Redis (e.g. \`sudo apt-get install redis-server\` or \`brew install redis\`, then \`redis-server\`) or point REDIS_URL at one.`);
    } else if (err instanceof RedisPolicyError) {
      throw new CliExit(1, `caseway: ${err.message}`);
    } else if (err instanceof ConfigErrors) {
      throw new CliExit(2, `${err.message}\ncaseway: the configuration is invalid; nothing was started.`);
    } else if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new CliExit(1, `caseway: port ${opts.port} is already in use; start with another one, e.g. PORT=${opts.port + 1} npm start`);
    } else {
      throw err;
    }
  }
  say(banner(hub, roles, redisUrl));
  if (resetState) say(`  (sandbox run: the hub's Redis state under "${SANDBOX_PREFIX}" was cleared, as the sandbox peers start empty)`);
  const shutdown = (signal: string) => {
    say(`caseway: ${signal} received; finishing in-flight work, accepting nothing new...`);
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
