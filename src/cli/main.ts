#!/usr/bin/env node
/** `caseway`: start the hub (or one of its roles), validate config, inspect and replay dead letters. */
import path from 'node:path';
import { Command } from 'commander';
import { Hub } from '../core/hub';
import { silentLogger } from '../core/logger';
import { safeMessage } from '../core/errors';
import { resolveOptions, type RawOptions } from './options';
import { CliExit, hubPrefix, loadOrExplain, runHub } from './run-hub';

const program = new Command();
program
  .name('caseway')
  .description('Integration hub for case-management systems: routes cases between iSupport, iCasework, the 121-platform and ETD/IIZUKA.')
  .option('-c, --config <file>', 'config file (env CASEWAY_CONFIG; default config/caseway.yaml)')
  .option('-r, --redis <url>', 'Redis URL (env REDIS_URL; default redis://127.0.0.1:6379)')
  .option('-p, --port <port>', 'HTTP port for the api role (env PORT; default 8080)')
  .option('--host <host>', 'HTTP bind address (env HOST; default 127.0.0.1 with sandbox peers, else 0.0.0.0)')
  .option('--prefix <prefix>', 'Redis key prefix (env CASEWAY_PREFIX; default cw:)')
  .option('--instance <name>', 'sandbox runs: this hub\'s own Redis prefix, folder and lock (env CASEWAY_INSTANCE; default the port)')
  .option('--adapter-dir <dir>', 'an extra folder to discover adapters in; repeatable (env CASEWAY_ADAPTER_DIRS)', (dir: string, dirs: string[]) => [...dirs, dir], [] as string[])
  .option('--sandbox <bool>', 'start sandbox peers for connections marked sandbox: true (env CASEWAY_SANDBOX; default true)')
  .option('--log-level <level>', 'log level (env LOG_LEVEL; default info)')
  .addHelpText(
    'after',
    `
Environment:
  REDIS_URL          Redis shared by every hub process (must use maxmemory-policy noeviction);
                     redis+sentinel://host:26379,host:26379/<master> for a Sentinel-managed primary
  PORT               HTTP port (8080)
  CASEWAY_CONFIG     config file (config/caseway.yaml)
  CASEWAY_DATA_KEY   base64 32-byte key encrypting case payloads at rest
  CASEWAY_API_TOKEN  Bearer token required on /api when set
  CASEWAY_INSTANCE   sandbox runs: names this hub's own Redis prefix, folder and lock (default: the port)

Examples:
  caseway start                         api + workers with config/caseway.yaml and its sandbox peers
  caseway worker --sandbox=false        a worker on another machine, real peers only
  caseway validate config/caseway.yaml  check a config without starting anything
  caseway replay --connection icasework --all`,
  );

const opts = () => resolveOptions(program.opts<RawOptions>());

program.command('start').description('run the API and the workers (one process)').action(async () => {
  await runHub({ api: true, workers: true }, opts());
});
program.command('api').description('run only the HTTP API and webhook intake').action(async () => {
  await runHub({ api: true, workers: false }, opts());
});
program.command('worker').description('run only delivery and poll workers (scale out on other machines)').action(async () => {
  await runHub({ api: false, workers: true }, opts());
});

program
  .command('validate [file]')
  .description('validate a config file and exit (0 valid, 2 invalid)')
  .action((file: string | undefined) => {
    const o = opts();
    const { config } = loadOrExplain({ ...o, config: file ?? o.config });
    process.stdout.write(`${config.file}: valid (${Object.keys(config.connections).length} connections, ${config.routes.length} routes)\n`);
  });

async function withHub<T>(fn: (hub: Hub) => Promise<T>): Promise<T> {
  const o = opts();
  const { registry, config } = loadOrExplain(o);
  const hub = await new Hub({ config, registry, redisUrl: o.redis, roles: { api: false, workers: false }, prefix: hubPrefix(o, config), adminOnly: true, log: silentLogger() }).start();
  try {
    return await fn(hub);
  } finally {
    await hub.stop();
  }
}

program
  .command('dead-letters')
  .description('list dead letters')
  .option('--connection <name>', 'only this target connection')
  .action(async (o: { connection?: string }) => {
    await withHub(async (hub) => {
      const list = await hub.deadLetters.list(o.connection);
      for (const d of list) process.stdout.write(`${d.connection}\t${d.id}\t${d.route}\t${d.hubId}\t${d.failedReason}\n`);
      process.stdout.write(`${list.length} dead letter(s)\n`);
    });
  });

program
  .command('replay [id]')
  .description('replay one dead letter by its delivery id, or --all of a connection (optionally of one route)')
  .requiredOption('--connection <name>', 'target connection of the dead letters')
  .option('--all', 'replay every dead letter of the connection')
  .option('--route <name>', 'with --all: only this route')
  .action(async (id: string | undefined, o: { connection: string; all?: boolean; route?: string }) => {
    if (!id && !o.all) throw new CliExit(2, 'caseway replay: give a delivery id or --all');
    await withHub(async (hub) => {
      const ids = id ? [id] : (await hub.deadLetters.list(o.connection)).filter((d) => !o.route || d.route === o.route).map((d) => d.id);
      let replayed = 0;
      for (const one of ids) if (await hub.deadLetters.replay(o.connection, one, 'cli')) replayed += 1;
      process.stdout.write(`replayed ${replayed} of ${ids.length}\n`);
      if (id && replayed === 0) throw new CliExit(1, `caseway replay: no dead letter ${id} on connection ${o.connection}`);
    });
  });

program
  .command('ops-password')
  .description('print a password hash for an ops user (config ops.users[].passwordHash); asks twice, or reads one line from a pipe')
  .action(async () => {
    const { promptForPasswordHash } = await import('../ops/password');
    process.stdout.write(`${await promptForPasswordHash()}\n`);
  });

program
  .command('demo')
  .description('push the sample cases through every default route of a running hub and report what arrived where')
  .option('--url <url>', 'the running hub (env CASEWAY_URL; default http://127.0.0.1:$PORT)')
  .option('--timeout <seconds>', 'how long each route may take', '60')
  .action(async (o: { url?: string; timeout: string }) => {
    const { Demo } = await import('./demo');
    const url = o.url ?? process.env.CASEWAY_URL ?? `http://127.0.0.1:${process.env.PORT ?? 8080}`;
    const outcomes = await new Demo({
      url: url.replace(/\/$/, ''),
      etdApiKey: process.env.ETD_FORM_API_KEY ?? 'caseway-demo-etd-key',
      samplesDir: path.resolve('config/samples'),
      timeoutMs: Number(o.timeout) * 1000,
      apiToken: process.env.CASEWAY_API_TOKEN,
    }).run();
    if (outcomes.some((r) => !r.ok)) throw new CliExit(1, 'caseway demo: at least one route failed');
  });

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CliExit) {
    process.stderr.write(`${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`caseway: ${safeMessage(err)}\n`);
  process.exit(1);
});
