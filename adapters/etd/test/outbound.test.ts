import type { DeliveryRequest } from '../../../src/core/adapter';
import { CasewayError, PeerError, PermanentError } from '../../../src/core/errors';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { adapterHarness, type Harness } from '../../../test/helpers/adapter-harness';
import { createAjv } from '../../../src/core/config/ajv';
import { eventually } from '../../../test/helpers/hub';
import { testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import { EtdSandbox } from '../sandbox';
import { etdAppToCase } from '../src/codec';
import type { JsonObject } from '../src/json';
import type { EtdSettings } from '../src/settings';
import { SEED_ERRORS, seedBody, validApp } from './support';

const redisHandle = testRedis();
let sandbox: EtdSandbox;

beforeAll(async () => {
  sandbox = await EtdSandbox.start();
});
afterEach(() => sandbox.reset());
afterAll(async () => {
  await sandbox.stop();
  await redisHandle.cleanup();
});

const action = adapter.actions.submitApplication;

function harness(settings: EtdSettings = sandbox.connectionSettings()): Harness<unknown> {
  return adapterHarness<unknown>({ adapter, settings, redis: redisHandle.redis, prefix: redisHandle.prefix, connectionName: 'iizuka' });
}

function caseOf(app: JsonObject): CanonicalCase {
  return etdAppToCase(app, { connection: 'etd-in', appRefNumber: 'ETD0000000001', eventId: 'ev', receivedAt: '2024-05-03T10:00:00.000Z' });
}

function delivery(kase: CanonicalCase, attempt = 1): DeliveryRequest {
  return {
    case: kase,
    hubId: 'hub-1',
    action: 'submitApplication',
    options: {},
    route: 'etd-to-iizuka',
    deliveryId: 'd-1',
    attempt,
    references: kase.references ?? [],
  };
}

async function failure(promise: Promise<unknown>): Promise<CasewayError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof CasewayError) return err;
    throw err;
  }
  throw new Error('expected the delivery to fail');
}

