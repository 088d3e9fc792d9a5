/**
 * Action `post` against the sandbox receiver over real loopback HTTP, with the real Redis behind the context: the
 * receiver verifies every signature with the standardwebhooks library, and counts arrivals by webhook-id.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Webhook } from 'standardwebhooks';
import type { AdapterContext } from '../../../src/core/adapter';
import { CasewayError, PeerError } from '../../../src/core/errors';
import { adapterHarness } from '../../../test/helpers/adapter-harness';
import { testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import { WebhookSandbox } from '../sandbox';
import { post } from '../src/post';
import type { WebhookSettings } from '../src/settings';
import { signatureHeaders } from '../src/signing';
import { SURNAME, deliveryRequest } from './support';

describe('webhook action post', () => {
  const { redis, prefix, cleanup } = testRedis();
  let sb: WebhookSandbox;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-webhook-'));

  const ctxWith = (over: Partial<WebhookSettings> = {}): AdapterContext<WebhookSettings> => {
    const h = adapterHarness<WebhookSettings>({ adapter, settings: { ...sb.connectionSettings(), ...over }, redis, prefix, connectionName: 'any-system' });
    return { ...h.ctx, connection: { ...h.ctx.connection, configDir: dir } };
  };
  const failure = async (p: Promise<unknown>): Promise<CasewayError> => {
    const err = await p.then(() => undefined, (e: unknown) => e);
    if (!(err instanceof CasewayError)) throw new Error(`expected a CasewayError, got ${String(err)}`);
    return err;
  };

  beforeAll(async () => {
    sb = await WebhookSandbox.start();
  });
  beforeEach(() => sb.reset());
  afterAll(async () => {
    await sb.stop();
    await cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  test('signs per Standard Webhooks: the test vector of the specification', () => {
    const headers = signatureHeaders('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'msg_p5jXN8AQM9LWM0D4loKWxJek', '{"test": 2432232314}', new Date(1614265330 * 1000));
    expect(headers).toEqual({ 'webhook-id': 'msg_p5jXN8AQM9LWM0D4loKWxJek', 'webhook-timestamp': '1614265330', 'webhook-signature': 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' });
  });

  test('delivers the canonical case; the receiver verifies it with the standardwebhooks library; the reply id becomes a reference', async () => {
    const result = await post.deliver(deliveryRequest({ options: { referencePointer: '/id', referenceKind: 'anyId' } }), ctxWith());
    expect(result.references).toEqual([{ system: 'webhook', connection: 'any-system', id: 'ANY-1', kind: 'anyId' }]);
    expect(result.summary).toEqual({ status: 200, webhookId: 'd-0123456789abcdef', reference: 'ANY-1' });
    const [delivery] = sb.deliveries();
    expect(delivery).toMatchObject({ webhookId: 'd-0123456789abcdef', count: 1, contentType: 'application/json; charset=utf-8' });
    expect(delivery.body).toMatchObject({ hubId: 'hub-1', type: 'etd-application', parties: [{ person: { surname: SURNAME } }] });
    expect(JSON.stringify(result.summary)).not.toContain(SURNAME);
  });

  test('a receiver with another secret refuses the signature: 401 is a permanent error', async () => {
    const err = await failure(post.deliver(deliveryRequest(), ctxWith({ secret: `whsec_${Buffer.from('another secret of 24 bytes!!').toString('base64')}` })));
    expect(err).toMatchObject({ retryable: false, context: { status: 401, route: 'etd-to-any' } });
    expect(sb.requests().map((r) => [r.status, r.verified])).toEqual([[401, false]]);
    expect(sb.deliveries()).toEqual([]);
  });

  test('the same delivery retried after a 500 and replayed later carries the same webhook-id every time', async () => {
    sb.failNext({ status: 500 });
    const first = await failure(post.deliver(deliveryRequest(), ctxWith()));
    expect(first).toMatchObject({ retryable: true, context: { status: 500 } });
    await post.deliver(deliveryRequest({ attempt: 2 }), ctxWith());
    const replay = await post.deliver(deliveryRequest({ attempt: 1 }), ctxWith());
    expect(sb.requests().map((r) => [r.status, r.webhookId, r.verified])).toEqual([
      [500, 'd-0123456789abcdef', true],
      [200, 'd-0123456789abcdef', true],
      [200, 'd-0123456789abcdef', true],
    ]);
    // Counting by webhook-id: one message, which arrived twice successfully; the receiver kept one and answered the same id.
    expect(sb.deliveries().map((d) => [d.webhookId, d.count, d.id])).toEqual([['d-0123456789abcdef', 2, 'ANY-1']]);
    expect(replay.summary?.webhookId).toBe('d-0123456789abcdef');
    // A different delivery is a different message.
    await post.deliver(deliveryRequest({ deliveryId: 'd-other' }), ctxWith());
    expect(sb.deliveries().map((d) => d.webhookId)).toEqual(['d-0123456789abcdef', 'd-other']);
  });

  test('429 with a short Retry-After is waited out and sent again with the same id; a long one is a retryable error saying so', async () => {
    sb.failNext({ status: 429, headers: { 'Retry-After': '1' } });
    await post.deliver(deliveryRequest(), ctxWith());
    expect(sb.requests().map((r) => r.status)).toEqual([429, 200]);
    const [delivery] = sb.deliveries();
    expect(delivery.count).toBe(1);

    sb.reset();
    sb.failNext({ status: 503, headers: { 'Retry-After': '120' } });
    const err = await failure(post.deliver(deliveryRequest(), ctxWith()));
    expect(err).toMatchObject({ retryable: true, context: { status: 503, retryAfterSeconds: 120 } });
    expect(sb.requests().map((r) => r.status)).toEqual([503]);

    sb.failNext({ status: 408 });
    expect(await failure(post.deliver(deliveryRequest(), ctxWith()))).toMatchObject({ retryable: true, context: { status: 408 } });
  });

  test('other 4xx are permanent with the status and a digest of the reply, never its text', async () => {
    sb.failNext({ status: 422, body: { error: `surname ${SURNAME} is not allowed`, patient: 'P98765432' } });
    const err = await failure(post.deliver(deliveryRequest(), ctxWith()));
    expect(err).toBeInstanceOf(PeerError);
    expect(err).toMatchObject({ retryable: false, context: { status: 422, route: 'etd-to-any', hubId: 'hub-1', responseSha256: expect.stringMatching(/^[0-9a-f]{16}$/) } });
    expect(JSON.stringify(err.toJSON())).not.toMatch(new RegExp(`${SURNAME}|P98765432`));
    sb.failNext({ status: 410 });
    expect(await failure(post.deliver(deliveryRequest(), ctxWith()))).toMatchObject({ retryable: false, context: { status: 410 } });
  });

  test('a reply larger than maxResponseBytes aborts the delivery with a permanent error', async () => {
    sb.failNext({ status: 200, bodyBytes: 64 * 1024 });
    const err = await failure(post.deliver(deliveryRequest(), ctxWith({ maxResponseBytes: 4096 })));
    expect(err).toMatchObject({ retryable: false, code: 'PEER_REPLY_TOO_LARGE', context: { maxResponseBytes: 4096, status: 200 } });
    // The same reply within the limit is a delivery.
    sb.failNext({ status: 200, bodyBytes: 2048 });
    await expect(post.deliver(deliveryRequest(), ctxWith({ maxResponseBytes: 4096 }))).resolves.toMatchObject({ summary: { status: 200 } });
  });

  test('a peer slower than timeoutMs is a retryable timeout', async () => {
    sb.failNext({ status: 200, delayMs: 1500 });
    const err = await failure(post.deliver(deliveryRequest(), ctxWith({ timeoutMs: 300 })));
    expect(err).toMatchObject({ retryable: true, code: 'PEER_UNREACHABLE' });
  });

  test('a JSONata expression in the options shapes the body', async () => {
    const expression = '{"type": "case." & type, "timestamp": "2026-01-01T00:00:00Z", "data": {"hubId": $hubId, "route": $route, "surname": parties[0].person.surname}}';
    await post.deliver(deliveryRequest({ options: { expression } }), ctxWith());
    expect(sb.deliveries()[0].body).toEqual({ type: 'case.etd-application', timestamp: '2026-01-01T00:00:00Z', data: { hubId: 'hub-1', route: 'etd-to-any', surname: SURNAME } });
  });

  test('a JSONata expression in a file beside the config shapes the body', async () => {
    writeFileSync(path.join(dir, 'shape.jsonata'), '{"who": parties[0].roles[0], "id": $deliveryId}');
    await post.deliver(deliveryRequest({ options: { expressionFile: 'shape.jsonata' } }), ctxWith());
    expect(sb.deliveries()[0].body).toEqual({ who: 'applicant', id: 'd-0123456789abcdef' });
    const missing = await failure(post.deliver(deliveryRequest({ options: { expressionFile: 'nowhere.jsonata' } }), ctxWith()));
    expect(missing).toMatchObject({ retryable: false, message: expect.stringContaining('nowhere.jsonata') });
  });

  test('a JSONata mapping error is a permanent error naming the route and the expression, and no value of the case', async () => {
    const broken = await failure(post.deliver(deliveryRequest({ options: { expression: '{"a": ' } }), ctxWith()));
    expect(broken.retryable).toBe(false);
    expect(broken.message).toContain('route "etd-to-any"');
    expect(broken.message).toContain('options.expression');
    expect(broken.message).toContain('{"a":');

    const failing = await failure(post.deliver(deliveryRequest({ options: { expression: '$number(parties[0].person.surname)' } }), ctxWith()));
    expect(failing).toMatchObject({ retryable: false, context: { route: 'etd-to-any', expression: 'options.expression' } });
    expect(failing.message).toMatch(/route "etd-to-any".*options\.expression.*D3030.*\$number/);
    expect(JSON.stringify(failing.toJSON())).not.toContain(SURNAME);

    const nothing = await failure(post.deliver(deliveryRequest({ options: { expression: 'nosuchfield' } }), ctxWith()));
    expect(nothing.message).toContain('produced nothing');
    expect(sb.requests()).toEqual([]);
  });

  test('preview shows the request it would send, with the webhook-id and without configured header values', async () => {
    const [req] = await post.preview!(deliveryRequest({ options: { expression: '{"surname": parties[0].person.surname}' } }), ctxWith({ headers: { Authorization: 'Bearer secret-token' } }));
    expect(req.operation).toBe(`POST ${sb.url}/receive`);
    expect(req.body).toMatchObject({ headers: { Authorization: '[configured]', 'webhook-id': 'd-0123456789abcdef' }, json: { surname: SURNAME } });
    expect(JSON.stringify(req)).not.toContain('secret-token');
    expect(sb.requests()).toEqual([]);
  });

  test('the receiving side really is the library: a message signed by hand verifies there', () => {
    const body = JSON.stringify({ a: 1 });
    const headers = signatureHeaders(sb.receiverSecret, 'msg_1', body);
    expect(new Webhook(sb.receiverSecret).verify(body, { ...headers })).toEqual({ a: 1 });
    expect(() => new Webhook(sb.receiverSecret).verify(`${body} `, { ...headers })).toThrow('No matching signature found');
  });
});
