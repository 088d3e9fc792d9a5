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
}

/** Flags win over environment variables, which win over defaults. */
export function resolveOptions(raw: RawOptions, env: NodeJS.ProcessEnv = process.env): GlobalOptions {
  const extraDirs = [...(raw.adapterDir ?? []), ...(env.CASEWAY_ADAPTER_DIRS ? env.CASEWAY_ADAPTER_DIRS.split(path.delimiter) : [])];
  const sandboxFlag = raw.sandbox ?? env.CASEWAY_SANDBOX ?? 'true';
  return {
    config: raw.config ?? env.CASEWAY_CONFIG ?? DEFAULT_CONFIG_FILE,
    redis: raw.redis ?? env.REDIS_URL ?? DEFAULT_REDIS_URL,
    redisFromUser: Boolean(raw.redis ?? env.REDIS_URL),
    port: Number(raw.port ?? env.PORT ?? 8080),
    host: raw.host ?? env.HOST,
    prefix: raw.prefix ?? env.CASEWAY_PREFIX,
    instance: raw.instance ?? env.CASEWAY_INSTANCE,
    adapterDirs: [BUILTIN_ADAPTER_DIR, ...extraDirs.map((d) => path.resolve(d))],
    sandbox: !['false', '0', 'no', 'off'].includes(sandboxFlag.toLowerCase()),
    logLevel: raw.logLevel ?? env.LOG_LEVEL,
  };
}