describe('ETD outbound: submitApplication against the sandbox case manager', () => {
  test('200: the appRefNumber becomes a cross-reference; the peer holds exactly the application, with the spec headers', async () => {
    const h = harness({ ...sandbox.connectionSettings(), headers: { 'X-Correlation-Id': 'corr-7' } });
    const result = await action.deliver(delivery(caseOf(validApp())), h.ctx);
    expect(result).toEqual({
      references: [{ system: 'etd', connection: 'iizuka', id: '12345', kind: 'appRefNumber' }],
      summary: { appRefNumber: '12345', status: 200 },
    });
    const held = sandbox.applications();
    expect(held).toHaveLength(1);
    expect(held[0].appRefNumber).toBe('12345');
    expect(held[0].etdApp).toEqual(validApp());
    expect(held[0].headers).toMatchObject({
      accept: 'application/json',
      'content-type': 'application/json; charset=utf-8',
      'x-api-key': '[redacted]',
      'x-correlation-id': 'corr-7',
    });
    expect(h.peerCalls).toEqual([{ operation: 'POST /application', status: 200 }]);
  });

  test('422: a permanent failure carrying the peer field errors (paths and messages only)', async () => {
    const h = harness();
    const err = await failure(action.deliver(delivery(caseOf(seedBody().etdApp as JsonObject)), h.ctx));
    expect(err).toBeInstanceOf(PeerError);
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('PEER_VALIDATION');
    expect(err.context).toMatchObject({ status: 422, connection: 'iizuka', route: 'etd-to-iizuka', hubId: 'hub-1' });
    expect(err.context.fieldErrors).toEqual(SEED_ERRORS);
    const visible = JSON.stringify(err.toJSON()) + err.message;
    for (const personal of ['John', 'Smith', '1995-03-02', 'Kingsway', 'john@example.com']) expect(visible).not.toContain(personal);
    expect(sandbox.applications()).toHaveLength(0);
  });

  test('500 once: a retryable failure, and the retry succeeds', async () => {
    const h = harness();
    sandbox.failNext({ status: 500 });
    const err = await failure(action.deliver(delivery(caseOf(validApp()), 1), h.ctx));
    expect(err).toBeInstanceOf(PeerError);
    expect(err.retryable).toBe(true);
    expect(err.context.status).toBe(500);
    expect(sandbox.applications()).toHaveLength(0);
    const result = await action.deliver(delivery(caseOf(validApp()), 2), h.ctx);
    expect(result.summary).toEqual({ appRefNumber: '12345', status: 200 });
    expect(sandbox.requests().map((r) => [r.status, r.forced])).toEqual([
      [500, true],
      [200, false],
    ]);
    expect(h.peerCalls.map((c) => c.status)).toEqual([500, 200]);
  });

  test.each([502, 503, 504, 429, 408])('%i is retryable', async (status) => {
    sandbox.failNext({ status });
    const err = await failure(action.deliver(delivery(caseOf(validApp())), harness().ctx));
    expect([err.retryable, err.context.status]).toEqual([true, status]);
  });

  test('a timeout is retryable; the peer that processed it late files the retry again (the spec defines no idempotency)', async () => {
    const h = harness({ ...sandbox.connectionSettings(), timeoutMs: 200 });
    sandbox.failNext({ delayMs: 600 });
    const err = await failure(action.deliver(delivery(caseOf(validApp())), h.ctx));
    expect(err).toBeInstanceOf(PeerError);
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('PEER_UNREACHABLE');
    // The peer files it late: wait for that.
    await eventually(async () => sandbox.applications().length > 0, 10000, 'the peer to file the late application');
    expect(sandbox.applications().map((a) => a.appRefNumber)).toEqual(['12345']);
    // The retry goes out without the short timeout, so a loaded machine does not time it out as well.
    const retry = await action.deliver(delivery(caseOf(validApp()), 2), harness().ctx);
    // A Case Manager that ignores Idempotency-Key (the spec defines none; the sandbox only records it) files the same
    // application a second time: the window the README describes. Both attempts carried the same key.
    expect(retry.summary).toEqual({ appRefNumber: '12346', status: 200 });
    const filed = sandbox.applications();
    expect(filed.map((a) => a.appRefNumber)).toEqual(['12345', '12346']);
    expect(filed[1].etdApp).toEqual(filed[0].etdApp);
    expect(filed[0].headers['idempotency-key']).toBeDefined();
    expect(filed[1].headers['idempotency-key']).toBe(filed[0].headers['idempotency-key']);
  });

  test('an unreachable case manager is retryable', async () => {
    const gone = await EtdSandbox.start();
    const settings = gone.connectionSettings();
    await gone.stop();
    const err = await failure(action.deliver(delivery(caseOf(validApp())), harness(settings).ctx));
    expect([err.retryable, err.code]).toEqual([true, 'PEER_UNREACHABLE']);
  });

  test('a wrong API key (401) is permanent', async () => {
    const err = await failure(action.deliver(delivery(caseOf(validApp())), harness({ ...sandbox.connectionSettings(), apiKey: 'wrong-key' }).ctx));
    expect([err.retryable, err.context.status]).toEqual([false, 401]);
  });

  test('200 without an appRefNumber is permanent (retrying could file it twice)', async () => {
    sandbox.failNext({ status: 200, body: { ok: true } });
    const err = await failure(action.deliver(delivery(caseOf(validApp())), harness().ctx));
    expect([err.retryable, err.code, err.context.status]).toEqual([false, 'PEER_BAD_REPLY', 200]);
  });

  test('a connection without baseUrl cannot submit', async () => {
    const err = await failure(action.deliver(delivery(caseOf(validApp())), harness({ inbound: {} }).ctx));
    expect(err).toBeInstanceOf(PermanentError);
  });

  test('a case from another system is built from standard fields; the peer lists what is missing', async () => {
    const kase: CanonicalCase = {
      type: 'complaint',
      source: { system: 'icasework', id: '7' },
      parties: [{ roles: ['applicant'], person: { title: 'Mr', forenames: 'Bob', surname: 'Example' } }],
    };
    const err = await failure(action.deliver(delivery(kase), harness().ctx));
    expect(err.context.fieldErrors).toEqual([
      { 'appDetails.address': 'Required' },
      { 'appDetails.birthDate': 'Required' },
      { 'appDetails.birthCity': 'Required' },
      { 'appDetails.birthCountry': 'Required' },
      { 'appDetails.contactPhone': 'Required' },
      { etdReason: 'Required' },
      { passportDetails: 'Required' },
      { lostStolenDetails: 'Required' },
      { journeyDetails: 'Required' },
      { furtherInformation: 'Required' },
    ]);
  });

  test('checkHealth: a reachable case manager passes, an unreachable one throws', async () => {
    await expect(adapter.checkHealth?.(harness().ctx)).resolves.toBeUndefined();
    await expect(adapter.checkHealth?.(harness({ inbound: {} }).ctx)).resolves.toBeUndefined();
    const gone = await EtdSandbox.start();
    const settings = gone.connectionSettings();
    await gone.stop();
    await expect(adapter.checkHealth?.(harness(settings).ctx)).rejects.toThrow(PeerError);
  });
});

