/**
 * End to end through a real hub: the ETD form posts to Caseway's /etd/application, the case is stored and visible
 * at /api/cases/:appRefNumber, and the route delivers it to the sandbox IIZUKA Case Manager.
 */
import { createLogger } from '../../../src/core/logger';
import { deliveryQueueName } from '../../../src/core/queues';
import { keysWithPrefix } from '../../../src/core/redis';
import { metricsPlugin } from '../../../src/ops';
import { PrometheusMetrics } from '../../../src/ops/metrics';
import { eventually, startTestHub, type TestHub } from '../../../test/helpers/hub';
import type { JsonObject } from '../src/json';
import { edit, postJson, request, SEED_ERRORS, seedBody, validBody } from './support';

const KEY = 'etd-hub-test-key-0123456789';
const YAML = `
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys:
          - { name: etd-web-form, key: "\${ETD_TEST_FORM_KEY}", allowIps: ["127.0.0.1", "::1"] }
  iizuka:
    adapter: etd
    sandbox: true
    delivery: { attempts: 3, backoffMs: 50 }
routes:
  - name: etd-to-iizuka
    from: { connection: etd-form, source: application }
    to:
      - { connection: iizuka, action: submitApplication }
`;

interface TraceEntry {
  stage: string;
  connection?: string;
  summary?: Record<string, unknown>;
  error?: { fields?: unknown; retryable?: boolean; status?: number; code?: string; message?: string };
}

