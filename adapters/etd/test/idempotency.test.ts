/**
 * Idempotency-Key (draft-ietf-httpapi-idempotency-key-header): Caseway's ETD intake honours it, and the outbound
 * client sends the delivery id as the key on every attempt of one delivery. Real loopback HTTP, real Redis.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { startPrivateRedis } from '../../../src/cli/private-redis';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { DeliveryRequest, Emit, WebhookSourceDefinition } from '../../../src/core/adapter';
import { CasewayError } from '../../../src/core/errors';
import { adapterHarness, type Harness } from '../../../test/helpers/adapter-harness';
import { quietRedis, testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import { etdAppToCase } from '../src/codec';
import { IDEMPOTENCY_KEY_IN_FLIGHT, IDEMPOTENCY_KEY_REUSED, parseIdempotencyKey } from '../src/idempotency';
import type { JsonObject } from '../src/json';
import type { EtdSettings } from '../src/settings';
import { eventually } from '../../../test/helpers/hub';
import { edit, postJson, validBody, type RawReply } from './support';

const KEY = 'etd-form-key-0123456789';
const OTHER_KEY = 'etd-other-key-0123456789';
const SETTINGS: EtdSettings = { inbound: { apiKeys: [{ name: 'form', key: KEY }, { name: 'other', key: OTHER_KEY }] } };

const redisHandle = testRedis();
const servers: Server[] = [];

interface Intake {
  url: string;
  harness: Harness<unknown>;
}

function source(): WebhookSourceDefinition<unknown> {
  const def = adapter.sources.application;
  if (def.kind !== 'webhook') throw new Error('application must be a webhook source');
  return def;
}

let connections = 0;
/** An intake on its own connection, or on `connectionName` (two intakes on one connection are two api processes). */
async function startIntake(wrapEmit?: (emit: Emit) => Emit, settings: EtdSettings = SETTINGS, connectionName = `etd-in-${++connections}`): Promise<Intake> {
  const harness = adapterHarness<unknown>({ adapter, settings, redis: redisHandle.redis, prefix: redisHandle.prefix, connectionName });
  const app = express();
  const router = express.Router();
  source().mount(router, harness.ctx, wrapEmit ? wrapEmit(harness.emit) : harness.emit, {});
  app.use(router);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  servers.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, harness };
}

afterAll(async () => {
  for (const s of servers) await new Promise<void>((resolve) => s.close(() => resolve()));
  await redisHandle.cleanup();
});

const post = (intake: Intake, body: unknown, key?: string, apiKey = KEY): Promise<RawReply> =>
  postJson(`${intake.url}/etd/application`, body, { 'X-API-Key': apiKey, ...(key === undefined ? {} : { 'Idempotency-Key': key }) });

const otherBody = (): JsonObject => edit(validBody(), 'etdApp.furtherInformation.applicationReasons', 'Passport lost at the airport.');

describe('Idempotency-Key header parsing', () => {
  test.each([
    ['"8e03978e-40d5-43e8-bc93-6894a57f9324"', '8e03978e-40d5-43e8-bc93-6894a57f9324'],
    ['"with \\"quote\\""', 'with "quote"'],
    ['d-0123abcd', 'd-0123abcd'],
  ])('%s is the key %s', (header, key) => {
    expect(parseIdempotencyKey(header)).toBe(key);
  });
  test.each([['""'], ['"unterminated'], ['two words'], [`"${'x'.repeat(256)}"`], ['"tab\there"']])('%s is malformed', (header) => {
    expect(parseIdempotencyKey(header)).toBeNull();
  });
  test('absent is undefined; two header fields are malformed', () => {
    expect(parseIdempotencyKey(undefined)).toBeUndefined();
    expect(parseIdempotencyKey(['"a"', '"b"'])).toBeNull();
  });
});

