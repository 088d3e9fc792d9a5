/**
 * The logs of a full in-process run carry no personal data. Cases with distinctive names, birth dates, passport and
 * phone numbers, e-mails and addresses go through success, retry, dead letter, dry run (viewer and operator),
 * replay and every ops page, with logging at trace level; then the captured JSON lines are grepped for each value.
 * The same lines must carry correlation ids: the request id on every line written while handling a request,
 * the hub id on every line about a case.
 */
import { Writable } from 'node:stream';
import axios from 'axios';
import { createLogger } from '../../src/core/logger';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually } from '../helpers/hub';
import { OPERATOR, OpsClient, VIEWER, opsUsersYaml, startOpsHub, type OpsTestHub } from './helpers';

const PEOPLE = [
  {
    forenames: 'Philomena',
    surname: 'Zebedee-Outhwaite',
    birthDate: '1953-07-19',
    birthCity: 'Llanfairfechan',
    passport: 'P93C71X4Q',
    phone: '+44 7700 900417',
    email: 'philomena.quark@example.test',
    street: '221C Wisteria Crescent',
    town: 'Whinging Parva',
    postcode: 'ZZ9 9QZ',
  },
  {
    forenames: 'Barnabus',
    surname: 'Quillfeather',
    birthDate: '1988-12-02',
    birthCity: 'Tobermory',
    passport: 'K55R20M8L',
    phone: '+44 7700 900826',
    email: 'b.quillfeather@example.test',
    street: '9 Marigold Wynd',
    town: 'Kirkby Lonsbottom',
    postcode: 'QX1 4ZZ',
  },
];

type Person = (typeof PEOPLE)[number];

function personalCase(eventId: string, sourceId: string, p: Person) {
  return {
    eventId,
    case: {
      type: 'complaint',
      title: `Complaint from ${p.forenames} ${p.surname}`,
      summary: `Call ${p.phone} or write to ${p.email}`,
      source: { system: 'recorder', id: sourceId },
      references: [{ system: 'platform121', id: `REF-${sourceId}`, kind: 'referenceId' }],
      parties: [
        {
          roles: ['customer'],
          person: {
            forenames: p.forenames,
            surname: p.surname,
            fullName: `${p.forenames} ${p.surname}`,
            birthDate: p.birthDate,
            birthPlace: { city: p.birthCity, country: 'GB' },
            identityDocuments: [{ type: 'passport', number: p.passport, issuingCountry: 'GB' }],
          },
          addresses: [{ kind: 'residential', lines: [p.street], town: p.town, postcode: p.postcode, country: 'GB' }],
          contacts: [
            { kind: 'mobile', value: p.phone },
            { kind: 'email', value: p.email },
          ],
        },
      ],
      notes: [{ text: `Spoke to ${p.forenames} about the address ${p.street}` }],
    },
  };
}

