/**
 * The console after a bad night, in Chromium (playwright-core, headless): a peer down and 150 dead letters. The
 * status strip shows them above the fold and the route wears no "balanced" badge; the dead letters page pages
 * through all of them and bulk-replays a filtered set after a confirmation; the case history finds cases by route
 * and status; auto-refresh pauses while the operator types; Swagger UI renders the API under its CSP.
 * CASEWAY_SCREENSHOTS=1 also writes the pages to docs/images/ for docs/operations.md.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually } from '../helpers/hub';
import { OPERATOR, VIEWER, opsUsersYaml, type OpsTestHub, startOpsHub } from './helpers';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.CASEWAY_SCREENSHOTS ? path.resolve(__dirname, '../../docs/images') : undefined;

const ROUTES = `
connections:
  portal: { adapter: recorder }
  desk: { adapter: recorder }
  crm: { adapter: recorder, delivery: { attempts: 3, backoffMs: 20 } }
  archive: { adapter: recorder, delivery: { attempts: 1, backoffMs: 20 } }
routes:
  - name: portal-to-crm
    description: Registrations from the portal into the CRM
    from: { connection: portal, source: inbox }
    to: [{ connection: crm, action: record }]
  - name: desk-to-crm
    description: Cases typed in at the help desk
    from: { connection: desk, source: inbox }
    to: [{ connection: crm, action: record }]
  - name: portal-to-archive
    from: { connection: portal, source: inbox }
    filter: { path: type, equals: archive-only }
    to: [{ connection: archive, action: record }]
`;

const event = (prefix: string, i: number) => ({ eventId: `${prefix}-${i}`, case: { type: 'complaint', source: { system: 'recorder', id: `${prefix}-src-${i}` }, parties: [] } });

describe('ops console at scale in a browser', () => {
  let t: OpsTestHub;
  let crm: RedisConnectionState;
  let browser: Browser;
  const problems: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
    t = await startOpsHub({ yaml: `${await opsUsersYaml()}${ROUTES}`, defaultMetrics: false });
    crm = new RedisConnectionState(t.redis, t.prefix, 'crm');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    // A delivered case first, then the CRM goes down: 110 portal and 40 desk cases die there.
    await t.hub.intake.ingest('portal', 'inbox', [event('ok', 0)]);
    await eventually(async () => Object.keys(await crm.hashGetAll('deliveries')).length === 1, 10000, 'first delivery');
    await crm.set('mode', 'permanent');
    await t.hub.intake.ingest('portal', 'inbox', Array.from({ length: 110 }, (_, i) => event('p', i)));
    await t.hub.intake.ingest('desk', 'inbox', Array.from({ length: 40 }, (_, i) => event('d', i)));
    await eventually(async () => (await t.hub.deadLetters.list('crm', 1000)).length === 150, 30000, '150 dead letters');
  }, 120000);

  afterAll(async () => {
    await browser?.close();
    await t?.stop();
  });

  async function signedIn(user: { name: string; password: string }, width = 1280): Promise<{ context: BrowserContext; page: Page }> {
    const context = await browser.newContext({ viewport: { width, height: 800 } });
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
    });
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('dialog', (dialog) => void dialog.accept());
    await page.goto(`${t.baseUrl}/ops`);
    await page.fill('#username', user.name);
    await page.fill('#password', user.password);
    await Promise.all([page.waitForURL(`${t.baseUrl}/ops`), page.click('button[type=submit]')]);
    return { context, page };
  }

  const shot = async (page: Page, name: string) => {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, name), fullPage: false });
  };

  it('leads with the problems: the status strip above the fold, no "balanced" on a route with dead letters', async () => {
    const { context, page } = await signedIn(VIEWER);
    const strip = page.locator('#status-strip');
    await expect(strip.locator('#strip-dead-letters .value').textContent()).resolves.toBe('150');
    await expect(strip.locator('#strip-dead-letters').getAttribute('class')).resolves.toContain('problem');
    await expect(strip.locator('#strip-dead-letters').getAttribute('href')).resolves.toBe('/ops/dead-letters');
    await expect(strip.locator('#strip-circuits .value').textContent()).resolves.toBe('1');
    await expect(strip.locator('#strip-circuits .detail').textContent()).resolves.toBe('crm');
    await expect(strip.locator('.cell.queue[data-queue="deliver.crm"]').count()).resolves.toBe(1);
    // Above the fold of a 1280 x 800 window.
    const box = await strip.boundingBox();
    expect(box && box.y + box.height).toBeLessThan(800);
    // The failing routes wear their dead letters, never "balanced"; the healthy one is balanced.
    for (const route of ['portal-to-crm', 'desk-to-crm']) {
      const row = page.locator(`#routes tr[data-route="${route}"]`);
      await expect(row.locator('[data-health="balanced"]').count()).resolves.toBe(0);
      await expect(row.locator('[data-health="dead"]').count()).resolves.toBe(1);
      await expect(row.locator('td[data-count="dead"]').getAttribute('class')).resolves.toContain('problem');
    }
    await expect(page.locator('#routes tr[data-route="portal-to-archive"] [data-health="balanced"]').count()).resolves.toBe(1);
    await expect(page.locator('#routes tr[data-route="portal-to-crm"] td[data-count="dead"]').textContent()).resolves.toBe('110');
    await expect(page.locator('svg.chart[data-route="portal-to-crm"] rect').count()).resolves.toBeGreaterThan(0);
    // The routes table fits the window: no horizontal scrolling.
    const overflow = await page.locator('#routes').evaluate((el) => el.scrollWidth - (el.parentElement?.clientWidth ?? 0));
    expect(overflow).toBeLessThanOrEqual(0);
    await shot(page, 'ops-overview.png');
    await context.close();
  });

  it('pauses the auto-refresh while the operator types, and refreshes otherwise', async () => {
    const { context, page } = await signedIn(VIEWER);
    await page.goto(`${t.baseUrl}/ops?refresh=2`);
    await page.focus('#case-search');
    await page.keyboard.type('abc');
    await page.waitForSelector('#auto-refresh[data-state="paused"]');
    await expect(page.inputValue('#case-search')).resolves.toBe('abc'); // not wiped by a reload
    await page.locator('#case-search').blur();
    await Promise.all([page.waitForEvent('load', { timeout: 15000 }), page.waitForSelector('#auto-refresh[data-state="running"]')]);
    await context.close();
  });

  it('pages through 150 dead letters and bulk-replays a filtered set, audited', async () => {
    const { context, page } = await signedIn(OPERATOR);
    await page.click('#strip-dead-letters');
    await page.waitForURL(`${t.baseUrl}/ops/dead-letters`);
    await expect(page.textContent('#dead-letter-count')).resolves.toBe('150');
    const seen = new Set<string>();
    for (let n = 1; ; n += 1) {
      const ids = await page.locator('#dead-letter-list tr.dead-letter').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-id') ?? ''));
      expect(ids.length).toBe(50);
      ids.forEach((id) => seen.add(id));
      if (n === 1) {
        // The error detail is on the page: code, not just a count.
        await expect(page.locator('#dead-letter-list tr.dead-letter .error-code').first().textContent()).resolves.toBeTruthy();
        await shot(page, 'ops-dead-letters.png');
      }
      if ((await page.locator('#page-next').count()) === 0) break;
      // The next page by its number: waitForURL returns at once when the current URL already matches, so /page=\d+/
      // could count page 3's rows before it had loaded (29 of 50 once, beside stress-ng), or count page 2 twice.
      await Promise.all([page.waitForURL(new RegExp(`[?&]page=${n + 1}(&|$)`)), page.click('#page-next')]);
    }
    expect(seen.size).toBe(150);

    await crm.del('mode');
    await page.goto(`${t.baseUrl}/ops/dead-letters`);
    await page.selectOption('#filter-route', 'desk-to-crm');
    await Promise.all([page.waitForURL(/route=desk-to-crm/), page.click('#dead-letter-filters button[type=submit]')]);
    await expect(page.textContent('#dead-letter-count')).resolves.toBe('40');
    await expect(page.locator('[data-action="bulk-replay"]').textContent()).resolves.toBe('Replay all 40');
    await Promise.all([page.waitForURL(/done=replayed/), page.click('[data-action="bulk-replay"]')]);
    await expect(page.locator('.notice.ok').textContent()).resolves.toContain('Replayed 40 dead letters');
    await eventually(async () => (await t.hub.deadLetters.list('crm', 1000)).length === 110, 20000, 'the 40 replayed');
    expect((await t.hub.deadLetters.list('crm', 1000)).every((d) => d.route === 'portal-to-crm')).toBe(true);
    const audit = await t.hub.deadLetters.auditLog(100);
    expect(audit.find((a) => a.action === 'bulk-replay')).toMatchObject({ by: `ops:${OPERATOR.name}`, route: 'desk-to-crm', detail: 'replay 40 of 40 matching route=desk-to-crm' });
    await context.close();
  });

  it('refuses a bulk action whose set changed since it was confirmed, and refuses viewers', async () => {
    const op = await signedIn(OPERATOR);
    const csrf = await op.page.locator('input[name="_csrf"]').first().inputValue();
    const status = await op.page.evaluate(async (body) => (await fetch('/ops/dead-letters/bulk', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body })).status, `_csrf=${csrf}&action=discard&route=portal-to-crm&expected=3`);
    expect(status).toBe(409);
    expect((await t.hub.deadLetters.list('crm', 1000)).length).toBe(110);
    await op.context.close();
    const viewer = await signedIn(VIEWER);
    await viewer.page.goto(`${t.baseUrl}/ops/dead-letters`);
    await expect(viewer.page.locator('#bulk-actions').count()).resolves.toBe(0);
    await viewer.context.close();
  });

  it('finds cases in the case history by route and status', async () => {
    const { context, page } = await signedIn(VIEWER);
    await page.click('header.top a[href="/ops/cases"]');
    await page.waitForURL(`${t.baseUrl}/ops/cases`);
    await expect(page.locator('#case-list tr.case').count()).resolves.toBe(50);
    await page.selectOption('#filter-route', 'desk-to-crm');
    await page.selectOption('#filter-status', 'delivered');
    await Promise.all([page.waitForURL(/status=delivered/), page.click('#case-filters button[type=submit]')]);
    const rows = page.locator('#case-list tr.case');
    await expect(rows.count()).resolves.toBe(40);
    await expect(rows.evaluateAll((r) => r.every((row) => row.getAttribute('data-status') === 'delivered'))).resolves.toBe(true);
    await page.selectOption('#filter-status', 'dead');
    await Promise.all([page.waitForURL(/status=dead/), page.click('#case-filters button[type=submit]')]);
    await expect(page.locator('#no-cases').count()).resolves.toBe(1); // the desk cases are no longer dead
    await page.goto(`${t.baseUrl}/ops/cases?route=portal-to-crm&status=dead`);
    await expect(page.locator('#case-list tr.case').count()).resolves.toBe(50);
    await expect(page.locator('#page-next').count()).resolves.toBe(1);
    await shot(page, 'ops-cases.png');
    await Promise.all([page.waitForURL(/page=2/), page.click('#page-next')]);
    await Promise.all([page.waitForURL(/page=3/), page.click('#page-next')]);
    await expect(page.locator('#case-list tr.case').count()).resolves.toBe(10);
    await context.close();
  });

  it('shows the dry run of a permanent failure with its error and the replay offered quietly', async () => {
    const [dl] = await t.hub.deadLetters.list('crm', 1);
    const { context, page } = await signedIn(OPERATOR);
    await page.goto(`${t.baseUrl}/ops/dead-letters/crm/${encodeURIComponent(dl.id)}/preview`);
    await expect(page.locator('#last-error .error-message').textContent()).resolves.toContain('recorder refuses this case');
    await expect(page.locator('#permanent-error').count()).resolves.toBe(1);
    await expect(page.locator('#replay-anyway button').getAttribute('class')).resolves.not.toContain('primary');
    await expect(page.locator('#diff-note').textContent()).resolves.toContain('exactly the request that failed');
    await context.close();
  });

  it('renders Swagger UI for /openapi.json under its CSP', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('console', (msg) => {
      if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(`docs: ${msg.text()}`);
    });
    page.on('pageerror', (err) => problems.push(`docs page error: ${err.message}`));
    const external: string[] = [];
    page.on('request', (req) => {
      if (!req.url().startsWith(t.baseUrl) && !req.url().startsWith('data:')) external.push(req.url());
    });
    await page.goto(`${t.baseUrl}/docs`);
    await page.locator('.swagger-ui .opblock-tag').first().waitFor({ timeout: 20000 });
    await expect(page.locator('#swagger-ui').textContent()).resolves.toContain('/api/cases/{id}/trace');
    expect(external).toEqual([]);
    await shot(page, 'api-docs.png');
    await context.close();
  });

  it('ran every page without a CSP violation or a script error', () => {
    expect(problems).toEqual([]);
  });
});
