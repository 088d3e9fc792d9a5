/**
 * Through a real hub on real Redis and loopback HTTP: the sandbox's sender signs cases and posts them to
 * POST /webhooks/<connection>; the hub stores and routes them, and action post delivers them back to the sandbox's
 * receiver (which verifies each signature with the standardwebhooks library). Dead letter, dry run and replay too.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import express from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RetryableError } from '../../../src/core/errors';
import { opsPlugins } from '../../../src/ops';
import { dryRun } from '../../../src/ops/dry-run';
import { PrometheusMetrics } from '../../../src/ops/metrics';
import { adapterHarness } from '../../../test/helpers/adapter-harness';
import { eventually, startTestHub, type TestHub } from '../../../test/helpers/hub';
import { testRedis } from '../../../test/helpers/redis';

import adapter from '../index';
import type { ReceivedDelivery, SandboxRequest } from '../sandbox';
import { newSecret } from '../sandbox';
import { createReceiveHandler } from '../src/receive';
import type { WebhookSettings } from '../src/settings';
import { signatureHeaders } from '../src/signing';
import { SURNAME, request, sampleCase } from './support';

const SENDER = newSecret();
const MAPPING = `{
  "type": kind,
  "source": {"system": "upstream", "id": ref},
  "parties": [{"roles": ["applicant"], "person": {"forenames": person.first, "surname": person.last}}],
  "extensions": {"webhook": {"count": $number(count), "webhookId": $webhookId}}
}`;
const YAML = `
connections:
  any-system:
    adapter: webhook
    sandbox: true
    delivery: { attempts: 2, backoffMs: 50 }
    settings:
      inbound: { secrets: ["\${WH_TEST_SENDER}"] }
  mapped-in:
    adapter: webhook
    settings:
      inbound: { secrets: ["\${WH_TEST_SENDER}"], toleranceSeconds: 3600, bodyLimitBytes: 4096 }
    sources:
      receive:
        options:
          expression: ${JSON.stringify(MAPPING)}
routes:
  - name: any-in
    from: { connection: any-system, source: receive }
    to:
      - id: echo
        connection: any-system
        action: post
        options: { referencePointer: /id, expression: '{"type": "case.received", "data": $}' }
  - name: mapped-in
    from: { connection: mapped-in, source: receive }
    to:
      - { connection: any-system, action: post }
`;

interface SendReply {
  webhookId: string;
  status: number;
  contentType: string | null;
  body: { hubId?: string; duplicate?: boolean; type?: string; title?: string; status?: number; errors?: Array<{ pointer: string; message: string }> };
}
interface TraceEntry {
  stage: string;
  route?: string;
  deliveryId?: string;
  error?: Record<string, unknown>;
}

describe('webhook through the hub', () => {
  let t: TestHub;
  let sandboxUrl = '';
  const api = (path: string) => `${t.baseUrl}${path}`;
  const send = async (body: unknown, more: { webhookId?: string; timestamp?: number; tamper?: boolean; contentType?: string; to?: string } = {}): Promise<SendReply> => {
    const reply = await request(`${sandboxUrl}/_sandbox/send`, {
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ url: api(more.to ?? '/webhooks/any-system'), body, ...more }),
    });
    return reply.json as SendReply;
  };
  const trace = async (hubId: string) => ((await request(api(`/api/cases/${hubId}/trace`), { method: 'GET' })).json as { trace: TraceEntry[] }).trace;
  const deliveries = async () => (await request(`${sandboxUrl}/_sandbox/deliveries`, { method: 'GET' })).json as ReceivedDelivery[];
  const received = async () => (await request(`${sandboxUrl}/_sandbox/requests`, { method: 'GET' })).json as SandboxRequest[];
  const forNext = (reply: Record<string, unknown>) => request(`${sandboxUrl}/_sandbox/fail-next`, { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(reply) });
  // Each its own source id: cases that name the same source id are one hub case.
  const kase = (title: string) => ({ ...sampleCase(), title, source: { system: 'upstream', id: `UP-${title}` } });

  beforeAll(async () => {
    const metrics = new PrometheusMetrics({ defaultMetrics: false, stateCacheMs: 0 });
    t = await startTestHub({ yaml: YAML, env: { WH_TEST_SENDER: SENDER }, metrics, httpPlugins: opsPlugins(metrics) });
    sandboxUrl = t.hub.sandboxes.get('any-system')?.urls.api ?? '';
  });
  afterAll(async () => t?.stop());

  test('a signed canonical case: 202 with the hub id once stored; routed and delivered, signed, to the receiver', async () => {
    const reply = await send(kase('first'), { webhookId: 'msg_first' });
    expect(reply.status).toBe(202);
    const { hubId } = reply.body;
    expect(reply.body).toEqual({ hubId: expect.any(String), duplicate: false });
    const stored = (await request(api(`/api/cases/${hubId}`), { method: 'GET' })).json as { case: { source: Record<string, string>; parties: Array<{ person: { surname: string } }> } };
    expect(stored.case.source).toMatchObject({ system: 'webhook', connection: 'any-system', eventId: 'msg_first', id: 'UP-first' });
    expect(stored.case.parties[0].person.surname).toBe(SURNAME);
    const delivered = await eventually(async () => (await deliveries()).find((d) => (d.body as { data?: { hubId?: string } }).data?.hubId === hubId), 15000, 'the echo delivery');
    expect(delivered).toMatchObject({ count: 1, body: { type: 'case.received', data: { title: 'first' } } });
    const refs = (await request(api(`/api/cases/${hubId}`), { method: 'GET' })).json as { references: Array<Record<string, string>> };
    expect(refs.references).toEqual(expect.arrayContaining([{ system: 'webhook', connection: 'any-system', id: delivered.id, kind: 'id' }]));
  });

  test('a replayed webhook-id is acknowledged with the same hub id and makes no second case', async () => {
    const first = await send(kase('replay me'), { webhookId: 'msg_replay' });
    await eventually(async () => (await trace(first.body.hubId ?? '')).some((e) => e.stage === 'delivered'), 15000, 'the first delivery');
    const again = await send(kase('replay me, changed'), { webhookId: 'msg_replay' });
    expect(again.status).toBe(202);
    expect(again.body).toEqual({ hubId: first.body.hubId, duplicate: true });
    const stages = (await trace(first.body.hubId ?? '')).map((e) => e.stage);
    expect(stages.filter((s) => s === 'received')).toHaveLength(1);
    expect(stages).toContain('deduplicated');
    expect((await deliveries()).filter((d) => (d.body as { data?: { hubId?: string } }).data?.hubId === first.body.hubId)).toHaveLength(1);
  });

  test('a tampered body, an old or future timestamp, missing headers, a wrong secret: refused as problem details', async () => {
    const tampered = await send(kase('tampered'), { tamper: true });
    expect(tampered).toMatchObject({ status: 401, contentType: expect.stringContaining('application/problem+json'), body: { status: 401, title: 'Unauthorized' } });
    const old = await send(kase('old'), { timestamp: Math.floor(Date.now() / 1000) - 600 });
    expect(old.status).toBe(401);
    const future = await send(kase('future'), { timestamp: Math.floor(Date.now() / 1000) + 600 });
    expect(future.status).toBe(401);
    const body = JSON.stringify(kase('unsigned'));
    const unsigned = await request(api('/webhooks/any-system'), { headers: { 'Content-Type': 'application/json' }, body });
    expect(unsigned.status).toBe(400);
    expect(unsigned.headers['content-type']).toContain('application/problem+json');
    const wrongSecret = await request(api('/webhooks/any-system'), { headers: { 'Content-Type': 'application/json', ...signatureHeaders(newSecret(), 'msg_wrong', body) }, body });
    expect(wrongSecret.status).toBe(401);
    // Nothing of these became a case.
    for (const id of ['msg_wrong', tampered.webhookId, old.webhookId]) expect((await request(api(`/api/cases/${id}`), { method: 'GET' })).status).toBe(404);
  });

  test('415 for a non-JSON content type, 400 for malformed JSON, 422 with JSON pointers for a body that is not a canonical case', async () => {
    expect((await send(kase('text'), { contentType: 'text/plain' })).status).toBe(415);
    const malformed = '{"type": ';
    const bad = await request(api('/webhooks/any-system'), { headers: { 'Content-Type': 'application/json', ...signatureHeaders(SENDER, 'msg_malformed', malformed) }, body: malformed });
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ title: 'Bad Request', type: expect.stringContaining('malformed-json') });
    const notCase = await send({ type: 'x', parties: [{ person: { surname: SURNAME } }], surname: SURNAME });
    expect(notCase.status).toBe(422);
    expect(notCase.body.errors?.map((e) => e.pointer).sort()).toEqual(['/', '/', '/parties/0']);
    expect(JSON.stringify(notCase.body)).not.toContain(SURNAME);
  });

  test('a 2 MB body over the default 1 MB limit answers 413; a configured lower limit applies too', async () => {
    const big = JSON.stringify({ ...sampleCase(), summary: 'x'.repeat(2 * 1024 * 1024) });
    const reply = await request(api('/webhooks/any-system'), { headers: { 'Content-Type': 'application/json', ...signatureHeaders(SENDER, 'msg_big', big) }, body: big });
    expect(reply.status).toBe(413);
    expect(reply.json).toMatchObject({ status: 413, title: 'Payload Too Large' });
    const five = await send({ kind: 'referral', ref: 'R-1', person: { first: 'A', last: 'B' }, count: '1', pad: 'x'.repeat(5000) }, { to: '/webhooks/mapped-in' });
    expect(five.status).toBe(413);
  });

  test('a JSONata mapping turns any JSON into a canonical case; its failure answers 422; the tolerance window is configurable', async () => {
    const tenMinutesAgo = Math.floor(Date.now() / 1000) - 600;
    const mapped = await send({ kind: 'referral', ref: 'R-2', person: { first: 'Alma', last: SURNAME }, count: '3' }, { to: '/webhooks/mapped-in', webhookId: 'msg_mapped', timestamp: tenMinutesAgo });
    expect(mapped.status).toBe(202);
    const stored = (await request(api(`/api/cases/${mapped.body.hubId}`), { method: 'GET' })).json as { case: Record<string, unknown> };
    expect(stored.case).toMatchObject({
      type: 'referral',
      source: { system: 'webhook', connection: 'mapped-in', id: 'R-2', eventId: 'msg_mapped' },
      parties: [{ roles: ['applicant'], person: { forenames: 'Alma', surname: SURNAME } }],
      extensions: { webhook: { count: 3, webhookId: 'msg_mapped' } },
    });
    const failing = await send({ kind: 'referral', ref: 'R-3', person: { first: 'A', last: SURNAME }, count: SURNAME }, { to: '/webhooks/mapped-in' });
    expect(failing.status).toBe(422);
    expect(failing.body.type).toContain('mapping-failed');
    expect(JSON.stringify(failing.body)).not.toContain(SURNAME);
  });

  test('the OpenAPI document describes the endpoint with its security scheme', async () => {
    const doc = (await request(api('/openapi.json'), { method: 'GET' })).json as {
      paths: Record<string, { post?: { security?: unknown; responses?: Record<string, unknown>; requestBody?: { content: Record<string, { schema: unknown }> } } }>;
      components: { securitySchemes: Record<string, { type: string; name?: string }> };
    };
    const op = doc.paths['/webhooks/any-system']?.post;
    expect(op?.security).toEqual([{ standardWebhooks: [] }]);
    expect(op?.requestBody?.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/CanonicalCase' });
    expect(Object.keys(op?.responses ?? {}).sort()).toEqual(['202', '400', '401', '413', '415', '422', '503']);
    expect(doc.components.securitySchemes.standardWebhooks).toMatchObject({ type: 'apiKey', name: 'webhook-signature' });
    expect(doc.components.securitySchemes.apiToken).toBeDefined();
    expect(doc.paths['/webhooks/mapped-in']?.post?.security).toEqual([{ standardWebhooks: [] }]);
    const check = spawnSync(process.execPath, [path.resolve(__dirname, '../../../test/ops/validate-openapi.cjs')], { input: JSON.stringify(doc), encoding: 'utf8' });
    expect(check.stdout.trim()).toBe('valid 3.1.0');
  });

  test('a refused delivery dead-letters; the dry run shows the signed request masked; the replay carries the same webhook-id', async () => {
    await forNext({ status: 400, body: { error: `bad surname ${SURNAME}` } });
    const reply = await send(kase('dead letter'), { webhookId: 'msg_dead' });
    const hubId = reply.body.hubId ?? '';
    const dead = await eventually(async () => (await trace(hubId)).find((e) => e.stage === 'dead'), 15000, 'the dead letter');
    expect(dead.error).toMatchObject({ retryable: false, status: 400 });
    expect(JSON.stringify(dead)).not.toContain(SURNAME);
    const deliveryId = dead.deliveryId ?? '';

    const dry = await dryRun(t.hub, 'any-system', deliveryId, true);
    expect(dry).toMatchObject({ kind: 'preview', masked: true });
    const [preview] = dry?.requests ?? [];
    expect(preview.operation).toBe(`POST ${sandboxUrl}/receive`);
    expect(preview.body).toMatchObject({ headers: { 'webhook-id': deliveryId }, json: { type: 'case.received', data: { hubId } } });
    expect(JSON.stringify(dry)).not.toContain(SURNAME);
    const unmasked = await dryRun(t.hub, 'any-system', deliveryId, false);
    expect(JSON.stringify(unmasked?.requests)).toContain(SURNAME);

    const replayed = await request(api(`/api/dead-letters/any-system/${deliveryId}/replay`), { headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(replayed.status).toBe(202);
    await eventually(async () => (await trace(hubId)).some((e) => e.stage === 'delivered'), 15000, 'the replayed delivery');
    expect((await received()).filter((r) => r.webhookId === deliveryId).map((r) => r.status)).toEqual([400, 200]);
  });
});

describe('webhook intake when the hub cannot store', () => {
  const { redis, prefix, cleanup } = testRedis();
  let server: Server;
  let url = '';
  let failure: unknown;

  beforeAll(async () => {
    const h = adapterHarness<WebhookSettings>({ adapter, settings: { inbound: { secrets: [SENDER] } }, redis, prefix, connectionName: 'flaky' });
    const app = express();
    app.post('/in', createReceiveHandler(h.ctx, async (events) => {
      if (failure) throw failure;
      return h.emit(events);
    }, {}));
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await cleanup();
  });

  const post = (id: string) => {
    const body = JSON.stringify(sampleCase());
    return request(url, { headers: { 'Content-Type': 'application/json', ...signatureHeaders(SENDER, id, body) }, body });
  };

  test('a retryable store error answers 503 with Retry-After; any other 500; the sender then succeeds with the same id', async () => {
    failure = new RetryableError('redis: connection lost');
    const busy = await post('msg_busy');
    expect(busy.status).toBe(503);
    expect(busy.headers['retry-after']).toBe('5');
    expect(busy.headers['content-type']).toContain('application/problem+json');
    failure = Object.assign(new Error('boom'), { retryable: false });
    expect((await post('msg_busy')).status).toBe(500);
    failure = undefined;
    const ok = await post('msg_busy');
    expect(ok.status).toBe(202);
    expect(ok.json).toEqual({ hubId: 'hub-1', duplicate: false });
  });
});
