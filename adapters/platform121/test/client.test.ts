/** Client behaviour over real HTTP: cookie login once, re-login after 401, throttling, retries. */
import axios from 'axios';
import { PeerError } from '../../../src/core/errors';
import { eventually } from '../../../test/helpers/hub';
import { SlidingWindowLimiter } from '../src/limiter';
import { runtimeFor } from '../src/runtime';
import { startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(() => {
  env.sb.reset();
  env.sb.configure({ throttle: { limit: 3000, ttlMs: 60_000, loginLimit: 30, loginTtlMs: 60_000, retryAfterHeader: true } });
});

describe('login and cookie', () => {
  it('logs in once for many calls and sends the token as the access_token_general cookie, never as Bearer', async () => {
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    await Promise.all(Array.from({ length: 8 }, () => client.getRegistrations({ limit: 1 })));
    for (let i = 0; i < 4; i++) await client.getRegistrations({ page: 1, limit: 2 });

    expect(env.sb.logins).toBe(1);
    expect(client.stats.logins).toBe(1);
    const login = env.sb.apiRequests({ method: 'POST', path: '/api/users/login' });
    expect(login).toHaveLength(1);
    expect(login[0].status).toBe(201);
    const calls = env.sb.apiRequests({ method: 'GET', path: '/registrations' });
    expect(calls).toHaveLength(12);
    const tokens = new Set(calls.map((c) => c.tokenCookie));
    expect(tokens.size).toBe(1);
    expect([...tokens][0]).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+$/);
    for (const c of calls) {
      expect(c.status).toBe(200);
      expect(c.cookies).toEqual(['access_token_general']);
      expect(c.authorization).toBe(false);
      expect(c.interfaceHeader).toBeUndefined();
    }
    expect(env.sb.apiRequests().every((r) => r.interfaceHeader === undefined)).toBe(true);
  });

  it('the sandbox, like 121, refuses the same token sent as a Bearer header', async () => {
    const login = await axios.post(`${env.sb.url}/api/users/login`, { username: 'admin@example.org', password: 'password' });
    expect(login.status).toBe(201);
    const token = login.data.access_token_general as string;
    expect(String(login.headers['set-cookie'])).toContain(`access_token_general=${token}`);
    const bearer = await axios.get(`${env.sb.url}/api/programs/2/registrations`, { headers: { Authorization: `Bearer ${token}` }, validateStatus: () => true });
    expect(bearer.status).toBe(401);
    expect(bearer.data).toEqual({ statusCode: 401, message: 'Unauthorized' });
    const cookie = await axios.get(`${env.sb.url}/api/programs/2/registrations`, { headers: { Cookie: `access_token_general=${token}` } });
    expect(cookie.status).toBe(200);
  });

  it('logs in again once after a 401 and carries on with the new token', async () => {
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    await client.getRegistrations({ limit: 1 });
    const firstToken = env.sb.apiRequests({ method: 'GET' })[0].tokenCookie;
    env.sb.revokeTokens();
    const page = await client.getRegistrations({ limit: 5 });
    expect(page.data.length).toBe(3);
    await client.getRegistrations({ limit: 1 });

    expect(env.sb.logins).toBe(2);
    expect(client.stats.reloginsAfter401).toBe(1);
    const gets = env.sb.apiRequests({ method: 'GET' });
    expect(gets.map((g) => g.status)).toEqual([200, 401, 200, 200]);
    expect(gets[2].tokenCookie).not.toBe(firstToken);
    expect(gets[3].tokenCookie).toBe(gets[2].tokenCookie);
  });

  it('logs in again ahead of the token expiry (no 401 needed)', async () => {
    env.sb.configure({ tokenTtlSeconds: 2 });
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    await client.getRegistrations({ limit: 1 });
    await client.getRegistrations({ limit: 1 });
    expect(env.sb.logins).toBe(1);
    // The condition is the clock itself: the 2 s token is past its expiry (it was issued after the login began).
    const loginAt = env.sb.apiRequests({ method: 'POST', path: '/api/users/login' })[0].at;
    await eventually(async () => Date.now() > loginAt + 2000, 10000, 'the token to expire');
    await client.getRegistrations({ limit: 1 });
    expect(env.sb.logins).toBe(2);
    expect(env.sb.apiRequests({ method: 'GET' }).map((g) => g.status)).toEqual([200, 200, 200]);
    env.sb.configure({ tokenTtlSeconds: 33 * 3600 });
  });

  it('concurrent 401s lead to a single new login', async () => {
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    await client.getRegistrations({ limit: 1 });
    env.sb.revokeTokens();
    await Promise.all(Array.from({ length: 5 }, () => client.getRegistrations({ limit: 1 })));
    expect(env.sb.logins).toBe(2);
  });

  it('wrong credentials give a permanent auth error that names no secret', async () => {
    const h = env.harness(undefined, { password: 'not-the-password-123' });
    const client = runtimeFor(h.ctx).client;
    const err = await client.getRegistrations({ limit: 1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerError);
    const e = err as PeerError;
    expect(e.code).toBe('PEER_AUTH');
    expect(e.retryable).toBe(false);
    expect(e.status).toBe(401);
    expect(JSON.stringify(e.toJSON())).not.toContain('not-the-password-123');
    expect(e.message).not.toContain('admin@example.org');
  });
});

describe('throttling', () => {
  it('backs off on 429 for Retry-After and then succeeds', async () => {
    env.sb.configure({ throttle: { limit: 4, ttlMs: 1000, retryAfterHeader: true } });
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    const started = Date.now();
    const pages = await Promise.all(Array.from({ length: 8 }, () => client.getRegistrations({ limit: 1 })));
    expect(pages.every((p) => p.data.length === 1)).toBe(true);
    expect(client.stats.throttled).toBeGreaterThanOrEqual(1);
    const gets = env.sb.apiRequests({ method: 'GET' });
    const first429 = gets.find((g) => g.status === 429);
    expect(first429).toBeDefined();
    // After the 429 the client paused every call for Retry-After (1 s): the retries went out only after the window,
    // and no call hit the throttle again (all 429s belong to the first burst, sent before any answer came back).
    const t429 = first429?.at ?? 0;
    const retried = gets.filter((g) => g.status === 200 && g.at > t429);
    expect(retried.length).toBeGreaterThan(0);
    expect(Math.min(...retried.map((g) => g.at)) - t429).toBeGreaterThanOrEqual(500);
    expect(gets.filter((g) => g.status === 429 && g.at > t429 + 100)).toHaveLength(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(gets.filter((g) => g.status === 200)).toHaveLength(8);
  });

  it('without Retry-After it backs off exponentially', async () => {
    env.sb.configure({ throttle: { limit: 2, ttlMs: 600, retryAfterHeader: false } });
    const h = env.harness(undefined, { retryBaseDelayMs: 300, maxRetries: 4 });
    const client = runtimeFor(h.ctx).client;
    const pages = await Promise.all(Array.from({ length: 4 }, () => client.getRegistrations({ limit: 1 })));
    expect(pages).toHaveLength(4);
    expect(client.stats.throttled).toBeGreaterThanOrEqual(1);
  });

  it('gives up with a retryable throttling error when retries are exhausted', async () => {
    env.sb.configure({ throttle: { limit: 1, ttlMs: 60_000 } });
    const h = env.harness(undefined, { maxRetries: 0 });
    const client = runtimeFor(h.ctx).client;
    await client.getRegistrations({ limit: 1 });
    const err = (await client.getRegistrations({ limit: 1 }).catch((e: unknown) => e)) as PeerError;
    expect(err).toBeInstanceOf(PeerError);
    expect(err.status).toBe(429);
    expect(err.retryable).toBe(true);
    expect(err.code).toBe('PEER_THROTTLED');
    expect(err.context.peerCode).toBe('throttled');
  });

  it('the client-side limiter keeps within N calls per window', async () => {
    const limiter = new SlidingWindowLimiter(3, 300);
    const started = Date.now();
    const at: number[] = [];
    await Promise.all(Array.from({ length: 7 }, () => limiter.acquire().then(() => at.push(Date.now() - started))));
    at.sort((a, b) => a - b);
    // Only lower bounds: a loaded machine may make any call later, never earlier. The fourth call waits a whole
    // window after the first, the seventh two.
    expect(at[3] - at[0]).toBeGreaterThanOrEqual(290);
    expect(at[6] - at[0]).toBeGreaterThanOrEqual(590);
  });

  it('respects loginsPerMinute and requestsPerMinute from the settings', async () => {
    const h = env.harness(undefined, { throttle: { requestsPerMinute: 5, loginsPerMinute: 2 } });
    const client = runtimeFor(h.ctx).client;
    for (let i = 0; i < 5; i++) await client.getRegistrations({ limit: 1 });
    expect(client.requestLimiter.inWindow()).toBe(5);
    let sixth = 'held';
    void client.getRegistrations({ limit: 1 }).then(
      () => (sixth = 'sent'),
      () => (sixth = 'failed'),
    );
    // A later call from another connection (a login and then a GET, so after the sixth would have gone out)
    // reaches the peer; the sixth is still held.
    await runtimeFor(env.harness().ctx).client.getRegistrations({ limit: 1 });
    expect(sixth).toBe('held');
    expect(env.sb.apiRequests({ method: 'GET' })).toHaveLength(6);
  });
});

describe('retries', () => {
  it('retries an idempotent call on 5xx', async () => {
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    env.sb.injectFault({ method: 'GET', path: '/registrations', status: 503, times: 2 });
    const page = await client.getRegistrations({ limit: 10 });
    expect(page.data).toHaveLength(3);
    expect(env.sb.apiRequests({ method: 'GET' }).map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('retries an idempotent call after a timeout', async () => {
    const h = env.harness(undefined, { timeoutMs: 300 });
    const client = runtimeFor(h.ctx).client;
    env.sb.injectFault({ method: 'GET', path: '/registrations', delayMs: 800 });
    const page = await client.getRegistrations({ limit: 10 });
    expect(page.data).toHaveLength(3);
    expect(client.stats.retries).toBeGreaterThanOrEqual(1);
  });

  it('does not resend a note after a 5xx (not idempotent); the error is retryable for the hub', async () => {
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    env.sb.injectFault({ method: 'POST', path: '/notes', status: 502 });
    const err = (await client.postNote('westeros123456789', 'hello').catch((e: unknown) => e)) as PeerError;
    expect(err).toBeInstanceOf(PeerError);
    expect(err.retryable).toBe(true);
    expect(err.status).toBe(502);
    expect(env.sb.apiRequests({ method: 'POST', path: '/notes' })).toHaveLength(1);
  });
});