describe("Caseway's ETD intake honours Idempotency-Key", () => {
  test('same key, same body: the same answer, and the application is emitted once', async () => {
    const intake = await startIntake();
    const first = await post(intake, validBody(), '"key-1"');
    const again = await post(intake, validBody(), '"key-1"');
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.json).toEqual(first.json);
    expect(intake.harness.emitted).toHaveLength(1);
  });

  test('same key, different body: 422 "Idempotency-Key is already used" (problem+json), nothing filed', async () => {
    const intake = await startIntake();
    expect((await post(intake, validBody(), '"key-2"')).status).toBe(200);
    const reused = await post(intake, otherBody(), '"key-2"');
    expect(reused.status).toBe(422);
    expect(reused.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(reused.json).toMatchObject({ title: IDEMPOTENCY_KEY_REUSED, status: 422, errors: [{ 'Idempotency-Key': IDEMPOTENCY_KEY_REUSED }] });
    expect(intake.harness.emitted).toHaveLength(1);
  });

  test('the negative: without the key, a different body is a second application', async () => {
    const intake = await startIntake();
    expect((await post(intake, validBody())).status).toBe(200);
    expect((await post(intake, otherBody())).status).toBe(200);
    expect(intake.harness.emitted).toHaveLength(2);
  });

  test('keys are scoped per API key: another caller may use the same key for its own application', async () => {
    const intake = await startIntake();
    expect((await post(intake, validBody(), '"shared"')).status).toBe(200);
    expect((await post(intake, otherBody(), '"shared"', OTHER_KEY)).status).toBe(200);
    expect(intake.harness.emitted).toHaveLength(2);
  });

  /** An intake whose store waits at a gate the test opens (`entered` resolves once a request is inside). */
  async function gatedIntake(settings: EtdSettings = SETTINGS, connectionName?: string) {
    let release: () => void = () => undefined;
    let entered: () => void = () => undefined;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const gate = new Promise<void>((resolve) => (release = resolve));
    const intake = await startIntake((emit) => async (events) => {
      entered();
      await gate;
      return emit(events);
    }, settings, connectionName);
    return { intake, inside, release };
  }

  test('a repeat while the first is still being stored gets 409 with Retry-After; afterwards the first answer', async () => {
    const { intake, inside, release } = await gatedIntake();
    const first = post(intake, validBody(), '"key-3"');
    await inside;
    const during = await post(intake, validBody(), '"key-3"');
    expect(during.status).toBe(409);
    expect(during.headers['retry-after']).toBe('1');
    expect(during.json).toMatchObject({ title: IDEMPOTENCY_KEY_IN_FLIGHT, status: 409 });
    release();
    const done = await first;
    expect(done.status).toBe(200);
    const after = await post(intake, validBody(), '"key-3"');
    expect([after.status, after.json]).toEqual([200, done.json]);
  });

  test('a request holds its key for 15 s by default (inbound.idempotencyInFlightSeconds), not longer', async () => {
    const { intake, inside, release } = await gatedIntake();
    const first = post(intake, validBody(), '"key-in-flight-default"');
    try {
      await inside;
      const keys = await redisHandle.redis.keys(`${redisHandle.prefix}*${intake.harness.ctx.connection.name}*idempotency*`);
      expect(keys).toHaveLength(1);
      const ttl = await redisHandle.redis.pttl(keys[0]);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(15000);
      release();
      expect((await first).status).toBe(200);
      // Answered: the key is remembered for idempotencyKeyTtlSeconds (24 h by default) from now on.
      expect(await redisHandle.redis.pttl(keys[0])).toBeGreaterThan(15000);
    } finally {
      release();
      await first;
    }
  });

  test('a claim whose request never finished (its process died) lapses: another process answers 409 until then, then processes the repeat; one appRefNumber', async () => {
    const settings: EtdSettings = { inbound: { ...SETTINGS.inbound, idempotencyInFlightSeconds: 5 } };
    const elsewhere = await startIntake(undefined, settings, 'etd-dead-holder');
    // The first process: its request claimed the key and stops inside the store, as if its process had died there.
    const dead = await gatedIntake(settings, 'etd-dead-holder');
    const first = post(dead.intake, validBody(), '"key-dead-holder"');
    try {
      await dead.inside;
      // Another process cannot tell a dead holder from a slow one: 409 while the claim lasts ...
      expect((await post(elsewhere, validBody(), '"key-dead-holder"')).status).toBe(409);
      // ... and processes the repeat once the claim has lapsed.
      const retried = await eventually(async () => {
        const reply = await post(elsewhere, validBody(), '"key-dead-holder"');
        return reply.status === 200 ? reply : undefined;
      }, 20000, 'the repeat processed after the claim lapsed');
      expect(elsewhere.harness.emitted).toHaveLength(1);
      // Had the first request been alive after all, it files the same application: the content digest gives one number.
      dead.release();
      const late = await first;
      expect([late.status, late.json]).toEqual([200, retried.json]);
      expect([(await post(elsewhere, validBody(), '"key-dead-holder"')).json]).toEqual([retried.json]);
    } finally {
      dead.release();
      await first;
    }
  });

  test('a failure storing the application frees the key, so the retry is processed', async () => {
    let failures = 1;
    const intake = await startIntake((emit) => async (events) => {
      if (failures-- > 0) throw new Error('store down');
      return emit(events);
    });
    // A plain error is no reason to retry: 500 (a Redis that is away is 503, below).
    expect((await post(intake, validBody(), '"key-4"')).status).toBe(500);
    const retry = await post(intake, validBody(), '"key-4"');
    expect(retry.status).toBe(200);
    expect(intake.harness.emitted).toHaveLength(1);
  });

  test('Redis unavailable for the claim (a replica answering READONLY, as during a failover): 503 + Retry-After, not 500', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-etd-claim-'));
    const server = await startPrivateRedis(dir, ['--shutdown-on-sigterm', 'now']);
    const redis = quietRedis(new Redis(server.url, { maxRetriesPerRequest: 1 }));
    try {
      const harness = adapterHarness<unknown>({ adapter, settings: SETTINGS, redis, prefix: 'cwtest:etd-claim:', connectionName: 'etd-claim' });
      const app = express();
      const router = express.Router();
      source().mount(router, harness.ctx, harness.emit, {});
      app.use(router);
      const listening = await new Promise<Server>((resolve, reject) => {
        const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
      });
      servers.push(listening);
      const intake = { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, harness };
      // A replica of nothing: writes answer READONLY.
      await redis.replicaof('127.0.0.1', '1');
      const refused = await post(intake, validBody(), '"key-redis-away"');
      expect([refused.status, refused.headers['retry-after'], refused.json]).toEqual([503, '5', { error: 'Service Unavailable' }]);
      expect(harness.emitted).toHaveLength(0);
      await redis.replicaof('NO', 'ONE');
      const retried = await post(intake, validBody(), '"key-redis-away"');
      expect(retried.status).toBe(200);
    } finally {
      redis.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a key its request could not free (Redis went away mid-request) is taken over by the retry in this process at once; another process answers 409 meanwhile', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-etd-orphan-'));
    const server = await startPrivateRedis(dir, ['--shutdown-on-sigterm', 'now']);
    const redis = quietRedis(new Redis(server.url, { maxRetriesPerRequest: 1 }));
    const prefix = 'cwtest:etd-orphan:';
    try {
      // Two api processes on one connection: each mount is its own guard, as in two processes.
      const mount = async (wrapEmit?: (emit: Emit, harness: Harness<unknown>) => Emit) => {
        const harness = adapterHarness<unknown>({ adapter, settings: SETTINGS, redis, prefix, connectionName: 'etd-orphan' });
        const app = express();
        const router = express.Router();
        source().mount(router, harness.ctx, wrapEmit ? wrapEmit(harness.emit, harness) : harness.emit, {});
        app.use(router);
        const listening = await new Promise<Server>((resolve, reject) => {
          const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
        });
        servers.push(listening);
        return { url: `http://127.0.0.1:${(listening.address() as AddressInfo).port}`, harness };
      };
      let outage = true;
      // After the key is claimed, Redis becomes a replica (READONLY): storing fails, and so does freeing the key.
      const here = await mount((emit, harness) => async (events) => {
        if (outage) {
          outage = false;
          await redis.replicaof('127.0.0.1', '1');
          await harness.ctx.state.set('probe', 'x');
        }
        return emit(events);
      });
      const elsewhere = await mount();
      const refused = await post(here, validBody(), '"key-orphan"');
      expect([refused.status, refused.headers['retry-after']]).toEqual([503, '5']);
      await redis.replicaof('NO', 'ONE');
      // The claim is still there (it would lapse only after inbound.idempotencyInFlightSeconds, 15 s) ...
      expect(await redis.keys(`${prefix}*idempotency*`)).toHaveLength(1);
      // ... and another process cannot know its holder is gone: 409 until it lapses ...
      expect((await post(elsewhere, validBody(), '"key-orphan"')).status).toBe(409);
      // ... while this process knows none of its requests holds it: the retry is processed, once.
      const retried = await post(here, validBody(), '"key-orphan"');
      expect(retried.status).toBe(200);
      expect(here.harness.emitted).toHaveLength(1);
      // Afterwards every process gives the first answer; another body is still refused.
      expect([(await post(elsewhere, validBody(), '"key-orphan"')).json]).toEqual([retried.json]);
      expect((await post(here, otherBody(), '"key-orphan"')).status).toBe(422);
      expect(elsewhere.harness.emitted).toHaveLength(0);
    } finally {
      redis.disconnect();
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('a malformed key is refused with 400 before anything is stored', async () => {
    const intake = await startIntake();
    const reply = await post(intake, validBody(), '"bad key\twith tab"');
    expect(reply.status).toBe(400);
    expect(reply.json).toMatchObject({ title: 'Idempotency-Key is malformed' });
    expect(intake.harness.emitted).toHaveLength(0);
  });
});

describe('submitApplication to an intake that honours the key', () => {
  function delivery(app: JsonObject, deliveryId: string, attempt = 1): DeliveryRequest {
    const kase = etdAppToCase(app, { connection: 'etd-in', appRefNumber: 'ETD0000000001', eventId: 'ev', receivedAt: '2024-05-03T10:00:00.000Z' });
    return { case: kase, hubId: 'hub-1', action: 'submitApplication', options: {}, route: 'etd-to-etd', deliveryId, attempt, references: [] };
  }

  test('every attempt of one delivery gets the first answer; reusing the delivery id for another application is a permanent error', async () => {
    const intake = await startIntake();
    const out = adapterHarness<unknown>({
      adapter,
      settings: { baseUrl: `${intake.url}/etd`, apiKey: KEY },
      redis: redisHandle.redis,
      prefix: redisHandle.prefix,
      connectionName: 'iizuka-out',
    });
    const app = validBody().etdApp as JsonObject;
    const r1 = await adapter.actions.submitApplication.deliver(delivery(app, 'd-idem-1'), out.ctx);
    const r2 = await adapter.actions.submitApplication.deliver(delivery(app, 'd-idem-1', 2), out.ctx);
    expect(r2.references).toEqual(r1.references);
    expect(intake.harness.emitted).toHaveLength(1);
    const changed = otherBody().etdApp as JsonObject;
    const err = await adapter.actions.submitApplication.deliver(delivery(changed, 'd-idem-1', 3), out.ctx).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CasewayError);
    expect([(err as CasewayError).code, (err as CasewayError).retryable]).toEqual(['IDEMPOTENCY_KEY_REUSED', false]);
    expect(intake.harness.emitted).toHaveLength(1);
  });
});
