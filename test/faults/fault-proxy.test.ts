/** The fault suite's instrument: the proxy fails requests exactly as planned and records what the peer did. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FaultProxy, tokenOf, TOKEN_PATTERN } from '../../bench/lib/fault-proxy';
import { eventually } from '../helpers/hub';

let peer: http.Server;
let hits = 0;
let proxy: FaultProxy;

beforeAll(async () => {
  peer = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      hits += 1;
      res.writeHead(200, { 'content-type': 'text/xml' }).end('<createcaseresponse><caseid>500123</caseid></createcaseresponse>');
    });
  });
  await new Promise<void>((resolve) => peer.listen(0, '127.0.0.1', () => resolve()));
});

beforeEach(async () => {
  hits = 0;
  proxy = await new FaultProxy(`http://127.0.0.1:${(peer.address() as AddressInfo).port}`).start();
});

afterEach(async () => {
  await proxy.stop();
});

afterAll(async () => {
  await new Promise((resolve) => peer.close(resolve));
});

function call(path: string, body = '', timeoutMs?: number): Promise<{ status: number; text: string; retryAfter?: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = http.request(`${proxy.url}${path}`, { method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', 'idempotency-key': '"k1"', 'webhook-id': 'msg_1' } }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, retryAfter: res.headers['retry-after'] }));
    });
    if (timeoutMs !== undefined) req.setTimeout(timeoutMs, () => req.destroy(Object.assign(new Error('timeout'), { code: 'CLIENT_TIMEOUT' })));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end(body);
  });
}

test('without a plan every request is forwarded and answered, with its token, key and case id recorded', async () => {
  const token = tokenOf(3, 42);
  expect(token).toMatch(TOKEN_PATTERN);
  expect(tokenOf(3, 43)).not.toBe(token);
  const r = await call('/createcase', `Customer.Surname=${token}&Type=X`);
  expect(r).toEqual({ status: 200, text: expect.stringContaining('500123') });
  expect(hits).toBe(1);
  expect(proxy.records).toEqual([expect.objectContaining({ op: 'createcase', token, idempotencyKey: '"k1"', caseId: '500123', forwarded: true, status: 200, replyLost: false })]);
});

test('"before" answers 503 and the peer never sees the request', async () => {
  proxy.setPlan({ rules: [{ kind: 'before', times: 1 }] });
  expect(await call('/createcase')).toMatchObject({ status: 503 });
  expect(hits).toBe(0);
  expect(await call('/createcase')).toMatchObject({ status: 200 });
  expect(hits).toBe(1);
  expect(proxy.records.map((r) => r.forwarded)).toEqual([false, true]);
});

test('"before" can answer another status with a Retry-After; the webhook-id of the request is recorded', async () => {
  proxy.setPlan({ rules: [{ kind: 'before', status: 429, retryAfterSeconds: 1, times: 1 }] });
  expect(await call('/receive')).toMatchObject({ status: 429, retryAfter: '1' });
  expect(hits).toBe(0);
  expect(await call('/receive')).toMatchObject({ status: 200, retryAfter: undefined });
  expect(proxy.records.map((r) => [r.webhookId, r.forwarded])).toEqual([
    ['msg_1', false],
    ['msg_1', true],
  ]);
});

test('"hold" lets the peer act and holds the reply past a caller that gives up; a short hold still answers', async () => {
  proxy.setPlan({ rules: [{ kind: 'hold', holdMs: 2000, times: 1 }] });
  expect(await call('/receive', '', 100)).toEqual({ error: 'CLIENT_TIMEOUT' });
  await eventually(async () => hits === 1, 10000, 'the peer to act');
  await eventually(async () => proxy.records[0]?.status === 200, 10000, 'the peer to answer');
  expect(proxy.records[0]).toMatchObject({ op: 'receive', forwarded: true, held: true, replyLost: false });
  proxy.setPlan({ rules: [{ kind: 'hold', holdMs: 10, times: 1 }] });
  expect(await call('/receive', '', 10000)).toMatchObject({ status: 200 });
  expect(proxy.records[1]).toMatchObject({ held: true, status: 200 });
});

test('"after" lets the peer act and loses the reply; a rule for another operation does not fire', async () => {
  proxy.setPlan({ rules: [{ op: 'application', kind: 'after' }] });
  expect(await call('/createcase')).toMatchObject({ status: 200 });
  const lost = await call('/application');
  expect(lost).toHaveProperty('error');
  expect(hits).toBe(2);
  expect(proxy.records[1]).toMatchObject({ op: 'application', forwarded: true, status: 200, replyLost: true });
});

test('probabilities follow the seed: the same plan fails the same requests', async () => {
  const pattern = async () => {
    proxy.setPlan({ seed: 7, rules: [{ kind: 'before', probability: 0.3 }] });
    const out: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await call('/x');
      out.push('status' in r ? r.status : 0);
    }
    return out;
  };
  const first = await pattern();
  expect(first.filter((s) => s === 503).length).toBeGreaterThan(0);
  expect(first.filter((s) => s === 200).length).toBeGreaterThan(0);
  expect(await pattern()).toEqual(first);
});

test('"down" refuses connections, then listens again on the same port', async () => {
  const url = proxy.url;
  await proxy.down(300);
  expect(await call('/x')).toEqual({ error: 'ECONNREFUSED' });
  await eventually(async () => {
    const r = await call('/x');
    return 'status' in r && r.status === 200;
  }, 10000, 'the proxy to come back');
  expect(proxy.url).toBe(url);
});
