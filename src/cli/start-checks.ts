/**
 * Closed by default outside the sandbox. A hub that talks to real peers refuses to start, with one line naming the
 * fix, when /api would be open (no CASEWAY_API_TOKEN), when an ops user still signs in with a demo password hash of
 * the shipped config, or when payloads would be encrypted with the generated development key.
 * `--insecure-open-api` opens /api on purpose (trusted networks only) and says so at start and every 10 minutes.
 * Sandbox runs (sandbox peers, loopback) keep their zero-setup behaviour.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { LoadedConfig } from '../core/config/types';
import type { HubRoles } from '../core/hub';
import type { Logger } from '../core/logger';
import { opsSettings } from '../ops/settings';
import type { GlobalOptions } from './options';

export const OPEN_API_WARNING_EVERY_MS = 10 * 60 * 1000;
const SHIPPED_CONFIG = 'config/caseway.yaml';

/** The password hashes of the shipped sandbox config (its demo users); two levels up from src/cli, three from dist. */
export function demoPasswordHashes(): Set<string> {
  for (const up of ['../..', '../../..']) {
    const file = path.resolve(__dirname, up, SHIPPED_CONFIG);
    if (existsSync(file)) return new Set(readFileSync(file, 'utf8').match(/scrypt:[0-9]+:[0-9]+:[0-9]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+/g) ?? []);
  }
  return new Set();
}

/** The development key `Hub` generates into `.caseway/data-key` when none is configured, if one was generated. */
function developmentKey(workDir: string): string | undefined {
  const file = path.join(workDir, 'data-key');
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

/** Every reason this start would leave case data or the console open; empty when it may start. */
export function insecureStartProblems(roles: HubRoles, opts: GlobalOptions, config: LoadedConfig, env: NodeJS.ProcessEnv = process.env, workDir = path.resolve('.caseway')): string[] {
  const problems: string[] = [];
  if (roles.api && !env.CASEWAY_API_TOKEN && !opts.insecureOpenApi) {
    problems.push('caseway: CASEWAY_API_TOKEN is not set, so /api (cases with personal data) would be open to anyone who reaches the port; set it (e.g. CASEWAY_API_TOKEN=$(openssl rand -hex 24)), or pass --insecure-open-api on a trusted network only.');
  }
  if (roles.api) {
    const demo = demoPasswordHashes();
    const users = opsSettings(config).users.filter((u) => u.passwordHash && demo.has(u.passwordHash)).map((u) => u.name);
    if (users.length) {
      problems.push(`caseway: ops user${users.length > 1 ? 's' : ''} ${users.map((u) => `"${u}"`).join(', ')} still ${users.length > 1 ? 'have' : 'has'} the demo password hash of ${SHIPPED_CONFIG}; give each a new one from \`caseway ops-password\` (config ops.users[].passwordHash, e.g. OPS_OPERATOR_HASH).`);
    }
  }
  const key = config.hub?.dataKey ?? env.CASEWAY_DATA_KEY;
  if (!key) {
    problems.push('caseway: no data key is set, so case payloads would be encrypted with a generated development key; set CASEWAY_DATA_KEY (openssl rand -base64 32) or hub.dataKey, the same on every hub process.');
  } else if (key === developmentKey(workDir)) {
    problems.push('caseway: the data key is the development key generated into .caseway/data-key; set CASEWAY_DATA_KEY to a key of your own (openssl rand -base64 32).');
  }
  return problems;
}

/** Says, at once and then every 10 minutes, that /api is open; the returned function stops the reminders. */
export function warnOpenApi(log: Logger, everyMs = OPEN_API_WARNING_EVERY_MS): () => void {
  const warn = () => log.warn({ insecureOpenApi: true }, '/api is open (--insecure-open-api): anyone who reaches this port can read cases with personal data; set CASEWAY_API_TOKEN');
  warn();
  const timer = setInterval(warn, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * The one call `runHub` makes before starting anything: the refusal line for a hub that talks
 * to real peers and would start open, else undefined (and the open-API reminders started when asked for).
 */
export function guardStart(roles: HubRoles, opts: GlobalOptions, config: LoadedConfig, sandboxRun: boolean, log: Logger): string | undefined {
  if (sandboxRun) return undefined;
  const problems = insecureStartProblems(roles, opts, config);
  // One line: the first problem; the next start names the next one.
  if (problems.length) return `${problems[0]}${problems.length > 1 ? ` (${problems.length - 1} more to fix after this one)` : ''}`;
  if (roles.api && opts.insecureOpenApi && !process.env.CASEWAY_API_TOKEN) warnOpenApi(log);
  return undefined;
}