describe('ETD through the hub', () => {
  let t: TestHub;
  let sandboxUrl: string;
  const form = (body: unknown) => postJson(`${t.baseUrl}/etd/application`, body, { 'X-API-Key': KEY });
  const trace = async (id: string) => ((await request(`${t.baseUrl}/api/cases/${id}/trace`, { method: 'GET' })).json as { trace: TraceEntry[] }).trace;
  const held = async () => (await request(`${sandboxUrl}/_sandbox/applications`, { method: 'GET' })).json as Array<{ appRefNumber: string; etdApp: JsonObject }>;

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, env: { ETD_TEST_FORM_KEY: KEY } });
    sandboxUrl = t.hub.sandboxes.get('iizuka')?.urls.api ?? '';
  });
  afterAll(async () => t?.stop());

  test('a fully valid application: 200 appRefNumber, the case at /api/cases/:id, then delivered to the case manager', async () => {
    const reply = await form(validBody());
    expect(reply.status).toBe(200);
    const { appRefNumber } = reply.json as { appRefNumber: string };
    expect(appRefNumber).toMatch(/^ETD[0-9A-Z]{10}$/);

    const found = await request(`${t.baseUrl}/api/cases/${appRefNumber}`, { method: 'GET' });
    expect(found.status).toBe(200);
    const { hubId, case: kase } = found.json as { hubId: string; case: { type: string; source: { id: string }; parties: Array<{ roles: string[]; person?: { surname?: string } }> } };
    expect(kase.type).toBe('etd-application');
    expect(kase.source.id).toBe(appRefNumber);
    expect(kase.parties.find((p) => p.roles.includes('applicant'))?.person?.surname).toBe('Example');

    const delivered = await eventually(async () => (await trace(hubId)).find((e) => e.stage === 'delivered' && e.connection === 'iizuka'), 15000, 'delivery to iizuka');
    expect(delivered.summary).toEqual({ appRefNumber: '12345', status: 200 });
    const stored = await held();
    expect(stored.map((a) => a.appRefNumber)).toEqual(['12345']);
    expect(stored[0].etdApp).toEqual(validBody().etdApp);
    const refs = ((await request(`${t.baseUrl}/api/cases/12345`, { method: 'GET' })).json as { hubId: string; references: Array<Record<string, string>> });
    expect(refs.hubId).toBe(hubId);
    expect(refs.references).toEqual(expect.arrayContaining([{ system: 'etd', connection: 'iizuka', id: '12345', kind: 'appRefNumber' }]));

    // The same application again: the same number, the same case, nothing new at the case manager.
    const again = await form(validBody());
    expect(again.json).toEqual({ appRefNumber });
    expect(((await request(`${t.baseUrl}/api/cases/${appRefNumber}`, { method: 'GET' })).json as { hubId: string }).hubId).toBe(hubId);
    // A delivery of the repeat would be queued before this later application: once that one is delivered and the
    // queue is idle, the repeat would have reached the case manager too.
    const later = (await form(edit(validBody(), 'etdApp.journeyDetails.travelPurpose', 'Business'))).json as { appRefNumber: string };
    const laterHub = ((await request(`${t.baseUrl}/api/cases/${later.appRefNumber}`, { method: 'GET' })).json as { hubId: string }).hubId;
    const queue = t.hub.runtime.queues.get(deliveryQueueName('iizuka'));
    await eventually(async () => {
      if (!(await trace(laterHub)).some((e) => e.stage === 'delivered')) return false;
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
      return counts.waiting + counts.active + counts.delayed === 0;
    }, 15000, 'the later application delivered and the queue idle');
    expect(await held()).toHaveLength(2);
  });

  test('the seed example: 422 with the exact list', async () => {
    const reply = await form(seedBody());
    expect(reply.status).toBe(422);
    expect(reply.json).toEqual({ errors: SEED_ERRORS });
  });

  test('a 500 from the case manager is retried; a 422 dead-letters with the field errors on the trace', async () => {
    await postJson(`${sandboxUrl}/_sandbox/fail-next`, { status: 500 });
    const retried = (await form(edit(validBody(), 'etdApp.journeyDetails.travelPurpose', 'Work'))).json as { appRefNumber: string };
    const hubA = ((await request(`${t.baseUrl}/api/cases/${retried.appRefNumber}`, { method: 'GET' })).json as { hubId: string }).hubId;
    await eventually(async () => (await trace(hubA)).some((e) => e.stage === 'delivered'), 15000, 'delivery after a retry');
    expect((await trace(hubA)).filter((e) => e.connection === 'iizuka' && e.stage !== 'routed').map((e) => e.stage)).toEqual(['retrying', 'delivered']);

    await postJson(`${sandboxUrl}/_sandbox/fail-next`, { status: 422, body: { errors: [{ 'appDetails.birthDate': 'Invalid format' }] } });
    const rejected = (await form(edit(validBody(), 'etdApp.journeyDetails.travelPurpose', 'Study'))).json as { appRefNumber: string };
    const hubB = ((await request(`${t.baseUrl}/api/cases/${rejected.appRefNumber}`, { method: 'GET' })).json as { hubId: string }).hubId;
    const dead = await eventually(async () => (await trace(hubB)).find((e) => e.stage === 'dead'), 15000, 'dead letter');
    // The trace names the field paths only; the peer's words are kept encrypted for operators.
    expect(dead.error).toMatchObject({ retryable: false, status: 422, fields: ['appDetails.birthDate'] });
    expect(JSON.stringify(dead)).not.toContain('Invalid format');
    expect(JSON.stringify(dead)).not.toContain('Example');
  });

  test('a 500 after the write is recorded as an uncertain outcome on the trace, and the delivery that follows says so', async () => {
    await postJson(`${sandboxUrl}/_sandbox/fail-next`, { status: 503 });
    const posted = (await form(edit(validBody(), 'etdApp.journeyDetails.travelPurpose', 'Family'))).json as { appRefNumber: string };
    const hubId = ((await request(`${t.baseUrl}/api/cases/${posted.appRefNumber}`, { method: 'GET' })).json as { hubId: string }).hubId;
    await eventually(async () => (await trace(hubId)).some((e) => e.stage === 'delivered'), 15000, 'delivery after an uncertain attempt');
    const entries = (await trace(hubId)).filter((e) => e.connection === 'iizuka' && e.stage !== 'routed');
    expect(entries.map((e) => [e.stage, e.summary?.outcome ?? null, e.summary?.afterUncertainOutcome ?? null])).toEqual([
      ['retrying', 'uncertain', null],
      ['delivered', null, true],
    ]);
  });

  test('the negative: a 429 (refused, not done) is not uncertain', async () => {
    await postJson(`${sandboxUrl}/_sandbox/fail-next`, { status: 429 });
    const posted = (await form(edit(validBody(), 'etdApp.journeyDetails.travelPurpose', 'Medical'))).json as { appRefNumber: string };
    const hubId = ((await request(`${t.baseUrl}/api/cases/${posted.appRefNumber}`, { method: 'GET' })).json as { hubId: string }).hubId;
    await eventually(async () => (await trace(hubId)).some((e) => e.stage === 'delivered'), 15000, 'delivery after a 429');
    const entries = (await trace(hubId)).filter((e) => e.connection === 'iizuka' && e.stage !== 'routed');
    expect(entries.map((e) => [e.stage, e.summary?.outcome ?? null])).toEqual([
      ['retrying', null],
      ['delivered', null],
    ]);
  });

  test('an oversized reply dead-letters as "reply too large" on the first attempt', async () => {
    await postJson(`${sandboxUrl}/_sandbox/fail-next`, { streamBytes: 11 * 1024 * 1024 });
    const posted = (await form(edit(validBody(), 'etdApp.journeyDetails.travelPurpose', 'Tourism'))).json as { appRefNumber: string };
    const hubId = ((await request(`${t.baseUrl}/api/cases/${posted.appRefNumber}`, { method: 'GET' })).json as { hubId: string }).hubId;
    const dead = await eventually(async () => (await trace(hubId)).find((e) => e.stage === 'dead' && e.connection === 'iizuka'), 15000, 'dead letter');
    expect(dead.error).toMatchObject({ code: 'REPLY_TOO_LARGE', retryable: false });
    expect(String((dead.error as { message?: unknown }).message)).toContain('reply too large');
    expect((await trace(hubId)).filter((e) => e.connection === 'iizuka' && e.stage === 'retrying')).toEqual([]);
  });
});

