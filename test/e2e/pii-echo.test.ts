/**
 * Peers that echo personal data in their errors: iCasework in X-Application-Error-Info (and its HTML body), the
 * IIZUKA Case Manager in a 422 message ("Surname X (born ...)"). None of the planted strings may reach a log line,
 * any Redis key, /api/cases/:id/trace, /api/dead-letters, or an /ops page or JSON (queue dashboard included). Only
 * the operator's audited "peer error texts" page shows them, decrypted.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import type { Redis } from 'ioredis';
import { createLogger } from '../../src/core/logger';
import { IcaseworkSandbox } from '../../adapters/icasework/sandbox';
import { EtdSandbox } from '../../adapters/etd/sandbox/server';
import { eventually } from '../helpers/hub';
import { OPERATOR, OpsClient, VIEWER, opsUsersYaml, startOpsHub, type OpsTestHub } from '../ops/helpers';

const PLANTED = ['Quixotelmann', '1931-07-14', 'quixote@planted.example', 'PLNT998877', 'Vonplantedberg', '14/07/1931'];
const FORM_KEY = 'pii-echo-form-key-0123456789';

/** Every value under the prefix, whatever its type, as text. */
async function redisDump(redis: Redis, prefix: string): Promise<string> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'string') out.push(key, (await redis.get(key)) ?? '');
      else if (type === 'list') out.push(key, ...(await redis.lrange(key, 0, -1)));
      else if (type === 'hash') out.push(key, JSON.stringify(await redis.hgetall(key)));
      else if (type === 'set') out.push(key, ...(await redis.smembers(key)));
      else if (type === 'zset') out.push(key, ...(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(key, JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return out.join('\n');
}

describe('peer errors that echo personal data', () => {
  let t: OpsTestHub;
  let icw: IcaseworkSandbox;
  let etd: EtdSandbox;
  const logLines: string[] = [];

  beforeAll(async () => {
    icw = await new IcaseworkSandbox({}).start();
    etd = await EtdSandbox.start({});
    const yaml = `${await opsUsersYaml()}
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys: [{ name: web-form, key: "${FORM_KEY}" }]
  icasework:
    adapter: icasework
    settings: ${JSON.stringify({ ...icw.connectionSettings(), retryBaseDelayMs: 10 })}
    delivery: { attempts: 2, backoffMs: 20 }
  iizuka:
    adapter: etd
    settings: ${JSON.stringify(etd.connectionSettings())}
    delivery: { attempts: 2, backoffMs: 20 }
routes:
  - name: etd-applications
    from: { connection: etd-form, source: application }
    to:
      - { id: icasework-case, connection: icasework, action: createCase, options: { caseType: EmergencyTravelDocument, customerRole: applicant } }
      - { id: iizuka-application, connection: iizuka, action: submitApplication }
`;
    const log = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
    t = await startOpsHub({ yaml, log, defaultMetrics: false });
  });
  afterAll(async () => {
    await t?.stop();
    await icw?.stop();
    await etd?.stop();
  });

  it('keeps the echoed strings out of logs, Redis, the trace API and every /ops page; operators see them, audited', async () => {
    // The first attempt of each gets a retryable echo, the second a permanent one: both kinds are recorded.
    icw.failNext('createcase', { status: 503, headers: { 'X-Application-Error-Info': `Busy with Customer Quixotelmann (quixote@planted.example)` }, body: '<html>Quixotelmann</html>' });
    icw.failNext('createcase', {
      status: 400,
      headers: { 'X-Application-Error-Code': '1007', 'X-Application-Error-Info': 'Customer Quixotelmann born 1931-07-14 already exists (quixote@planted.example, PLNT998877)' },
      body: '<html><body>Customer Quixotelmann born 1931-07-14</body></html>',
      contentType: 'text/html',
    });
    etd.failNext({ status: 500, body: { errors: [{ 'appDetails.surname': 'Vonplantedberg is being checked' }] } });
    etd.failNext({ status: 422, body: { errors: [{ 'appDetails.surname': 'Surname Vonplantedberg (born 14/07/1931) does not match passport PLNT998877' }, { 'passportDetails.docNumber': 'PLNT998877 is not valid' }] } });

    const application = JSON.parse(readFileSync(path.resolve(__dirname, '../../config/samples/etd-application.json'), 'utf8')) as unknown;
    const posted = await axios.post(`${t.baseUrl}/etd/application`, application, { headers: { 'X-API-Key': FORM_KEY } });
    expect(posted.status).toBe(200);
    const appRef = (posted.data as { appRefNumber: string }).appRefNumber;
    const traceOf = async () => (await axios.get(`${t.baseUrl}/api/cases/${appRef}/trace`)).data as { hubId: string; trace: Array<{ stage: string; connection?: string; error?: Record<string, unknown> }> };
    const { hubId } = await eventually(async () => {
      const tr = await traceOf();
      return ['icasework', 'iizuka'].every((c) => tr.trace.some((e) => e.stage === 'dead' && e.connection === c)) ? tr : undefined;
    }, 20000, 'both deliveries dead-lettered');

    // The trace says what is safe: status, codes, field paths, a hash.
    const trace = (await traceOf()).trace;
    const etdDead = trace.find((e) => e.stage === 'dead' && e.connection === 'iizuka')!;
    expect(etdDead.error).toMatchObject({ status: 422, fields: ['appDetails.surname', 'passportDetails.docNumber'], hasPeerDetail: true, detailHash: expect.stringMatching(/^[0-9a-f]{16}$/) });
    // The hash is keyed from the hub's data key (HMAC), not the plain SHA-256 that hashing guesses would reverse.
    const sealed = Object.values(await t.hub.runtime.cases.peerErrors(hubId)) as Array<{ connection: string; peerDetail?: string; fields?: unknown[] }>;
    const etdTexts = sealed.filter((r) => r.connection === 'iizuka').map((r) => JSON.stringify({ ...(r.peerDetail ? { peerDetail: r.peerDetail } : {}), ...(r.fields ? { fields: r.fields } : {}) }));
    expect(etdTexts.map((x) => t.hub.runtime.detailHasher.hash(x))).toContain(etdDead.error?.detailHash);
    expect(etdTexts.map((x) => createHash('sha256').update(x).digest('hex').slice(0, 16))).not.toContain(etdDead.error?.detailHash);
    const icwDead = trace.find((e) => e.stage === 'dead' && e.connection === 'icasework')!;
    expect(icwDead.error).toMatchObject({ status: 400, peerCode: '1007', hasPeerDetail: true });

    const operator = new OpsClient(t.baseUrl);
    await operator.login(OPERATOR);
    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    const seen: Array<[string, string]> = [];
    const take = (where: string, body: unknown) => seen.push([where, typeof body === 'string' ? body : JSON.stringify(body)]);

    take('GET /api/cases/:id/trace', await traceOf());
    take('GET /api/dead-letters', (await axios.get(`${t.baseUrl}/api/dead-letters`)).data);
    const dead = (await t.hub.deadLetters.list()).filter((d) => d.hubId === hubId);
    expect(dead).toHaveLength(2);
    for (const client of [operator, viewer]) {
      const pages = ['/ops', `/ops/cases/${hubId}`, `/ops/api/cases/${hubId}`, '/ops/api/overview', '/ops/reconciliation', '/ops/audit', '/ops/queues/api/queues?activeQueue=deliver.icasework&status=failed', '/ops/queues/api/queues?activeQueue=deliver.iizuka&status=failed'];
      for (const p of pages) {
        const res = await client.get(p);
        expect([p, res.status]).toEqual([p, 200]);
        take(p, res.data);
      }
      for (const d of dead) take('dry run', (await client.get(`/ops/dead-letters/${d.connection}/${d.id}/preview`)).data);
    }
    const casePage = seen.find(([w]) => w === `/ops/cases/${hubId}`)![1];
    expect(casePage).toContain('id="peer-errors"');

    take('logs', logLines.join(''));
    take('redis', await redisDump(t.redis, t.prefix));
    expect(logLines.join('')).toContain('delivery dead-lettered');
    const leaks = () => seen.flatMap(([where, text]) => PLANTED.filter((s) => text.includes(s)).map((s) => `${s} in ${where}`));
    expect(leaks()).toEqual([]);

    // Only the operator's page shows them, and the viewing is audited; viewers are refused.
    expect((await viewer.get(`/ops/cases/${hubId}/peer-errors`)).status).toBe(403);
    const full = await operator.get(`/ops/cases/${hubId}/peer-errors`);
    expect(full.status).toBe(200);
    for (const s of PLANTED) expect([s, (full.data as string).includes(s)]).toEqual([s, true]);
    const audit = await eventually(async () => (await t.hub.deadLetters.auditLog()).find((a) => a.action === 'view-peer-errors' && a.hubId === hubId), 3000, 'the audit entry');
    expect(audit.by).toBe(`ops:${OPERATOR.name}`);
    seen.length = 0;
    take('/ops/audit after viewing', (await operator.get('/ops/audit')).data);
    take('logs after viewing', logLines.join(''));
    take('redis after viewing', await redisDump(t.redis, t.prefix));
    expect(leaks()).toEqual([]);
  });
});