describe('ETD outbound: what the peer gets for the TBD parts of the spec', () => {
  const passportOf = (held: JsonObject): JsonObject => held.passportDetails as JsonObject;
  /** The sample as sent in the spec's 2015-05-27 spelling. */
  function legacyApp(): JsonObject {
    const app = validApp();
    const passport = app.passportDetails as JsonObject;
    passport.passwordIssuedInUK = passport.passportIssuedInUK;
    delete passport.passportIssuedInUK;
    return app;
  }

  test('passportIssuedInUKField: passwordIssuedInUK sends the 2015 name and not the current one (preview says the same)', async () => {
    const h = harness({ ...sandbox.connectionSettings(), passportIssuedInUKField: 'passwordIssuedInUK' });
    const result = await action.deliver(delivery(caseOf(validApp())), h.ctx);
    expect(result.summary).toEqual({ appRefNumber: '12345', status: 200 });
    const sent = passportOf(sandbox.applications()[0].etdApp);
    expect(sent.passwordIssuedInUK).toBe('n');
    expect(sent).not.toHaveProperty('passportIssuedInUK');
    const [preview] = (await action.preview?.(delivery(caseOf(validApp())), h.ctx)) ?? [];
    expect(passportOf((preview.body as { etdApp: JsonObject }).etdApp)).toEqual(sent);
    expect(sandbox.applications()[0].etdApp).toEqual(legacyApp());
  });

  test('the default sends passportIssuedInUK and not passwordIssuedInUK, even for a case that came in with the 2015 name', async () => {
    const h = harness();
    await action.deliver(delivery(caseOf(legacyApp())), h.ctx);
    const sent = passportOf(sandbox.applications()[0].etdApp);
    expect(sent.passportIssuedInUK).toBe('n');
    expect(sent).not.toHaveProperty('passwordIssuedInUK');
    expect(sandbox.applications()[0].etdApp).toEqual(validApp());
  });

  test('the setting accepts the two spellings only (config validation refuses any other)', () => {
    const validate = createAjv().compile(adapter.settingsSchema);
    expect(validate({ passportIssuedInUKField: 'passwordIssuedInUK' })).toBe(true);
    expect(validate({ passportIssuedInUKField: 'passportIssuedInUK' })).toBe(true);
    expect(validate({ passportIssuedInUKField: 'passportIssuedInUk' })).toBe(false);
    expect(validate.errors?.[0]).toMatchObject({ instancePath: '/passportIssuedInUKField', keyword: 'enum' });
  });

  test("a representative block kept with the form's own field names goes back to the peer as it came", async () => {
    const app = validApp();
    app.representative = { surname: 'Agentson', agentName: 'Zebedee Agentson', agentRef: 4242, office: { town: 'Porto' } };
    const kase = caseOf(app);
    expect(kase.parties.find((p) => p.roles.includes('representative'))?.person?.attributes).toEqual({ agentName: 'Zebedee Agentson' });
    await action.deliver(delivery(kase), harness().ctx);
    expect(sandbox.applications()[0].etdApp).toEqual(app);
  });
});

describe('ETD outbound: lost replies and bounded replies', () => {
  test('every attempt of one delivery carries the same Idempotency-Key (the delivery id, as an sf-string)', async () => {
    const h = harness();
    sandbox.failNext({ status: 503 });
    await failure(action.deliver(delivery(caseOf(validApp()), 1), h.ctx));
    await action.deliver(delivery(caseOf(validApp()), 2), h.ctx);
    expect(sandbox.requests().map((r) => [r.status, r.idempotencyKey])).toEqual([
      [503, '"d-1"'],
      [200, '"d-1"'],
    ]);
    // Another delivery gets another key.
    await action.deliver({ ...delivery(caseOf(validApp())), deliveryId: 'd-2' }, h.ctx);
    expect(sandbox.requests().pop()?.idempotencyKey).toBe('"d-2"');
  });

  test('a timeout after the peer got the application is an uncertain outcome; a 5xx too; a refused connection is not', async () => {
    const slow = harness({ ...sandbox.connectionSettings(), timeoutMs: 200 });
    sandbox.failNext({ delayMs: 600 });
    expect((await failure(action.deliver(delivery(caseOf(validApp())), slow.ctx))).context.outcome).toBe('uncertain');
    // The peer files it late: wait for that, so it does not land in the next test.
    await eventually(async () => sandbox.applications().length > 0, 10000, 'the peer to file the late application');
    sandbox.failNext({ status: 500 });
    expect((await failure(action.deliver(delivery(caseOf(validApp())), harness().ctx))).context.outcome).toBe('uncertain');
    sandbox.failNext({ status: 429 });
    expect((await failure(action.deliver(delivery(caseOf(validApp())), harness().ctx))).context.outcome).toBeUndefined();
    const gone = await EtdSandbox.start();
    const settings = gone.connectionSettings();
    await gone.stop();
    expect((await failure(action.deliver(delivery(caseOf(validApp())), harness(settings).ctx))).context.outcome).toBe('not-sent');
  });

  test('a reply over maxResponseBytes fails permanently as "reply too large" after one request', async () => {
    const h = harness({ ...sandbox.connectionSettings(), maxResponseBytes: 64 * 1024 });
    sandbox.failNext({ status: 200, body: { appRefNumber: '99', padding: 'x'.repeat(256 * 1024) } });
    const err = await failure(action.deliver(delivery(caseOf(validApp())), h.ctx));
    expect([err.code, err.retryable]).toEqual(['REPLY_TOO_LARGE', false]);
    expect(err.message).toContain('reply too large');
    expect(sandbox.requests()).toHaveLength(1);
  });

  test('the negative: the same reply under the limit is read', async () => {
    const h = harness({ ...sandbox.connectionSettings(), maxResponseBytes: 1024 * 1024 });
    sandbox.failNext({ status: 200, body: { appRefNumber: '99', padding: 'x'.repeat(256 * 1024) } });
    expect((await action.deliver(delivery(caseOf(validApp())), h.ctx)).summary).toEqual({ appRefNumber: '99', status: 200 });
  });
});
