/** `caseway dead-letters` and `caseway replay` against a hub's Redis, as an operator at a terminal would use them. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { FIXTURE_ADAPTER_DIR, eventually, startTestHub, type TestHub } from '../helpers/hub';
import { REDIS_URL } from '../helpers/redis';

const CLI = path.resolve(__dirname, '../../dist/src/cli/main.js');
const YAML = `
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 2, backoffMs: 50 } }
routes:
  - name: to-sink
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

describe('caseway dead-letters / replay', () => {
  let t: TestHub;
  const dataKey = PayloadCipher.generateKey();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-replay-'));
  const configFile = path.join(dir, 'caseway.yaml');
  writeFileSync(configFile, YAML);
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, [CLI, '--config', configFile, '--adapter-dir', FIXTURE_ADAPTER_DIR, '--prefix', t.prefix, '--redis', REDIS_URL, ...args], { encoding: 'utf8', env: { ...process.env, CASEWAY_DATA_KEY: dataKey }, timeout: 20000 });

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, dataKey });
  });
  afterAll(async () => {
    await t.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists dead letters, refuses an unknown id, and replays all of a connection after the fix', async () => {
    const sink = new RedisConnectionState(t.redis, t.prefix, 'sink');
    await sink.set('mode', 'permanent');
    const results = await t.hub.intake.ingest('inbox', 'inbox', [1, 2].map((i) => ({ eventId: `e${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `c${i}` }, parties: [] } })));
    await eventually(async () => (await t.hub.deadLetters.list('sink')).length === 2, 10000, 'two dead letters');

    const listed = cli('dead-letters', '--connection', 'sink');
    expect(listed.status).toBe(0);
    const lines = listed.stdout.trim().split('\n');
    expect(lines.pop()).toBe('2 dead letter(s)');
    for (const r of results) expect(lines.some((l) => l.includes(r.hubId) && l.includes('recorder refuses this case'))).toBe(true);

    const unknown = cli('replay', '--connection', 'sink', 'd-nope');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trim()).toBe('caseway replay: no dead letter d-nope on connection sink');

    await sink.del('mode');
    const replayed = cli('replay', '--connection', 'sink', '--all', '--route', 'to-sink');
    expect(replayed.stdout.trim()).toBe('replayed 2 of 2');
    await eventually(async () => Object.keys(await sink.hashGetAll('deliveries')).length === 2, 10000, 'both delivered after replay');
    expect((await t.hub.deadLetters.auditLog()).filter((a) => a.action === 'replay' && a.by === 'cli')).toHaveLength(2);
  });
});