describe('logs of a full run', () => {
  const lines: string[] = [];
  let t: OpsTestHub;
  let alpha: RedisConnectionState;
  let beta: RedisConnectionState;
  let apiAnswer = '';
  const listPages: string[] = [];
  let operatorDryRun = '';

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    t = await startOpsHub({
      log: createLogger({ level: 'trace', destination: sink }),
      defaultMetrics: false,
      yaml: `${await opsUsersYaml()}
connections:
  inbox: { adapter: recorder }
  alpha: { adapter: recorder, delivery: { attempts: 3, backoffMs: 20 } }
  beta: { adapter: recorder, delivery: { attempts: 2, backoffMs: 20 } }
routes:
  - name: complaints
    from: { connection: inbox, source: inbox }
    to:
      - { connection: alpha, action: record }
      - { connection: beta, action: record, mapping: { set: { status: mapped } } }
`,
    });
    alpha = new RedisConnectionState(t.redis, t.prefix, 'alpha');
    beta = new RedisConnectionState(t.redis, t.prefix, 'beta');

    // Success on alpha after two retryable failures for the first case; beta refuses everything at first.
    await alpha.set('fail:case-one', '2');
    await beta.set('mode', 'permanent');
    const posted = await axios.post(`${t.baseUrl}/recorder/inbox`, [personalCase('ev-1', 'case-one', PEOPLE[0]), personalCase('ev-2', 'case-two', PEOPLE[1])]);
    const hubIds = (posted.data.results as Array<{ hubId: string }>).map((r) => r.hubId);
    await axios.post(`${t.baseUrl}/recorder/inbox`, personalCase('ev-1', 'case-one', PEOPLE[0])); // a duplicate
    await eventually(async () => Object.keys(await alpha.hashGetAll('deliveries')).length === 2, 10000, 'alpha deliveries');
    const dead = await eventually(async () => {
      const list = await t.hub.deadLetters.list('beta');
      return list.length === 2 ? list : undefined;
    }, 10000, 'two dead letters on beta');
    await beta.del('mode');

    // Every ops page, as viewer and as operator; a failed sign-in with a password in it.
    await new OpsClient(t.baseUrl).login({ name: OPERATOR.name, password: PEOPLE[0].passport });
    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    const operator = new OpsClient(t.baseUrl);
    await operator.login(OPERATOR);
    for (const c of [viewer, operator]) {
      for (const page of ['/ops', '/ops/reconciliation', '/ops/audit', '/ops/api/overview', `/ops/cases?q=REF-case-one`, `/ops/cases/${hubIds[0]}`, `/ops/api/cases/${hubIds[1]}`, '/ops/cases', '/ops/api/cases', '/ops/dead-letters', '/ops/api/dead-letters']) {
        const res = await c.get(page);
        // The list pages show ids, states and safe error messages only, to every role.
        if (['/ops/cases', '/ops/api/cases', '/ops/dead-letters', '/ops/api/dead-letters'].includes(page)) listPages.push(String(res.data));
      }
      for (const d of dead) {
        await c.get(`/ops/dead-letters/beta/${d.id}/preview`);
        await c.get(`/ops/api/dead-letters/beta/${d.id}/dry-run`);
      }
      await c.get('/ops/queues');
      await c.get('/ops/queues/api/queues');
      await c.get(`/ops/queues/api/queues/deliver.beta/${dead[0].id}`);
    }
    operatorDryRun = JSON.stringify((await operator.getJson(`/ops/api/dead-letters/beta/${dead[1].id}/dry-run`)).data);
    await viewer.post(`/ops/dead-letters/beta/${dead[0].id}/replay`, { _csrf: viewer.csrf });
    await operator.refreshCsrf();
    await operator.post(`/ops/dead-letters/beta/${dead[0].id}/replay`, { _csrf: operator.csrf });
    await operator.post(`/ops/dead-letters/beta/${dead[1].id}/discard`, { _csrf: operator.csrf });
    await eventually(async () => (await beta.hashGetAll('deliveries'))[dead[0].id], 10000, 'replayed delivery');
    // The values did reach the hub (the API returns them to an integrator), so their absence from the logs means something.
    apiAnswer = JSON.stringify((await axios.get(`${t.baseUrl}/api/cases/${hubIds[0]}`)).data);
    await axios.get(`${t.baseUrl}/metrics`);
    await axios.get(`${t.baseUrl}/openapi.json`);
    await axios.get(`${t.baseUrl}/docs`);
    await t.stop();
  });

  it('captured a real run (requests, retries, dead letters, replays)', () => {
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toEqual(expect.arrayContaining(['hub started', 'request', 'delivery failed, will retry', 'delivery dead-lettered', 'ops sign-in', 'ops sign-in refused', 'ops replay', 'ops discard', 'hub stopped']));
    expect(lines.length).toBeGreaterThan(60);
  });

  it('pushed the personal data through the hub', () => {
    for (const v of Object.values(PEOPLE[0])) expect(apiAnswer).toContain(v);
    expect(PEOPLE.filter((p) => operatorDryRun.includes(p.passport) && operatorDryRun.includes(p.email))).toHaveLength(1);
  });

  it('shows no personal data on the case history and dead-letter lists', () => {
    expect(listPages.length).toBe(8);
    const text = listPages.join('\n').toLowerCase();
    expect(PEOPLE.flatMap((p) => Object.values(p)).filter((v) => text.includes(v.toLowerCase()))).toEqual([]);
  });

  it('holds none of the personal data values, nor a password', () => {
    const text = lines.join('\n').toLowerCase();
    const values = PEOPLE.flatMap((p) => Object.values(p));
    expect(values).toHaveLength(20);
    const found = [...values, OPERATOR.password, VIEWER.password].filter((v) => text.includes(v.toLowerCase()));
    expect(found).toEqual([]);
  });

  it('puts the request id on every line written while handling a request, and the hub id on case lines', () => {
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const requests = records.filter((r) => r.msg === 'request');
    expect(requests.length).toBeGreaterThan(30);
    for (const r of requests) expect(r.requestId).toMatch(/^[0-9a-f-]{36}$/);
    // Lines written by handlers (not the access line itself) carry the id through the async context.
    for (const msg of ['ops sign-in', 'ops sign-in refused', 'ops replay', 'ops discard']) {
      const line = records.find((r) => r.msg === msg)!;
      expect(line.requestId).toEqual(expect.any(String));
      expect(requests.some((r) => r.requestId === line.requestId)).toBe(true);
    }
    for (const r of records.filter((x) => x.msg === 'delivery failed, will retry' || x.msg === 'delivery dead-lettered')) expect(r.hubId).toEqual(expect.any(String));
    // Every line is either about the hub's lifecycle, or correlated to a request or a case.
    const uncorrelated = records.filter((r) => !r.requestId && !r.hubId).map((r) => r.msg);
    for (const msg of uncorrelated) expect(['hub started', 'workers started', 'hub stopped', 'connection circuit changed']).toContain(msg);
  });
});
