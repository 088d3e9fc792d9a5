import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../src/core/config/load';
import { ConfigErrors } from '../../src/core/errors';
import { AdapterRegistry, BUILTIN_ADAPTER_DIR } from '../../src/core/registry';
import { FIXTURE_ADAPTER_DIR } from '../helpers/hub';

const registry = AdapterRegistry.discover([BUILTIN_ADAPTER_DIR, FIXTURE_ADAPTER_DIR]);

function errorsOf(yaml: string, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    parseConfig(yaml, 'config/test.yaml', registry, env);
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  return [];
}

const VALID = `
connections:
  inbox: { adapter: recorder }
  sink:
    adapter: recorder
    settings: { label: "\${SINK_LABEL}" }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

describe('config validation', () => {
  it('accepts a valid file and substitutes environment variables', () => {
    const config = parseConfig(VALID, 'config/test.yaml', registry, { SINK_LABEL: 'from-env' });
    expect(config.connections.sink.settings).toEqual({ label: 'from-env' });
    expect(config.routes[0].to[0].id).toBe('sink-record');
  });

  it('names a missing secret environment variable with its file and path', () => {
    expect(errorsOf(VALID)).toEqual(['config/test.yaml: /connections/sink/settings/label: environment variable SINK_LABEL is not set']);
  });

  it('rejects an unknown adapter and lists the known ones', () => {
    const errors = errorsOf(VALID.replace('inbox: { adapter: recorder }', 'inbox: { adapter: recordr }'), { SINK_LABEL: 'x' });
    expect(errors[0]).toBe(`config/test.yaml: /connections/inbox/adapter: unknown adapter "recordr" (known: ${registry.names().join(', ')})`);
  });

  it('rejects an unknown action and lists the adapter actions', () => {
    const errors = errorsOf(VALID.replace('action: record', 'action: recrd'), { SINK_LABEL: 'x' });
    expect(errors).toEqual(['config/test.yaml: /routes/0/to/0/action: unknown action "recrd" for adapter "recorder" (known: record)']);
  });

  it('reports every problem at once: unknown source, unknown connection, bad options, bad settings, bad filter path', () => {
    const yaml = `
connections:
  inbox: { adapter: recorder, settings: { delayMs: -1, colour: red } }
routes:
  - name: main
    from: { connection: inbox, source: outbox }
    filter: { path: "parties[", equals: x }
    to:
      - { connection: nowhere, action: record }
      - { connection: inbox, action: record, options: { tag: 5 } }
`;
    expect(errorsOf(yaml)).toEqual([
      'config/test.yaml: /connections/inbox/settings/colour: is not a known property',
      'config/test.yaml: /connections/inbox/settings/delayMs: must be >= 0',
      'config/test.yaml: /routes/0/from/source: unknown source "outbox" for adapter "recorder" (known: inbox)',
      'config/test.yaml: /routes/0/filter: invalid canonical path "parties["',
      'config/test.yaml: /routes/0/to/0/connection: unknown connection "nowhere" (known: inbox)',
      'config/test.yaml: /routes/0/to/1/options/tag: must be string',
    ]);
  });

  it('reports schema errors with their path', () => {
    expect(errorsOf('connections: {}\nroutes: []\nextra: 1\n')).toEqual([
      'config/test.yaml: /connections: must NOT have fewer than 1 properties',
      'config/test.yaml: /extra: is not a known property',
    ]);
  });

  it('reports a YAML syntax error with its line', () => {
    const [error] = errorsOf('connections:\n  a: [\n');
    expect(error).toMatch(/^config\/test\.yaml: line \d+: YAML: /);
  });

  it('`caseway validate` exits 2 with the message and 0 for a valid file', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-validate-'));
    const bad = path.join(dir, 'bad.yaml');
    const good = path.join(dir, 'good.yaml');
    writeFileSync(bad, VALID.replace('action: record', 'action: recrd'));
    writeFileSync(good, VALID);
    const cli = path.resolve(__dirname, '../../dist/src/cli/main.js');
    const env = { ...process.env, SINK_LABEL: 'x' };
    const failed = spawnSync(process.execPath, [cli, '--adapter-dir', FIXTURE_ADAPTER_DIR, 'validate', bad], { env, encoding: 'utf8' });
    expect(failed.status).toBe(2);
    expect(failed.stderr).toContain('/routes/0/to/0/action: unknown action "recrd" for adapter "recorder" (known: record)');
    expect(failed.stderr).toContain('the configuration is invalid; nothing was started');
    const passed = spawnSync(process.execPath, [cli, '--adapter-dir', FIXTURE_ADAPTER_DIR, 'validate', good], { env, encoding: 'utf8' });
    expect(passed.stderr).toBe('');
    expect(passed.status).toBe(0);
    expect(passed.stdout).toMatch(/good\.yaml: valid \(2 connections, 1 routes\)/);
  });
});
