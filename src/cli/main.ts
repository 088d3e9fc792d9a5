#!/usr/bin/env node
/** `caseway`: start the hub (or one of its roles), validate config, inspect, replay and discard dead letters. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { Hub } from '../core/hub';
import { silentLogger } from '../core/logger';
import { safeMessage } from '../core/errors';
import type { DeadLetterDetail, DeadLetterFilter } from '../ops/dead-letter-query';
import { EXIT, EXIT_CODES_HELP, OptionError, packageRoot, parsePositiveInt, resolveOptions, type RawOptions } from './options';
import { CliExit, hubPrefix, loadOrExplain, runHub } from './run-hub';

const VERSION = (JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;

const program = new Command();
program
  .name('caseway')
  .description('Integration hub for case-management systems: routes cases between peer systems through adapters and YAML routes.')
  .version(VERSION, '-V, --version', 'print the version and exit')
  // Usage errors exit 2 (see the exit codes below); every subcommand inherits this and shows the global flags.
  .exitOverride()
  .configureHelp({ showGlobalOptions: true })
  .showHelpAfterError('(run with --help for usage)')
  .option('-c, --config <file>', 'config file (env CASEWAY_CONFIG; default config/caseway.yaml)')
  .option('-r, --redis <url>', 'Redis URL (env REDIS_URL; default redis://127.0.0.1:6379)')
  .option('-p, --port <port>', 'HTTP port for the api role, 0-65535 (env PORT; default 8080)')
  .option('--host <host>', 'HTTP bind address (env HOST; default 127.0.0.1 with sandbox peers, else 0.0.0.0)')
  .option('--prefix <prefix>', 'Redis key prefix (env CASEWAY_PREFIX; default cw:)')
  .option('--instance <name>', 'sandbox runs: this hub\'s own Redis prefix, folder and lock (env CASEWAY_INSTANCE; default the port)')
  .option('--adapter-dir <dir>', 'an extra folder to discover adapters in; repeatable (env CASEWAY_ADAPTER_DIRS)', (dir: string, dirs: string[]) => [...dirs, dir], [] as string[])
  .option('--sandbox <bool>', 'start sandbox peers for connections marked sandbox: true (env CASEWAY_SANDBOX; default true)')
  .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env LOG_LEVEL; default info)')
  .option('--workers <n>', 'caseway start: delivery processes beside the api process; 0 = one process (env CASEWAY_WORKERS; default auto: one per core beyond the first)')
  .option('--insecure-open-api', 'with real peers, start without CASEWAY_API_TOKEN: /api open to anyone who reaches the port (trusted networks only; warned every 10 minutes)')
  .addHelpText(
    'after',
    `
Environment:
  REDIS_URL          Redis shared by every hub process (must use maxmemory-policy noeviction);
                     redis+sentinel://host:26379,host:26379/<master> for a Sentinel-managed primary
  PORT               HTTP port (8080)
  CASEWAY_CONFIG     config file (config/caseway.yaml)
  CASEWAY_DATA_KEY   base64 32-byte key encrypting case payloads at rest
  CASEWAY_API_TOKEN  Bearer token required on /api (a hub with real peers refuses to start without it)
  CASEWAY_INSTANCE   sandbox runs: names this hub's own Redis prefix, folder and lock (default: the port)
  CASEWAY_WORKERS    caseway start: delivery processes beside the api process (default auto; 0 = one process)

${EXIT_CODES_HELP}

Examples:
  caseway start                         api + workers with config/caseway.yaml and its sandbox peers
  caseway start --sandbox=false --workers 3   the api here, delivery in 3 child processes
  caseway worker --sandbox=false        a worker on another machine, real peers only
  caseway validate config/caseway.yaml  check a config without starting anything
  caseway replay --all --connection crm --dry-run --json`,
  );

const opts = () => resolveOptions(program.opts<RawOptions>());
// Every flag and environment value is checked before any command starts (sandboxes, Redis, ports).
program.hook('preAction', () => void opts());

program.command('start').description('run the API and the workers: with more than one core, delivery in child processes (--workers); sandbox runs in one process').action(async () => {
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

function checkConnection(hub: Hub, command: string, connection: string | undefined): void {
  if (connection && !hub.runtime.connections.has(connection)) throw new CliExit(EXIT.usage, `caseway ${command}: no connection "${connection}" in ${hub.config.file}`);
}

program
  .command('dead-letters')
  .description('list dead letters, newest first')
  .option('--connection <name>', 'only this target connection')
  .option('--route <name>', 'only this route')
  .option('--code <code>', 'only this error code (e.g. PEER_VALIDATION) or HTTP status (e.g. 422)')
  .option('--json', 'print JSON')
  .action(async (o: { connection?: string; route?: string; code?: string; json?: boolean }) => {
    await withHub(async (hub) => {
      checkConnection(hub, 'dead-letters', o.connection);
      const { queryDeadLetters } = await import('../ops/dead-letter-query');
      const list = await queryDeadLetters(hub, { connection: o.connection, route: o.route, code: o.code });
      if (o.json) return void process.stdout.write(`${JSON.stringify(list, null, 2)}\n`);
      for (const d of list) process.stdout.write(`${d.connection}\t${d.id}\t${d.route}\t${d.hubId}\t${d.error.code ?? ''}\t${d.failedReason}\n`);
      process.stdout.write(`${list.length} dead letter(s)\n`);
    });
  });

interface BulkOptions {
  connection?: string;
  all?: boolean;
  route?: string;
  code?: string;
  olderThan?: string;
  dryRun?: boolean;
  json?: boolean;
}

/** A one-line progress bar on stderr when it is a terminal (nothing otherwise, so pipes and --json stay clean). */
function progressBar(label: string): ((done: number, of: number) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  return (done, of) => {
    const width = 30;
    const filled = of ? Math.round((done / of) * width) : width;
    process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${of}${done === of ? '\n' : ''}`);
  };
}

function itemJson(d: DeadLetterDetail) {
  return { connection: d.connection, id: d.id, route: d.route, target: d.target, hubId: d.hubId, failedAt: d.failedAt, code: d.error.code, status: d.error.status, message: d.failedReason };
}

async function bulk(action: 'replay' | 'discard', id: string | undefined, o: BulkOptions): Promise<void> {
  const done = action === 'replay' ? 'replayed' : 'discarded';
  if (!id && !o.all) throw new CliExit(EXIT.usage, `caseway ${action}: give a delivery id (with --connection) or --all`);
  if (id && o.all) throw new CliExit(EXIT.usage, `caseway ${action}: give a delivery id or --all, not both`);
  if (id && !o.connection) throw new CliExit(EXIT.usage, `caseway ${action}: a delivery id needs --connection`);
  const filter: DeadLetterFilter = { connection: o.connection, route: o.route, code: o.code, olderThanHours: o.olderThan === undefined ? undefined : parsePositiveInt(o.olderThan, '--older-than') };
  await withHub(async (hub) => {
    checkConnection(hub, action, o.connection);
    const { bulkAction, queryDeadLetters } = await import('../ops/dead-letter-query');
    const list = (await queryDeadLetters(hub, filter)).filter((d) => !id || d.id === id);
    if (id && list.length === 0) throw new CliExit(EXIT.failed, `caseway ${action}: no dead letter ${id} on connection ${o.connection}`);
    if (o.dryRun) {
      if (o.json) return void process.stdout.write(`${JSON.stringify({ action, dryRun: true, matched: list.length, items: list.map(itemJson) }, null, 2)}\n`);
      for (const d of list) process.stdout.write(`would ${action}\t${d.connection}\t${d.id}\t${d.route}\t${d.error.code ?? ''}\n`);
      return void process.stdout.write(`would ${action} ${list.length} dead letter(s) (dry run: nothing changed)\n`);
    }
    const result = await bulkAction(hub, action, list, 'cli', filter, o.json ? undefined : progressBar(action === 'replay' ? 'replaying' : 'discarding'));
    if (o.json) process.stdout.write(`${JSON.stringify({ action, dryRun: false, matched: result.matched, done: result.done, ids: result.ids }, null, 2)}\n`);
    else process.stdout.write(`${done} ${result.done} of ${result.matched}\n`);
    if (result.done < result.matched) throw new CliExit(EXIT.failed, `caseway ${action}: ${result.matched - result.done} dead letter(s) were gone before they could be ${done}`);
  });
}

const bulkCommand = (name: 'replay' | 'discard', description: string) =>
  program
    .command(`${name} [id]`)
    .description(description)
    .option('--connection <name>', 'target connection of the dead letters (required with an id)')
    .option('--all', 'every dead letter matching the filters')
    .option('--route <name>', 'only this route')
    .option('--code <code>', 'only this error code (e.g. PEER_VALIDATION) or HTTP status (e.g. 422)')
    .option('--older-than <hours>', 'only dead letters that failed at least this many hours ago')
    .option('--dry-run', 'list what would be done and change nothing')
    .option('--json', 'print the result as JSON')
    .action((id: string | undefined, o: BulkOptions) => bulk(name, id, o));

bulkCommand('replay', 'replay one dead letter by its delivery id, or --all matching filters (each audited as cli)');
bulkCommand('discard', 'discard one dead letter by its delivery id, or --all matching filters (each audited as cli); the case is not delivered to that target');

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
  .addOption(new Option('--timeout <seconds>', 'how long each route may take').default('60').argParser((v: string) => String(parsePositiveInt(v, '--timeout'))))
  .action(async (o: { url?: string; timeout: string }) => {
    const { Demo } = await import('./demo');
    const url = o.url ?? process.env.CASEWAY_URL ?? `http://127.0.0.1:${opts().port}`;
    const outcomes = await new Demo({
      url: url.replace(/\/$/, ''),
      // The samples ship with the package: found from here, not from the folder the command runs in.
      samplesDir: path.join(packageRoot(), 'config', 'samples'),
      timeoutMs: Number(o.timeout) * 1000,
      apiToken: process.env.CASEWAY_API_TOKEN,
    }).run();
    if (outcomes.some((r) => !r.ok)) throw new CliExit(EXIT.failed, 'caseway demo: at least one route failed');
  });

for (const command of program.commands) command.addHelpText('after', `\n${EXIT_CODES_HELP}`);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    // Commander has printed the message (or the help / version) already.
    process.exit(err.exitCode === 0 ? EXIT.ok : EXIT.usage);
  }
  if (err instanceof OptionError) {
    process.stderr.write(`caseway: ${err.message}\n`);
    process.exit(EXIT.usage);
  }
  if (err instanceof CliExit) {
    process.stderr.write(`${err.message}\n`);
    process.exit(err.exitCode);
  }
  process.stderr.write(`caseway: ${safeMessage(err)}\n`);
  process.exit(EXIT.failed);
});
