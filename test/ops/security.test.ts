/**
 * Web hardening over real HTTP: helmet headers on every route, no-store on /api and /ops, Origin/CSRF proof on every
 * state change under /ops (the queue dashboard's included), and sign-in back-off per (user, client address).
 */
import http from 'node:http';
import axios, { type AxiosResponse } from 'axios';
import { FREE_LOGIN_FAILURES, loginDelaySeconds } from '../../src/ops/auth';
import { eventually } from '../helpers/hub';
import { OPERATOR, OpsClient, opsUsersYaml, startOpsHub, type OpsTestHub } from './helpers';

const ROUTES = `
connections:
  inbox: { adapter: recorder }
  beta: { adapter: recorder }
routes:
  - name: to-beta
    from: { connection: inbox, source: inbox }
    to: [{ connection: beta, action: record }]
`;

describe('web hardening', () => {
  let t: OpsTestHub;
  beforeAll(async () => {
    t = await startOpsHub({ yaml: `${await opsUsersYaml()}${ROUTES}`, defaultMetrics: false });
  });
  afterAll(async () => t.stop());

  const get = (path: string) => axios.get(`${t.baseUrl}${path}`, { validateStatus: () => true, maxRedirects: 0 });

  it('sends helmet headers on every route: API, intake, probes, console and docs', async () => {
    for (const path of ['/healthz', '/api/cases/nope', '/ops/login', '/ops', '/docs', '/nowhere']) {
      const res = await get(path);
      expect([path, res.headers['x-content-type-options']]).toEqual([path, 'nosniff']);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
      expect(res.headers['content-security-policy']).not.toMatch(/https?:\/\//);
      expect(res.headers['x-frame-options']).toBeDefined();
      expect(res.headers['strict-transport-security']).toBeDefined();
    }
    const intake = await axios.post(`${t.baseUrl}/recorder/inbox`, { nonsense: true }, { validateStatus: () => true });
    expect(intake.headers['x-content-type-options']).toBe('nosniff');
  });

  it('keeps /api and /ops answers out of caches (no-store), error answers included; probes may be cached', async () => {
    for (const path of ['/api/cases/nope', '/api/routes', '/ops', '/ops/login', '/ops/queues/api/queues']) {
      expect([path, (await get(path)).headers['cache-control']]).toEqual([path, 'no-store']);
    }
    expect((await get('/healthz')).headers['cache-control']).not.toBe('no-store');
  });

  async function operatorCookie(): Promise<{ cookie: string; csrf: string }> {
    const c = new OpsClient(t.baseUrl);
    const res = await c.login(OPERATOR);
    expect(res.status).toBe(303);
    await c.refreshCsrf();
    const cookie = (res.headers['set-cookie'] as string[]).find((s) => s.startsWith('cw_ops='))!.split(';')[0];
    return { cookie, csrf: c.csrf };
  }

  it("refuses the queue dashboard's writes the hub does not allow, and the overview's queue actions without the CSRF token or from another site", async () => {
    const { cookie, csrf } = await operatorCookie();
    const queue = t.hub.runtime.queues.get('deliver.beta');
    const origin = new URL(t.baseUrl).origin;
    // The board never pauses a queue (that is the overview's, audited), whatever proof of origin a request carries.
    const boardPause = (headers: Record<string, string>) => axios.put(`${t.baseUrl}/ops/queues/api/queues/deliver.beta/pause`, {}, { validateStatus: () => true, headers: { cookie, ...headers } });
    for (const headers of [{}, { origin }, { 'x-csrf-token': csrf }, { 'sec-fetch-site': 'same-origin' }] as Array<Record<string, string>>) expect((await boardPause(headers)).status).toBe(403);
    expect(await queue.isPaused()).toBe(false);

    // The overview's queue action: a form with the session's CSRF token, from this site only.
    const action = (name: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
      axios.post(`${t.baseUrl}/ops/queue-actions/deliver.beta/${name}`, new URLSearchParams(body).toString(), { validateStatus: () => true, maxRedirects: 0, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    expect((await action('pause', {})).status).toBe(403);
    expect((await action('pause', { _csrf: 'guessed' })).status).toBe(403);
    expect((await action('pause', { _csrf: csrf }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await action('pause', { _csrf: csrf }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect(await queue.isPaused()).toBe(false);

    expect((await action('pause', { _csrf: csrf }, { origin })).status).toBe(303);
    expect(await queue.isPaused()).toBe(true);
    expect((await action('resume', { _csrf: csrf })).status).toBe(303);
    expect(await queue.isPaused()).toBe(false);
  });

  it('refuses console state changes without the CSRF token or from another site, and accepts the right one', async () => {
    const { cookie, csrf } = await operatorCookie();
    const form = (body: Record<string, string>, headers: Record<string, string> = {}) =>
      axios.post(`${t.baseUrl}/ops/logout`, new URLSearchParams(body).toString(), { validateStatus: () => true, maxRedirects: 0, headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...headers } });
    expect((await form({})).status).toBe(403);
    expect((await form({ _csrf: 'guessed' })).status).toBe(403);
    expect((await form({ _csrf: csrf }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await form({ _csrf: csrf }, { 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await get('/ops')).status).toBe(303); // (anonymous: still signed out is the anonymous client)
    expect((await axios.get(`${t.baseUrl}/ops`, { validateStatus: () => true, maxRedirects: 0, headers: { cookie } })).status).toBe(200);
    expect((await form({ _csrf: csrf }, { origin: new URL(t.baseUrl).origin })).status).toBe(303);
    expect((await axios.get(`${t.baseUrl}/ops`, { validateStatus: () => true, maxRedirects: 0, headers: { cookie } })).status).toBe(303);
  });

  /** Signs in through the form from a given local (loopback) address, without keeping cookies between calls. */
  async function loginFrom(localAddress: string, username: string, password: string): Promise<AxiosResponse<string>> {
    const httpAgent = new http.Agent({ localAddress });
    try {
      const page = await axios.get<string>(`${t.baseUrl}/ops/login`, { httpAgent, validateStatus: () => true, responseType: 'text' });
      const csrf = /name="_csrf" value="([^"]+)"/.exec(page.data)![1];
      const loginCookie = (page.headers['set-cookie'] as string[]).find((c) => c.startsWith('cw_ops_login='))!.split(';')[0];
      return await axios.post<string>(`${t.baseUrl}/ops/login`, new URLSearchParams({ username, password, _csrf: csrf }).toString(), {
        httpAgent,
        maxRedirects: 0,
        validateStatus: () => true,
        responseType: 'text',
        headers: { cookie: loginCookie, 'content-type': 'application/x-www-form-urlencoded' },
      });
    } finally {
      httpAgent.destroy();
    }
  }

  it('throttles sign-ins per (user, address) with growing waits; the real operator elsewhere still signs in', async () => {
    const attacker = '127.0.0.1';
    for (let i = 0; i < FREE_LOGIN_FAILURES; i += 1) expect((await loginFrom(attacker, OPERATOR.name, `guess-${i}`)).status).toBe(401);
    // Now even the right password from that address waits (without being checked) ...
    const throttled = await loginFrom(attacker, OPERATOR.name, OPERATOR.password);
    expect(throttled.status).toBe(429);
    expect(throttled.headers['retry-after']).toBe('1');
    expect(throttled.headers['set-cookie']?.some((c) => c.startsWith('cw_ops='))).toBeFalsy();
    // ... while the same user from another address, and another user from the same address, are not affected.
    expect((await loginFrom('127.0.0.2', OPERATOR.name, OPERATOR.password)).status).toBe(303);
    // Once the wait is over a wrong guess is checked again, and the next wait is twice as long.
    await eventually(async () => (await loginFrom(attacker, OPERATOR.name, 'guess-again')).status === 401, 10000, 'the first wait to end');
    const longer = await loginFrom(attacker, OPERATOR.name, OPERATOR.password);
    expect(longer.status).toBe(429);
    expect(Number(longer.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(longer.headers['retry-after'])).toBeLessThanOrEqual(2);
    // After the wait the right password signs in and the count starts again.
    await eventually(async () => (await loginFrom(attacker, OPERATOR.name, OPERATOR.password)).status === 303, 10000, 'the second wait to end');
    expect((await loginFrom(attacker, OPERATOR.name, 'one-more-guess')).status).toBe(401);
  });

  it('doubles the wait after the free failures, up to 15 minutes', () => {
    expect(Array.from({ length: 12 }, (_, i) => loginDelaySeconds(i + 1))).toEqual([0, 0, 0, 0, 1, 2, 4, 8, 16, 32, 64, 128]);
    expect(loginDelaySeconds(40)).toBe(900);
  });
});
