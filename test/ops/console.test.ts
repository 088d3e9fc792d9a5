/**
 * The ops console over real HTTP against a real hub: sign-in, roles, CSRF, case search by a 121 referenceId,
 * replay / replay-all / discard with the audit log, dry-run with masking, the queue dashboard's guard, headers.
 */
import axios from 'axios';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { queueCounts } from '../../src/ops/overview';
import { eventually } from '../helpers/hub';
import { OPERATOR, OpsClient, VIEWER, opsUsersYaml, recorderEvent, startOpsHub, type OpsTestHub } from './helpers';

const ROUTES = `
connections:
  inbox: { adapter: recorder }
  alpha: { adapter: recorder, delivery: { attempts: 2, backoffMs: 20 } }
  beta: { adapter: recorder, delivery: { attempts: 2, backoffMs: 20 } }
routes:
  - name: to-alpha
    from: { connection: inbox, source: inbox }
    to:
      - connection: alpha
        action: record
        mapping: { set: { status: fixed-by-mapping } }
  - name: to-beta
    from: { connection: inbox, source: inbox }
    filter: { path: type, equals: complaint }
    to: [{ connection: beta, action: record }]
`;

describe('ops console', () => {
  let t: OpsTestHub;
  let alpha: RedisConnectionState;
  let beta: RedisConnectionState;
  const post = (body: unknown) => axios.post(`${t.baseUrl}/recorder/inbox`, body);

  beforeAll(async () => {
    t = await startOpsHub({ yaml: `${await opsUsersYaml()}${ROUTES}`, defaultMetrics: false });
    alpha = new RedisConnectionState(t.redis, t.prefix, 'alpha');
    beta = new RedisConnectionState(t.redis, t.prefix, 'beta');
  });
  afterAll(async () => t.stop());

  async function deadLetterFor(connection: string, hubId: string) {
    return eventually(async () => (await t.hub.deadLetters.list(connection)).find((d) => d.hubId === hubId), 10000, `dead letter of ${hubId}`);
  }

  it('sends anonymous page requests to the sign-in page and JSON requests away with 401', async () => {
    const anon = new OpsClient(t.baseUrl);
    const page = await anon.get('/ops');
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe('/ops/login?next=%2Fops');
    expect((await anon.get('/ops/api/overview')).status).toBe(401);
    expect((await anon.get('/ops/queues')).status).toBe(303);
    expect((await anon.get('/ops/queues/api/queues')).status).toBe(401);
  });

  it('refuses a wrong password and a login form without its CSRF cookie', async () => {
    const c = new OpsClient(t.baseUrl);
    const wrong = await c.login({ name: OPERATOR.name, password: 'not-the-password' });
    expect(wrong.status).toBe(401);
    expect(wrong.data).toContain('Wrong user name or password');
    const noCookie = await new OpsClient(t.baseUrl).post('/ops/login', { username: OPERATOR.name, password: OPERATOR.password, _csrf: 'guess' });
    expect(noCookie.status).toBe(403);
  });

  it('slows down a user name from one address after five failed sign-ins (back-off: test/ops/security.test.ts)', async () => {
    const c = new OpsClient(t.baseUrl);
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) statuses.push((await c.login({ name: 'mallory', password: `guess-${i}` })).status);
    expect(statuses.slice(0, 5)).toEqual(Array(5).fill(401));
    expect(statuses[5]).toBe(429);
  });

  it('signs in, shows routes, queues and connections, and signs out', async () => {
    const c = new OpsClient(t.baseUrl);
    const res = await c.login(OPERATOR);
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/ops');
    const cookie = (res.headers['set-cookie'] as string[]).find((s) => s.startsWith('cw_ops='));
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await c.get('/ops');
    expect(page.status).toBe(200);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['content-security-policy']).not.toContain('unsafe-inline');
    for (const text of ['data-route="to-alpha"', 'data-route="to-beta"', 'data-queue="deliver.alpha"', 'data-queue="deliver.beta"', 'data-queue="poll"', 'data-connection="alpha"', 'id="current-user">olivia']) {
      expect(page.data).toContain(text);
    }
    expect(page.data).not.toMatch(/<script>|<style>| style="| on[a-z]+="/);
    const out = await c.post('/ops/logout', { _csrf: c.csrf });
    expect(out.status).toBe(303);
    expect((await c.get('/ops')).status).toBe(303);
  });

  it('finds a case by its 121 referenceId and shows its trace as a timeline', async () => {
    const { data } = await post(recorderEvent('e-ref', 'src-ref', { references: [{ system: 'platform121', id: 'REF-121-0042', kind: 'referenceId' }] }));
    const hubId = data.results[0].hubId as string;
    await eventually(async () => Object.keys(await alpha.hashGetAll('deliveries')).length > 0 && Object.keys(await beta.hashGetAll('deliveries')).length > 0, 10000, 'deliveries');
    const c = new OpsClient(t.baseUrl);
    await c.login(VIEWER);
    const search = await c.get('/ops/cases?q=REF-121-0042');
    expect(search.status).toBe(303);
    expect(search.headers.location).toBe(`/ops/cases/${hubId}`);
    const page = await c.get(search.headers.location as string);
    expect(page.status).toBe(200);
    expect(page.data).toContain('REF-121-0042');
    const stages = [...(page.data as string).matchAll(/<li class="stage-[a-z-]+" data-stage="([a-z-]+)"/g)].map((m) => m[1]);
    expect(stages[0]).toBe('received');
    expect(stages.filter((s) => s === 'delivered')).toHaveLength(2);
    expect((await c.get('/ops/cases?q=no-such-id-anywhere')).status).toBe(404);
    const asJson = await c.getJson('/ops/api/cases/REF-121-0042');
    expect(asJson.data.hubId).toBe(hubId);
  });

  it('lets a viewer preview a dead letter with personal data masked, but not replay or discard it', async () => {
    await beta.set('mode', 'permanent');
    const { data } = await post(recorderEvent('e-viewer', 'src-viewer', { parties: [{ roles: ['customer'], person: { forenames: 'Xanthippe', surname: 'Vandermolen', birthDate: '1961-02-03' }, contacts: [{ kind: 'email', value: 'xv@example.org' }] }] }));
    const hubId = data.results[0].hubId as string;
    const dead = await deadLetterFor('beta', hubId);
    await beta.del('mode');

    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    const overview = await viewer.get('/ops');
    expect(overview.data).toContain(`data-id="${dead.id}"`);
    expect(overview.data).not.toContain('data-action="replay"');
    const preview = await viewer.get(`/ops/dead-letters/beta/${dead.id}/preview`);
    expect(preview.status).toBe(200);
    expect(preview.data).toContain('[masked]');
    for (const secret of ['Xanthippe', 'Vandermolen', '1961-02-03', 'xv@example.org']) expect(preview.data).not.toContain(secret);
    const replay = await viewer.post(`/ops/dead-letters/beta/${dead.id}/replay`, { _csrf: viewer.csrf });
    expect(replay.status).toBe(403);
    expect((await viewer.post(`/ops/dead-letters/beta/${dead.id}/discard`, { _csrf: viewer.csrf })).status).toBe(403);
    expect((await t.hub.deadLetters.get('beta', dead.id))).not.toBeNull();

    const operator = new OpsClient(t.baseUrl);
    await operator.login(OPERATOR);
    const full = await operator.getJson(`/ops/api/dead-letters/beta/${dead.id}/dry-run`);
    expect(full.data).toMatchObject({ kind: 'case', masked: false, case: { parties: [{ person: { forenames: 'Xanthippe', surname: 'Vandermolen' } }] } });
  });

  it('shows the payload as the current mapping makes it', async () => {
    await alpha.set('mode', 'permanent');
    const { data } = await post(recorderEvent('e-map', 'src-map', { status: 'as-received' }));
    const dead = await deadLetterFor('alpha', data.results[0].hubId);
    await alpha.del('mode');
    const c = new OpsClient(t.baseUrl);
    await c.login(OPERATOR);
    const dry = await c.getJson(`/ops/api/dead-letters/alpha/${dead.id}/dry-run`);
    expect(dry.data.case.status).toBe('fixed-by-mapping');
    expect(dry.data.target).toMatchObject({ connection: 'alpha', action: 'record', mapping: { set: { status: 'fixed-by-mapping' } } });
  });

  it('replays one dead letter as operator, audited with the user, and the case is delivered', async () => {
    await beta.set('mode', 'permanent');
    const { data } = await post(recorderEvent('e-replay', 'src-replay'));
    const hubId = data.results[0].hubId as string;
    const dead = await deadLetterFor('beta', hubId);
    await beta.del('mode');
    const c = new OpsClient(t.baseUrl);
    await c.login(OPERATOR);
    await c.refreshCsrf();
    const noToken = await c.post(`/ops/dead-letters/beta/${dead.id}/replay`, { _csrf: 'wrong' });
    expect(noToken.status).toBe(403);
    const crossSite = await c.post(`/ops/dead-letters/beta/${dead.id}/replay`, { _csrf: c.csrf }, { 'sec-fetch-site': 'cross-site' });
    expect(crossSite.status).toBe(403);
    const res = await c.post(`/ops/dead-letters/beta/${dead.id}/replay`, { _csrf: c.csrf, back: `/ops/cases/${hubId}` });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe(`/ops/cases/${hubId}?done=replayed&count=1`);
    await eventually(async () => (await beta.hashGetAll('deliveries'))[dead.id], 10000, 'delivery after replay');
    const audit = await t.hub.deadLetters.auditLog();
    expect(audit[0]).toMatchObject({ action: 'replay', by: `ops:${OPERATOR.name}`, hubId, deliveryId: dead.id, connection: 'beta', route: 'to-beta' });
    const page = await c.get(`/ops/cases/${hubId}`);
    expect(page.data).toMatch(/data-target="beta-record" data-stage="delivered"/);
    const auditPage = await c.get('/ops/audit');
    expect(auditPage.data).toContain(`ops:${OPERATOR.name}`);
  });

  it('replays every dead letter of a route at once, and discards one', async () => {
    await beta.set('mode', 'permanent');
    const ids: string[] = [];
    for (const n of [1, 2, 3]) ids.push((await post(recorderEvent(`e-all-${n}`, `src-all-${n}`))).data.results[0].hubId);
    const dead = await Promise.all(ids.map((h) => deadLetterFor('beta', h)));
    const c = new OpsClient(t.baseUrl);
    await c.login(OPERATOR);
    await c.refreshCsrf();
    const discard = await c.post(`/ops/dead-letters/beta/${dead[2].id}/discard`, { _csrf: c.csrf });
    expect(discard.status).toBe(303);
    expect(await t.hub.deadLetters.get('beta', dead[2].id)).toBeNull();
    await beta.del('mode');
    const open = (await t.hub.deadLetters.list('beta')).filter((d) => d.route === 'to-beta');
    expect(open.map((d) => d.id)).toEqual(expect.arrayContaining([dead[0].id, dead[1].id]));
    const res = await c.post('/ops/routes/to-beta/replay', { _csrf: c.csrf });
    expect(res.headers.location).toBe(`/ops?done=replayed&count=${open.length}`);
    expect(await t.hub.deadLetters.list('beta')).toHaveLength(0);
    // Every replayed dead letter (the ones of earlier tests too) is delivered before the next test fails beta again.
    await eventually(async () => {
      const done = await beta.hashGetAll('deliveries');
      return open.every((d) => done[d.id]);
    }, 10000, 'every replayed delivery');
    const audit = (await t.hub.deadLetters.auditLog()).slice(0, open.length + 1).map((a) => `${a.action}:${a.deliveryId}:${a.by}`);
    expect(audit).toEqual(expect.arrayContaining([`discard:${dead[2].id}:ops:olivia`, `replay:${dead[0].id}:ops:olivia`, `replay:${dead[1].id}:ops:olivia`]));
  });

  it('discards a filtered set of dead letters in bulk after a confirmed count, and audits it', async () => {
    await beta.set('mode', 'permanent');
    const ids: string[] = [];
    for (const n of [1, 2]) ids.push((await post(recorderEvent(`e-bulk-${n}`, `src-bulk-${n}`))).data.results[0].hubId);
    await Promise.all(ids.map((h) => deadLetterFor('beta', h)));
    await beta.del('mode');
    const c = new OpsClient(t.baseUrl);
    await c.login(OPERATOR);
    const list = await c.get('/ops/dead-letters?connection=beta&route=to-beta');
    expect(list.data).toContain('Discard all 2');
    // A filter matching nothing confirms 0 and discards nothing; a wrong count is refused.
    expect((await c.post('/ops/dead-letters/bulk', { _csrf: c.csrf, action: 'discard', connection: 'beta', code: 'NOPE', expected: '0' })).status).toBe(303);
    expect((await c.post('/ops/dead-letters/bulk', { _csrf: c.csrf, action: 'discard', connection: 'beta', route: 'to-beta', expected: '5' })).status).toBe(409);
    expect(await t.hub.deadLetters.list('beta')).toHaveLength(2);
    expect((await c.post('/ops/dead-letters/bulk', { _csrf: c.csrf, action: 'discard', connection: 'nope' })).status).toBe(404);
    const res = await c.post('/ops/dead-letters/bulk', { _csrf: c.csrf, action: 'discard', connection: 'beta', route: 'to-beta', expected: '2' });
    expect(res.status).toBe(303);
    expect(res.headers.location).toBe('/ops/dead-letters?connection=beta&route=to-beta&done=discarded&count=2');
    expect(await t.hub.deadLetters.list('beta')).toHaveLength(0);
    const audit = await t.hub.deadLetters.auditLog(5);
    expect(audit[0]).toMatchObject({ action: 'bulk-discard', by: `ops:${OPERATOR.name}`, detail: 'discard 2 of 2 matching connection=beta, route=to-beta' });
    expect(audit.slice(1, 3).map((a) => a.action)).toEqual(['discard', 'discard']);
    // Viewers cannot.
    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    expect((await viewer.post('/ops/dead-letters/bulk', { _csrf: viewer.csrf, action: 'discard' })).status).toBe(403);
  });

  it('serves the queue dashboard: read-only for viewers; operators may only retry failed deliveries there', async () => {
    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    const ui = await viewer.get('/ops/queues');
    expect(ui.status).toBe(200);
    expect(ui.headers['content-security-policy']).toContain("script-src 'self'");
    const queues = await viewer.getJson('/ops/queues/api/queues');
    expect(queues.status).toBe(200);
    const names = (queues.data.queues as Array<{ name: string; readOnlyMode: boolean }>).map((q) => q.name).sort();
    expect(names).toEqual(['deliver.alpha', 'deliver.beta', 'poll']);
    expect(queues.data.queues.every((q: { readOnlyMode: boolean }) => q.readOnlyMode)).toBe(true);
    const put = await axios.put(`${t.baseUrl}/ops/queues/api/queues/deliver.beta/pause`, {}, { validateStatus: () => true, headers: { cookie: (await loginCookie(VIEWER)) } });
    expect(put.status).toBe(403);

    // Operators get a board that retries failed deliveries and nothing else (the buttons: test/ops/browser.test.ts).
    const opCookie = await loginCookie(OPERATOR);
    const opQueues = await axios.get(`${t.baseUrl}/ops/queues/api/queues`, { headers: { cookie: opCookie } });
    const flags = Object.fromEntries((opQueues.data.queues as Array<{ name: string; readOnlyMode: boolean; allowRetries: boolean; allowCompletedRetries: boolean }>).map((q) => [q.name, [q.readOnlyMode, q.allowRetries, q.allowCompletedRetries]]));
    expect(flags).toEqual({ 'deliver.alpha': [false, true, false], 'deliver.beta': [false, true, false], poll: [true, false, false] });
    const origin = new URL(t.baseUrl).origin;
    for (const path of ['deliver.beta/pause', 'deliver.beta/clean/failed', 'deliver.beta/empty', 'deliver.beta/retry/completed', 'poll/retry/failed']) {
      const refused = await axios.put(`${t.baseUrl}/ops/queues/api/queues/${path}`, {}, { validateStatus: () => true, headers: { cookie: opCookie, origin } });
      expect([path, refused.status]).toEqual([path, 403]);
    }
    // The allowed retry needs proof that the request came from this console.
    expect((await axios.put(`${t.baseUrl}/ops/queues/api/queues/deliver.beta/retry/failed`, {}, { validateStatus: () => true, headers: { cookie: opCookie } })).status).toBe(403);
    // With it, "Retry all" of a delivery queue is the hub's bulk replay, audited.
    const retried = await axios.put(`${t.baseUrl}/ops/queues/api/queues/deliver.beta/retry/failed`, {}, { validateStatus: () => true, headers: { cookie: opCookie, origin } });
    expect(retried.status).toBe(200);
    const n = (retried.data as { retried: number; skipped: number }).retried;
    expect(retried.data).toEqual({ retried: n, skipped: 0 });
    const boardAudit = await t.hub.deadLetters.auditLog(5);
    expect(boardAudit[0]).toMatchObject({ action: 'queues', by: `ops:${OPERATOR.name}`, detail: `retry all failed in deliver.beta (queue dashboard): ${n} of ${n}` });
    expect(boardAudit[1]).toMatchObject({ action: 'bulk-replay', by: `ops:${OPERATOR.name}`, connection: 'deliver.beta'.slice(8) });
    // The queue actions the hub allows are on the overview, audited.
    const op = new OpsClient(t.baseUrl);
    await op.login(OPERATOR);
    expect((await op.get('/ops')).data).toContain('data-queue-action="pause"');
    expect((await viewer.get('/ops')).data).not.toContain('data-queue-action');
    expect((await viewer.post('/ops/queue-actions/deliver.beta/pause', { _csrf: viewer.csrf })).status).toBe(403);
    expect((await op.post('/ops/queue-actions/deliver.beta/pause', { _csrf: op.csrf })).status).toBe(303);
    expect(await t.hub.runtime.queues.get('deliver.beta').isPaused()).toBe(true);
    // BullMQ 6 has no `paused` job state: a paused queue's job counts as waiting, and the queue itself says paused.
    const probe = await t.hub.runtime.queues.get('deliver.beta').add('probe', { probe: true }, { jobId: 'paused-probe' });
    const beta = (await queueCounts(t.hub)).find((q) => q.name === 'deliver.beta');
    expect(beta).toMatchObject({ paused: true, backlog: 1 });
    expect(beta?.counts.waiting).toBe(1);
    expect(Object.keys(beta?.counts ?? {})).not.toContain('paused');
    expect((await op.get('/ops')).data).toMatch(/data-queue="deliver\.beta">(?:(?!<\/tr>).)*data-state="waiting">1<(?:(?!<\/tr>).)*data-paused="yes"/s);
    await probe.remove();
    expect((await op.post('/ops/queue-actions/deliver.beta/resume', { _csrf: op.csrf })).status).toBe(303);
    expect(await t.hub.runtime.queues.get('deliver.beta').isPaused()).toBe(false);
    expect((await op.get('/ops')).data).toMatch(/data-queue="deliver\.beta">(?:(?!<\/tr>).)*data-paused="no"/s);
    expect((await op.post('/ops/queue-actions/nope/pause', { _csrf: op.csrf })).status).toBe(404);
    const audit = await t.hub.deadLetters.auditLog();
    expect(audit.slice(0, 2).map((a) => `${a.action}:${a.detail}:${a.by}`)).toEqual([`queues:resume deliver.beta:ops:${OPERATOR.name}`, `queues:pause deliver.beta:ops:${OPERATOR.name}`]);
  });

  async function loginCookie(user: { name: string; password: string }): Promise<string> {
    const c = new OpsClient(t.baseUrl);
    const res = await c.login(user);
    const cookie = (res.headers['set-cookie'] as string[]).find((s) => s.startsWith('cw_ops='))!;
    return cookie.split(';')[0];
  }

  it('rejects invalid input with 400 before any handler runs', async () => {
    const c = new OpsClient(t.baseUrl);
    await c.login(OPERATOR);
    expect((await c.get('/ops?days=0')).status).toBe(400);
    expect((await c.get('/ops/reconciliation?days=abc')).status).toBe(400);
    expect((await c.get('/ops/dead-letters/NOT_A_NAME/x/preview')).status).toBe(400);
  });
});
