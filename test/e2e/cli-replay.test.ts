/** `caseway dead-letters` and `caseway replay` against a hub's Redis, as an operator at a terminal would use them. */
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { cliSetup, runCaseway } from '../helpers/cli';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';

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
  const setup = cliSetup(YAML);
  const cli = (...args: string[]) => runCaseway(setup, t.prefix, args);

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, dataKey: setup.dataKey });
  });
  afterAll(async () => {
    await t.stop();
    setup.cleanup();
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
