/**
 * Bounded replies: a 121-service that answers with a body over maxResponseBytes fails the delivery permanently on
 * its first attempt ("reply too large"), after one request (no in-client retries either). A tiny loopback server
 * streams the oversized login reply; the sandbox 121-service is not needed for it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CasewayError } from '../../../src/core/errors';
import { adapterHarness } from '../../../test/helpers/adapter-harness';
import { testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import type { Platform121Settings } from '../src/settings';
import { deliveryRequest, personCase } from './setup';

const redis = testRedis();
let server: http.Server;
let baseUrl = '';
let requests = 0;
let replyBytes = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    req.resume();
    const chunk = Buffer.alloc(16 * 1024, ' ');
    res.writeHead(201, { 'Content-Type': 'application/json' });
    res.write('{"username":"admin@example.org","access_token_general":"x.y.z","permissions":{}');
    let left = replyBytes;
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        left -= chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end('}');
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await redis.cleanup();
});
beforeEach(() => {
  requests = 0;
});

let seq = 0;
function harness(maxResponseBytes: number) {
  const settings: Platform121Settings = { baseUrl, programId: 2, username: 'admin@example.org', password: 'password', maxRetries: 3, retryBaseDelayMs: 10, maxResponseBytes };
  return adapterHarness<Platform121Settings>({ adapter, settings, redis: redis.redis, prefix: redis.prefix, connectionName: `p121-big-${++seq}` });
}

test('a reply over maxResponseBytes fails the delivery permanently after one request', async () => {
  replyBytes = 512 * 1024;
  const h = harness(64 * 1024);
  const err = await adapter.actions.upsertRegistration.deliver(deliveryRequest(personCase(1)), h.ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  await adapter.close?.(h.ctx);
  expect(err).toBeInstanceOf(CasewayError);
  expect([(err as CasewayError).code, (err as CasewayError).retryable]).toEqual(['REPLY_TOO_LARGE', false]);
  expect((err as CasewayError).message).toContain('reply too large');
  expect(requests).toBe(1);
});

test('the negative: under the limit the same login reply is read (the delivery goes on past the login)', async () => {
  replyBytes = 512 * 1024;
  const h = harness(1024 * 1024);
  const err = await adapter.actions.upsertRegistration.deliver(deliveryRequest(personCase(2)), h.ctx).then(
    () => undefined,
    (e: unknown) => e,
  );
  await adapter.close?.(h.ctx);
  // The tiny server answers every call with a login reply, so the delivery fails later, but not on the size.
  expect((err as CasewayError | undefined)?.code).not.toBe('REPLY_TOO_LARGE');
  expect(requests).toBeGreaterThan(1);
});
