import { existsSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_CONFIG_FILE } from '../core/config/load';
import { DEFAULT_REDIS_URL } from '../core/redis';
import { BUILTIN_ADAPTER_DIR } from '../core/registry';

export interface GlobalOptions {
  config: string;
  redis: string;
  redisFromUser: boolean;
  port: number;
  /** Undefined: 127.0.0.1 for sandbox runs (open /api, demo users), 0.0.0.0 otherwise. */
  host?: string;
  prefix?: string;
  /** Names one sandbox hub of a checkout (its Redis prefix, folder and lock); default: the port. */
  instance?: string;
  adapterDirs: string[];
  sandbox: boolean;
  logLevel?: string;
  /** Outside the sandbox, start without CASEWAY_API_TOKEN (trusted networks only; warned about every 10 minutes). */
  insecureOpenApi: boolean;
  /**
   * `caseway start`: delivery processes beside the api process (--workers / CASEWAY_WORKERS). Undefined = auto (one
   * per core beyond the first, see defaultWorkerProcesses); 0 = api and delivery in one process.
   */
  workers?: number;
}

export interface RawOptions {
  config?: string;
  redis?: string;
  port?: string;
  host?: string;
  prefix?: string;
  instance?: string;
  adapterDir?: string[];
  sandbox?: string;
  logLevel?: string;
  insecureOpenApi?: boolean;
  workers?: string;
}

/** Exit codes of every `caseway` command (also printed by `caseway --help`). */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export const EXIT_CODES_HELP = `Exit codes:
  0  done
  1  the command ran and failed (a dead letter not found, a replay or demo route failed, Redis unreachable)
  2  bad usage: an unknown or invalid flag or environment variable, or an invalid config file`;

/** A flag or environment value that cannot be used: the CLI prints the message on one line and exits 2. */
export class OptionError extends Error {}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];
const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];

export function parsePort(value: string, what = '--port'): number {
  if (!/^\d{1,5}$/.test(value.trim()) || Number(value) > 65535) throw new OptionError(`${what} must be a port number from 0 to 65535, not "${value}"`);
  return Number(value);
}

export function parseBool(value: string, what: string): boolean {
  const v = value.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new OptionError(`${what} must be true or false, not "${value}"`);
}

export function parseLogLevel(value: string, what = '--log-level'): string {
  if (!LOG_LEVELS.includes(value)) throw new OptionError(`${what} must be one of ${LOG_LEVELS.join(', ')}, not "${value}"`);
  return value;
}

export function parseRedisUrl(value: string, what = '--redis'): string {
  // Sentinel URLs (redis+sentinel://h:p,h:p/<master>) are as valid as plain ones (docs/deploy.md).
  if (!/^rediss?(\+sentinel)?:\/\/[^\s]+$/.test(value)) throw new OptionError(`${what} must be a redis://, rediss:// or redis+sentinel:// URL, not "${value}"`);
  return value;
}

export function parsePositiveInt(value: string, what: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new OptionError(`${what} must be a whole number above 0, not "${value}"`);
  return Number(value);
}

/** Most delivery processes `caseway start` forks: more than the cores gives nothing but Redis connections. */
export const MAX_WORKER_PROCESSES = 64;

/** --workers / CASEWAY_WORKERS: a whole number from 0 (one process) to 64, or "auto". */
export function parseWorkerCount(value: string, what = '--workers'): number | undefined {
  const v = value.trim().toLowerCase();
  if (v === 'auto') return undefined;
  if (!/^\d{1,3}$/.test(v) || Number(v) > MAX_WORKER_PROCESSES) throw new OptionError(`${what} must be auto or a whole number from 0 (api and delivery in one process) to ${MAX_WORKER_PROCESSES}, not "${value}"`);
  return Number(v);
}

/** Flags win over environment variables, which win over defaults. Every value is checked here, before anything starts. */
export function resolveOptions(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): GlobalOptions {
  const extraDirs = [...(raw.adapterDir ?? []), ...(env.CASEWAY_ADAPTER_DIRS ? env.CASEWAY_ADAPTER_DIRS.split(path.delimiter) : [])];
  const from = (flag: string | undefined, name: string, envName: string): [string | undefined, string] => (flag !== undefined ? [flag, name] : [env[envName], envName]);
  const [port, portFrom] = from(raw.port, '--port', 'PORT');
  const [sandbox, sandboxFrom] = from(raw.sandbox, '--sandbox', 'CASEWAY_SANDBOX');
  const [level, levelFrom] = from(raw.logLevel, '--log-level', 'LOG_LEVEL');
  const [redis, redisFrom] = from(raw.redis, '--redis', 'REDIS_URL');
  const [workers, workersFrom] = from(raw.workers, '--workers', 'CASEWAY_WORKERS');
  return {
    config: raw.config ?? env.CASEWAY_CONFIG ?? DEFAULT_CONFIG_FILE,
    redis: redis ? parseRedisUrl(redis, redisFrom) : DEFAULT_REDIS_URL,
    redisFromUser: Boolean(redis),
    port: port ? parsePort(port, portFrom) : 8080,
    host: raw.host ?? env.HOST,
    prefix: raw.prefix ?? env.CASEWAY_PREFIX,
    instance: raw.instance ?? env.CASEWAY_INSTANCE,
    adapterDirs: [BUILTIN_ADAPTER_DIR, ...extraDirs.map((d) => path.resolve(d))],
    sandbox: sandbox ? parseBool(sandbox, sandboxFrom) : true,
    logLevel: level ? parseLogLevel(level, levelFrom) : undefined,
    insecureOpenApi: raw.insecureOpenApi === true,
    workers: workers ? parseWorkerCount(workers, workersFrom) : undefined,
  };
}

/** The package's own folder (where config/samples lives), found from this file whether run from src or dist. */
export function packageRoot(start = __dirname): string {
  let dir = start;
  for (;;) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'config', 'samples'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the Caseway package folder above ${start}`);
    dir = up;
  }
}
