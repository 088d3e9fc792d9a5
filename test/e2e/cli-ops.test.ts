/** The CLI as an operator uses it: --version, flags checked before anything starts, replay / discard with filters. */
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { packageRoot } from '../../src/cli/options';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { CLI, CLI_TIMEOUT_MS, cliSetup, runCaseway } from '../helpers/cli';
import { FIXTURE_ADAPTER_DIR, eventually, startTestHub, type TestHub } from '../helpers/hub';
import { REDIS_URL } from '../helpers/redis';

const YAML = `
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 1, backoffMs: 20 } }
routes:
  - name: to-sink
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

const bare = (args: string[], cwd = process.cwd()) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', timeout: CLI_TIMEOUT_MS, cwd, env: { ...process.env, PORT: '' } });

describe('caseway CLI', () => {
  it('prints its version', () => {
    const r = bare(['--version']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('refuses a bad flag on one line with exit 2 before starting anything', () => {
    const r = bare(['--port', 'abc', 'start']);
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe('caseway: --port must be a port number from 0 to 65535, not "abc"');
    expect(r.stdout).toBe('');
    const level = bare(['--log-level', 'loud', 'validate']);
    expect(level.status).toBe(2);
    expect(bare(['replay', '--no-such-flag']).status).toBe(2);
    // A valid port is accepted (validate runs without Redis or sandboxes).
    expect(bare(['--port', '8123', 'validate', path.join(packageRoot(), 'config/caseway.yaml')]).status).toBe(0);
  });

  it('shows the global flags and the exit codes in every subcommand help', () => {
    for (const cmd of ['replay', 'discard', 'start', 'demo']) {
      const r = bare([cmd, '--help']);
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('--config <file>');
      expect(r.stdout).toContain('Exit codes:');
    }
  });

  it('finds its samples from any folder', () => {
    expect(packageRoot(path.join(packageRoot(), 'dist', 'src', 'cli'))).toBe(packageRoot());
    expect(() => packageRoot('/')).toThrow(/cannot find/);
  });
});

describe('caseway replay / discard with filters', () => {
  let t: TestHub;
  const setup = cliSetup(YAML);
  const cli = (...args: string[]) => runCaseway(setup, t.prefix, args);

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, dataKey: setup.dataKey });
  });
  afterAll(async () => {
    await t.stop();
    setup.cleanup();
  });

  it('dry-runs as JSON, discards by code, replays the rest', async () => {
    const sink = new RedisConnectionState(t.redis, t.prefix, 'sink');
    await sink.set('mode', 'permanent');
    await t.hub.intake.ingest('inbox', 'inbox', [1, 2, 3].map((i) => ({ eventId: `e${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `c${i}` }, parties: [] } })));
    await eventually(async () => (await t.hub.deadLetters.list('sink')).length === 3, 10000, 'three dead letters');

    const dry = cli('replay', '--all', '--connection', 'sink', '--dry-run', '--json');
    expect(dry.status).toBe(0);
    const plan = JSON.parse(dry.stdout) as { action: string; dryRun: boolean; matched: number; items: Array<{ id: string; code: string }> };
    expect(plan).toMatchObject({ action: 'replay', dryRun: true, matched: 3 });
    expect(await t.hub.deadLetters.list('sink')).toHaveLength(3); // nothing changed

    expect(cli('replay', '--all', '--connection', 'nope', '--dry-run').status).toBe(2);
    const none = JSON.parse(cli('discard', '--all', '--connection', 'sink', '--code', 'NO_SUCH_CODE', '--json').stdout) as { matched: number };
    expect(none.matched).toBe(0);

    const code = plan.items[0].code;
    expect(code).toBeTruthy();
    // On a terminal (a pseudo-terminal from `script`) the bulk action draws a progress bar.
    const args = [CLI, '--config', setup.configFile, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--prefix', t.prefix, '--redis', REDIS_URL, 'discard', plan.items[0].id, '--connection', 'sink'];
    const tty = spawnSync('script', ['-qec', [process.execPath, ...args].map((a) => JSON.stringify(a)).join(' '), '/dev/null'], { encoding: 'utf8', timeout: CLI_TIMEOUT_MS, env: { ...process.env, CASEWAY_DATA_KEY: setup.dataKey } });
    expect(tty.stdout).toContain(`discarding [${'#'.repeat(30)}] 1/1`);
    expect(tty.stdout).toContain('discarded 1 of 1');
    expect(await t.hub.deadLetters.get('sink', plan.items[0].id)).toBeNull();
    const again = cli('discard', plan.items[0].id, '--connection', 'sink', '--json');
    expect(again.status).toBe(1);
    expect(again.stderr.trim()).toBe(`caseway discard: no dead letter ${plan.items[0].id} on connection sink`);

    await sink.del('mode');
    const replay = cli('replay', '--all', '--connection', 'sink', '--code', code);
    expect(replay.status).toBe(0);
    expect(replay.stdout.trim()).toBe('replayed 2 of 2');
    expect(replay.stderr).toBe(''); // no progress bar when stderr is not a terminal
    await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === 2, 10000, 'both delivered');
    const audit = await t.hub.deadLetters.auditLog();
    expect(audit.filter((a) => a.action === 'bulk-replay' && a.by === 'cli')).toHaveLength(1);
    expect(audit.filter((a) => a.action === 'discard' && a.by === 'cli')).toHaveLength(1);
  }, 180_000); // seven `caseway` processes one after another, each slow to start on a loaded machine
});
