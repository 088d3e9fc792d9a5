/**
 * Bounded replies on iSupport's HTTP request API: an acknowledgement over api.maxResponseBytes fails permanently
 * ("reply too large") after one request. A tiny loopback server streams it.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { CasewayError } from '../../../src/core/errors';
import { adapterHarness } from '../../../test/helpers/adapter-harness';
import { testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import { requestCaseData } from '../src/request-api';
import type { IsupportSettings } from '../src/settings';

const redis = testRedis();
let server: http.Server;
let baseUrl = '';
let requests = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    requests++;
    res.writeHead(200, { 'Content-Type': 'text/plain' });
    res.write('REQ-12142015222710-56471 ');
    const chunk = Buffer.alloc(16 * 1024, ' ');
    let left = 512 * 1024;
    const pump = (): void => {
      while (left > 0 && !res.destroyed) {
        left -= chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) res.end();
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

function ctx(maxResponseBytes: number) {
  const settings: IsupportSettings = { sftp: { host: '127.0.0.1', username: 'x', exportDir: '/e', importDir: '/i' }, api: { baseUrl, maxResponseBytes } };
  return adapterHarness<IsupportSettings>({ adapter, settings, redis: redis.redis, prefix: redis.prefix, connectionName: `isupport-${maxResponseBytes}` }).ctx;
}

test('an acknowledgement over api.maxResponseBytes is a permanent "reply too large" after one request', async () => {
  requests = 0;
  const err = await requestCaseData(ctx(64 * 1024), 'US-UK(NI)-2015-100_0453-US').then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(CasewayError);
  expect([(err as CasewayError).code, (err as CasewayError).retryable]).toEqual(['REPLY_TOO_LARGE', false]);
  expect((err as CasewayError).message).toContain('reply too large');
  expect(requests).toBe(1);
});

test('the negative: under the limit the acknowledgement is read', async () => {
  const ack = await requestCaseData(ctx(1024 * 1024), 'US-UK(NI)-2015-100_0453-US');
  expect(ack).toEqual({ status: 200, requestId: 'REQ-12142015222710-56471' });
});