describe('ETD through the hub: a representative block with the form\'s own field names, to a peer on the 2015 spec', () => {
  const FORM_KEY = 'etd-hub-keep-key-0123456789';
  // Values that appear nowhere else, so finding one anywhere means it leaked.
  const PERSONAL = ['Zebedeequoll', 'Agentsonwick', '+351 934 567 890', 'Rua Quollinha 7'];
  const lines: string[] = [];
  const metrics = new PrometheusMetrics({ defaultMetrics: false, stateCacheMs: 0 });
  let t: TestHub;

  beforeAll(async () => {
    t = await startTestHub({
      yaml: `
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys: [{ name: etd-web-form, key: "${FORM_KEY}" }]
        validation: { unknownFields: keep, representativeRequired: [surname] }
  iizuka-2015:
    adapter: etd
    sandbox: true
    settings: { passportIssuedInUKField: passwordIssuedInUK }
routes:
  - name: etd-to-iizuka-2015
    from: { connection: etd-form, source: application }
    to: [{ connection: iizuka-2015, action: submitApplication }]
`,
      log: createLogger({ level: 'trace', destination: { write: (line: string) => void lines.push(line) } }),
      metrics,
      httpPlugins: [metricsPlugin(metrics)],
    });
  });
  afterAll(async () => t?.stop());

  test('accepted, stored, delivered with the block as it came and passwordIssuedInUK; its values in no log line, trace, metric or plaintext Redis value', async () => {
    const body = validBody();
    const representative = { surname: PERSONAL[1], agentName: PERSONAL[0], agentPhone: PERSONAL[2], agentAddress: PERSONAL[3], agentRef: 4242 };
    (body.etdApp as JsonObject).representative = representative;
    const reply = await postJson(`${t.baseUrl}/etd/application`, body, { 'X-API-Key': FORM_KEY });
    expect(reply.status).toBe(200);
    const { appRefNumber } = reply.json as { appRefNumber: string };
    const { hubId } = (await request(`${t.baseUrl}/api/cases/${appRefNumber}`, { method: 'GET' })).json as { hubId: string };
    const traceOf = async () => ((await request(`${t.baseUrl}/api/cases/${hubId}/trace`, { method: 'GET' })).json as { trace: TraceEntry[] }).trace;
    await eventually(async () => (await traceOf()).some((e) => e.stage === 'delivered'), 15000, 'delivery to iizuka-2015');

    const sandboxUrl = t.hub.sandboxes.get('iizuka-2015')?.urls.api ?? '';
    const [held] = (await request(`${sandboxUrl}/_sandbox/applications`, { method: 'GET' })).json as Array<{ etdApp: JsonObject }>;
    expect(held.etdApp.representative).toEqual(representative);
    const passport = held.etdApp.passportDetails as JsonObject;
    expect([passport.passwordIssuedInUK, passport.passportIssuedInUK]).toEqual(['n', undefined]);

    // The negative: a block without the configured required field is refused with the spec's error list.
    (body.etdApp as JsonObject).representative = { agentName: PERSONAL[0] };
    const refused = await postJson(`${t.baseUrl}/etd/application`, body, { 'X-API-Key': FORM_KEY });
    expect([refused.status, refused.text]).toEqual([422, '{"errors":[{"representative.surname":"Required"}]}']);

    const places = {
      logs: lines.join('\n'),
      trace: JSON.stringify(await traceOf()),
      metrics: (await request(`${t.baseUrl}/metrics`, { method: 'GET' })).text,
      redis: await redisText(t),
    };
    expect(places.logs).toContain('etd: application submitted');
    expect(places.metrics).toContain('iizuka-2015');
    for (const [place, text] of Object.entries(places)) {
      for (const personal of PERSONAL) expect({ place, leaked: text.includes(personal) }).toEqual({ place, leaked: false });
    }
  });
});

/** Every key and value under the hub's prefix, as text (payloads are encrypted, so no personal value may show). */
async function redisText(t: TestHub): Promise<string> {
  const out: string[] = [];
  for await (const batch of keysWithPrefix(t.redis, t.prefix)) {
    for (const key of batch) {
      const type = await t.redis.type(key);
      out.push(key);
      if (type === 'string') out.push((await t.redis.get(key)) ?? '');
      else if (type === 'list') out.push(...(await t.redis.lrange(key, 0, -1)));
      else if (type === 'hash') out.push(JSON.stringify(await t.redis.hgetall(key)));
      else if (type === 'set') out.push(...(await t.redis.smembers(key)));
      else if (type === 'zset') out.push(...(await t.redis.zrange(key, 0, -1)));
      else if (type === 'stream') out.push(JSON.stringify(await t.redis.xrange(key, '-', '+')));
    }
  }
  return out.join('\n');
}
