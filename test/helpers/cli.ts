/**
 * Runs the built `caseway` CLI as a separate process against the same hub state as an in-process TestHub: one
 * config file on disk, one data key, the test's Redis prefix, and the test fixture adapters.
 */
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { FIXTURE_ADAPTER_DIR } from './hub';
import { REDIS_URL } from './redis';

export const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');

export interface CliSetup {
  configFile: string;
  dataKey: string;
  /** Removes the config file's folder. */
  cleanup: () => void;
}

/** Writes the config where `caseway` processes can read it, with a fresh data key to share with the TestHub. */
export function cliSetup(yaml: string): CliSetup {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-cli-'));
  const configFile = path.join(dir, 'caseway.yaml');
  writeFileSync(configFile, yaml);
  return { configFile, dataKey: PayloadCipher.generateKey(), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

function argv(setup: CliSetup, prefix: string, args: string[]): string[] {
  return [CLI, '--config', setup.configFile, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--prefix', prefix, '--redis', REDIS_URL, ...args];
}

function env(setup: CliSetup): NodeJS.ProcessEnv {
  return { ...process.env, CASEWAY_DATA_KEY: setup.dataKey, PORT: '0', HOST: '127.0.0.1' };
}

export interface CliProcess {
  child: ChildProcess;
  exited: Promise<number | null>;
  /** Everything it printed so far, stdout and stderr. */
  output: () => string;
}

/** A long-running `caseway` process (e.g. `worker`); `nodeArgs` go to Node itself (e.g. `--require` a probe). */
export function spawnCaseway(setup: CliSetup, prefix: string, args: string[], nodeArgs: string[] = []): CliProcess {
  let output = '';
  const child = spawn(process.execPath, [...nodeArgs, ...argv(setup, prefix, args)], { env: env(setup), stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited, output: () => output };
}

/**
 * How long one `caseway` command may take before it is killed: a safety net, not a measurement. A loaded machine
 * starts a Node process slowly, so it is generous.
 */
export const CLI_TIMEOUT_MS = 60_000;

/** A `caseway` command that runs to completion (e.g. `replay`). */
export function runCaseway(setup: CliSetup, prefix: string, args: string[]): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, argv(setup, prefix, args), { env: env(setup), encoding: 'utf8', timeout: CLI_TIMEOUT_MS });
}

/** Whether a process with this pid still exists (signal 0 only checks). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
