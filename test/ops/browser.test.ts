/**
 * The console in a real browser (Debian's Chromium through playwright-core, headless): sign in, see routes and
 * queues, find a case by its 121 referenceId and read its timeline, replay a dead letter as operator and see it
 * delivered, and be refused replay as viewer. The pages run under the console's strict CSP; any violation fails.
 */
import { existsSync } from 'node:fs';
import axios from 'axios';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually } from '../helpers/hub';
import { OPERATOR, VIEWER, opsUsersYaml, recorderEvent, startOpsHub, type OpsTestHub } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const ROUTES = `
connections:
  portal: { adapter: recorder }
  crm: { adapter: recorder, delivery: { attempts: 1, backoffMs: 20 } }
routes:
  - name: portal-to-crm
    description: Registrations from the portal into the CRM
    from: { connection: portal, source: inbox }
    to: [{ connection: crm, action: record }]
`;

describe('ops console in a browser', () => {
  let t: OpsTestHub;
  let crm: RedisConnectionState;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
    t = await startOpsHub({ yaml: `${await opsUsersYaml()}${ROUTES}`, defaultMetrics: false });
    crm = new RedisConnectionState(t.redis, t.prefix, 'crm');
    // Playwright starts Chromium with a fresh temporary profile (--user-data-dir) of its own on every launch.
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('dialog', (dialog) => void dialog.accept());
    return { context, page };
  }

  async function signIn(page: Page, user: { name: string; password: string }): Promise<void> {
    await page.goto(`${t.baseUrl}/ops`);
    await page.waitForURL(/\/ops\/login/);
    await page.fill('#username', user.name);
    await page.fill('#password', user.password);
    await Promise.all([page.waitForURL(`${t.baseUrl}/ops`), page.click('button[type=submit]')]);
  }

  it('signs in and shows the routes, the queues and the queue dashboard', async () => {
    const { context, page } = await newPage();
    await signIn(page, OPERATOR);
    await expect(page.textContent('#current-user')).resolves.toBe(OPERATOR.name);
    await expect(page.locator('#routes tr[data-route="portal-to-crm"]').count()).resolves.toBe(1);
    await expect(page.locator('#routes tr[data-route="portal-to-crm"] td').first().textContent()).resolves.toContain('portal-to-crm');
    await expect(page.locator('#queues tr.queue').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-queue')))).resolves.toEqual(['deliver.crm', 'poll']);
    // The stylesheet applied (same-origin CSS under the CSP).
    await expect(page.locator('header.top').evaluate((el) => (globalThis as unknown as { getComputedStyle(e: unknown): { display: string } }).getComputedStyle(el).display)).resolves.toBe('flex');

    await page.click('a[href="/ops/queues"]');
    await page.waitForURL(`${t.baseUrl}/ops/queues`);
    // bull-board is a React app: it only shows queue names if its same-origin scripts ran.
    await page.getByText('deliver.crm').first().waitFor({ timeout: 15000 });
    await context.close();
  });

  it('finds a case by its 121 referenceId and shows its timeline', async () => {
    const { data } = await axios.post(`${t.baseUrl}/recorder/inbox`, recorderEvent('b-ref', 'src-b-ref', { references: [{ system: 'platform121', id: 'REF-B-7781', kind: 'referenceId' }] }));
    const hubId = data.results[0].hubId as string;
    await eventually(async () => Object.values(await crm.hashGetAll('deliveries')).some((v) => v.includes(hubId)), 10000, 'delivery');
    const { context, page } = await newPage();
    await signIn(page, VIEWER);
    await page.fill('#case-search', 'REF-B-7781');
    await Promise.all([page.waitForURL(`${t.baseUrl}/ops/cases/${hubId}`), page.press('#case-search', 'Enter')]);
    await expect(page.textContent('#hub-id')).resolves.toBe(hubId);
    const stages = await page.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-stage')));
    expect(stages).toEqual(['received', 'routed', 'delivered']);
    await expect(page.locator('#references').textContent()).resolves.toContain('REF-B-7781');
    await context.close();
  });

  it('replays a dead letter as operator and shows it delivered; a viewer is refused', async () => {
    await crm.set('mode', 'permanent');
    const { data } = await axios.post(`${t.baseUrl}/recorder/inbox`, recorderEvent('b-dead', 'src-b-dead'));
    const hubId = data.results[0].hubId as string;
    const dead = await eventually(async () => (await t.hub.deadLetters.list('crm')).find((d) => d.hubId === hubId), 10000, 'dead letter');
    await crm.del('mode');

    // Viewer: sees the dead letter but no replay button; a forged replay is refused.
    const viewer = await newPage();
    await signIn(viewer.page, VIEWER);
    const row = viewer.page.locator(`tr.dead-letter[data-id="${dead.id}"]`);
    await expect(row.count()).resolves.toBe(1);
    await expect(row.locator('[data-action="replay"]').count()).resolves.toBe(0);
    const forged = await viewer.page.evaluate(async (url) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: '_csrf=x' });
      return res.status;
    }, `/ops/dead-letters/crm/${dead.id}/replay`);
    expect(forged).toBe(403);
    expect(await t.hub.deadLetters.get('crm', dead.id)).not.toBeNull();
    await viewer.context.close();

    // Operator: replays from the overview and follows the case to see it delivered.
    const op = await newPage();
    await signIn(op.page, OPERATOR);
    await Promise.all([op.page.waitForURL(/done=replayed/), op.page.locator(`tr.dead-letter[data-id="${dead.id}"] [data-action="replay"]`).click()]);
    await expect(op.page.locator('.notice.ok').textContent()).resolves.toContain('Replayed 1 dead letter');
    await eventually(async () => (await crm.hashGetAll('deliveries'))[dead.id], 10000, 'delivery after replay');
    await op.page.goto(`${t.baseUrl}/ops/cases/${hubId}`);
    const stages = await op.page.locator('#timeline li').evaluateAll((items) => items.map((li) => li.getAttribute('data-stage')));
    expect(stages).toEqual(['received', 'routed', 'dead', 'replayed', 'delivered']);
    await expect(op.page.locator('#timeline li[data-stage="replayed"]').textContent()).resolves.toContain(`by ops:${OPERATOR.name}`);
    await expect(op.page.locator('#targets tr[data-target="crm-record"]').getAttribute('data-stage')).resolves.toBe('delivered');
    await op.context.close();
  });

  it('serves each role the queue dashboard it may use: viewers no buttons, operators Retry only, audited; other writes 403', async () => {
    await crm.set('mode', 'permanent');
    const hubIds: string[] = [];
    for (const n of [1, 2]) hubIds.push(((await axios.post(`${t.baseUrl}/recorder/inbox`, recorderEvent(`b-board-${n}`, `src-b-board-${n}`))).data.results[0].hubId as string));
    const dead = await eventually(async () => {
      const list = (await t.hub.deadLetters.list('crm')).filter((d) => hubIds.includes(d.hubId));
      return list.length === 2 ? list : undefined;
    }, 10000, 'two dead letters');
    await crm.del('mode');
    const failedPage = `${t.baseUrl}/ops/queues/queue/deliver.crm?status=failed`;
    const jobActions = 'ul[class^="jobActions-"] li';

    // Viewer: the failed jobs are listed, with no action anywhere.
    const viewer = await newPage();
    await signIn(viewer.page, VIEWER);
    await viewer.page.goto(failedPage);
    await viewer.page.getByText(dead[0].id).first().waitFor({ timeout: 15000 });
    await expect(viewer.page.locator(jobActions).count()).resolves.toBe(0);
    await expect(viewer.page.locator('ul[class^="queueActions-"]').count()).resolves.toBe(0);
    await expect(viewer.page.locator('button[class^="trigger-GNtOnV"]').count()).resolves.toBe(0);
    for (const label of ['Clean all', 'Retry all', 'Promote all', 'Pause all']) await expect(viewer.page.getByText(label).count()).resolves.toBe(0);
    // Its writes are refused, the allowed retry included.
    const viewerTries = await viewer.page.evaluate(async (id) => Promise.all([`/ops/queues/api/queues/deliver.crm/${id}/retry`, '/ops/queues/api/queues/deliver.crm/retry/failed', '/ops/queues/api/queues/deliver.crm/clean/failed'].map(async (url) => (await fetch(url, { method: 'PUT' })).status)), dead[0].id);
    expect(viewerTries).toEqual([403, 403, 403]);
    await viewer.context.close();

    // Operator: one action per failed job (Retry), "Retry all" and nothing else on the queue: no Clean all, no menu.
    const op = await newPage();
    await signIn(op.page, OPERATOR);
    await op.page.goto(failedPage);
    await op.page.getByText(dead[0].id).first().waitFor({ timeout: 15000 });
    await op.page.locator(jobActions).first().waitFor({ timeout: 15000 });
    const cards = await op.page.locator('ul[class^="jobActions-"]').count();
    expect(cards).toBe(2);
    await expect(op.page.locator(jobActions).count()).resolves.toBe(cards);
    await expect(op.page.locator('ul[class^="queueActions-"] li').allTextContents()).resolves.toEqual(['Retry all']);
    for (const label of ['Clean all', 'Promote all', 'Empty', 'Obliterate', 'Add job', 'Duplicate', 'Update data']) await expect(op.page.getByText(label, { exact: true }).count()).resolves.toBe(0);
    await expect(op.page.locator('button[class^="trigger-GNtOnV"]').count()).resolves.toBe(0);
    // The one job action is Retry (its tooltip says so).
    await op.page.locator(jobActions).first().hover();
    await expect(op.page.locator('[class^="popup-"]').first().textContent()).resolves.toBe('Retry');
    // Forbidden writes are refused for the operator too, with or without proof of origin.
    const opTries = await op.page.evaluate(async (id) => Promise.all([`/ops/queues/api/queues/deliver.crm/clean/failed`, `/ops/queues/api/queues/deliver.crm/${id}/clean`, `/ops/queues/api/queues/deliver.crm/${id}/update-data`, '/ops/queues/api/queues/deliver.crm/empty', '/ops/queues/api/queues/deliver.crm/pause', '/ops/queues/api/queues/deliver.crm/retry/completed', '/ops/queues/api/queues/poll/retry/failed'].map(async (url) => (await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"data":{}}' })).status)), dead[0].id);
    expect(opTries).toEqual([403, 403, 403, 403, 403, 403, 403]);
    expect((await t.hub.deadLetters.list('crm')).filter((d) => hubIds.includes(d.hubId))).toHaveLength(2);

    // Retry one from the board: the hub replays it (trace, audit) and it is delivered.
    const target = op.page.locator('[class*="card"]', { hasText: dead[0].id }).locator(jobActions).first();
    await target.click();
    const confirm = op.page.getByRole('alertdialog').or(op.page.getByRole('dialog'));
    await confirm.first().waitFor({ timeout: 5000 });
    await confirm.first().getByRole('button', { name: /confirm|ok|yes|retry/i }).first().click();
    await eventually(async () => (await crm.hashGetAll('deliveries'))[dead[0].id], 10000, 'delivery after the board retry');
    const audit = await t.hub.deadLetters.auditLog(20);
    expect(audit.find((a) => a.action === 'replay' && a.deliveryId === dead[0].id)).toMatchObject({ by: `ops:${OPERATOR.name}`, hubId: dead[0].hubId });
    expect(audit.find((a) => a.action === 'queues' && a.detail === `retry ${dead[0].id} in deliver.crm (queue dashboard)`)).toMatchObject({ by: `ops:${OPERATOR.name}` });
    expect((await t.hub.deadLetters.list('crm')).map((d) => d.id)).toContain(dead[1].id);
    await op.context.close();

    // Without the browser's same-origin proof or the CSRF token, the allowed retry is refused too.
    const cookies = await (async () => {
      const c = await browser.newContext();
      const p = await c.newPage();
      await signIn(p, OPERATOR);
      const jar = (await c.cookies()).map((k) => `${k.name}=${k.value}`).join('; ');
      await c.close();
      return jar;
    })();
    const bare = await axios.put(`${t.baseUrl}/ops/queues/api/queues/deliver.crm/${dead[1].id}/retry`, {}, { validateStatus: () => true, headers: { cookie: cookies } });
    expect(bare.status).toBe(403);
    const crossSite = await axios.put(`${t.baseUrl}/ops/queues/api/queues/deliver.crm/${dead[1].id}/retry`, {}, { validateStatus: () => true, headers: { cookie: cookies, origin: 'https://evil.example' } });
    expect(crossSite.status).toBe(403);
    expect((await t.hub.deadLetters.list('crm')).map((d) => d.id)).toContain(dead[1].id);
  }, 120000);

  it('ran every page without a CSP violation or a script error', () => {
    expect(problems).toEqual([]);
  });
});
