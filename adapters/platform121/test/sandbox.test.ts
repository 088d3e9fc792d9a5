/** The sandbox behaves like the 121-service where a client can tell; and it plugs into the hub as a SandboxDefinition. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { createAjv } from '../../../src/core/config/ajv';
import { silentLogger } from '../../../src/core/logger';
import { adapterHarness } from '../../../test/helpers/adapter-harness';
import { testRedis } from '../../../test/helpers/redis';
import { Sandbox121 } from '../sandbox';
import type { Platform121Settings } from '../src/settings';
import { adapter, deliveryRequest, personCase } from './setup';

let sb: Sandbox121;
let http: AxiosInstance;

async function login(username = 'admin@example.org', password = 'password'): Promise<string> {
  const res = await http.post('/api/users/login', { username, password });
  expect(res.status).toBe(201);
  return `access_token_general=${res.data.access_token_general}`;
}

beforeAll(async () => {
  sb = await Sandbox121.start({ statusApplyDelayMs: 50 });
  http = axios.create({ baseURL: sb.url, validateStatus: () => true });
});
afterAll(async () => {
  await sb.stop();
});
beforeEach(async () => {
  await sb.settle();
  sb.reset();
  sb.configure({ throttle: { limit: 3000, ttlMs: 60_000, loginLimit: 30, loginTtlMs: 60_000, retryAfterHeader: true } });
});

describe('sandbox 121-service', () => {
  it('login: 201 with token in body and cookie; usernames are lowercased; bad password 401', async () => {
    const res = await http.post('/api/users/login', { username: 'Admin@Example.org', password: 'password' });
    expect(res.status).toBe(201);
    expect(res.data).toEqual(
      expect.objectContaining({ username: 'admin@example.org', access_token_general: expect.any(String), expires: expect.any(String), isAdmin: true, isEntraUser: false }),
    );
    expect(Object.keys(res.data.permissions).sort()).toEqual(['2', '3']);
    expect(res.data.permissions['2']).toContain('registration:personal.export');
    const exp = Date.parse(res.data.expires) - Date.now();
    expect(exp).toBeGreaterThan(32.9 * 3600_000);
    expect(exp).toBeLessThanOrEqual(33 * 3600_000);
    const bad = await http.post('/api/users/login', { username: 'admin@example.org', password: 'nope' });
    expect(bad.status).toBe(401);
    expect(bad.data).toEqual({ statusCode: 401, message: 'Unauthorized' });
  });

  it('x-121-interface: portal switches the cookie name to access_token_portal', async () => {
    const res = await http.post('/api/users/login', { username: 'admin@example.org', password: 'password' }, { headers: { 'x-121-interface': 'portal' } });
    expect(String(res.headers['set-cookie'])).toMatch(/^access_token_portal=/);
    expect(res.data.access_token_general).toBeDefined();
    const general = await http.get('/api/programs/2/registrations', { headers: { Cookie: `access_token_general=${res.data.access_token_general}`, 'x-121-interface': 'portal' } });
    expect(general.status).toBe(401);
  });

  it('throttles logins per IP with 429 ThrottlerException and Retry-After', async () => {
    // A window far longer than three logins take on a loaded machine (it was 5 s: a slow run saw the window reset
    // before the third login, and no 429).
    sb.configure({ throttle: { loginLimit: 2, loginTtlMs: 60_000 } });
    await login();
    await login();
    const third = await http.post('/api/users/login', { username: 'admin@example.org', password: 'password' });
    expect(third.status).toBe(429);
    expect(third.data).toEqual({ statusCode: 429, message: 'ThrottlerException: Too Many Requests' });
    expect(Number(third.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(third.headers['retry-after'])).toBeLessThanOrEqual(60);
  });

  it('import is all-or-nothing, answers 201 {aggregateImportResult}, and referenceIds are unique across programs', async () => {
    const cookie = await login();
    const good = { referenceId: 'visa-person-1', programFspConfigurationName: 'Intersolve-visa', fullName: 'Jane Doe', phoneNumber: '14155238887', addressHouseNumber: '1' };
    const ok = await http.post('/api/programs/3/registrations', [good], { headers: { Cookie: cookie } });
    expect(ok.status).toBe(201);
    expect(ok.data).toEqual({ aggregateImportResult: { countImported: 1 } });
    const again = await http.post('/api/programs/2/registrations', [{ ...good, programFspConfigurationName: 'ironBank', house: 'stark' }], { headers: { Cookie: cookie } });
    expect(again.status).toBe(400);
    expect(again.data).toEqual([{ column: 'referenceId', error: 'referenceId already exists in database', lineNumber: 1, referenceId: 'visa-person-1', value: 'visa-person-1' }]);
    const dup = await http.post('/api/programs/2/registrations', [{ referenceId: 'same-1' , programFspConfigurationName: 'ironBank' }, { referenceId: 'same-1', programFspConfigurationName: 'ironBank' }], { headers: { Cookie: cookie } });
    expect(dup.data).toEqual({ statusCode: 400, message: 'Duplicate referenceIds in import set' });
    const mixed = await http.post(
      '/api/programs/2/registrations',
      [
        { referenceId: 'mixed-ok-1', programFspConfigurationName: 'ironBank', fullName: 'A B', phoneNumber: '14155230000', house: 'stark' },
        { referenceId: 'mixed-bad-2', programFspConfigurationName: 'ironBank', fullName: 'C D', phoneNumber: '14155230001', house: null },
      ],
      { headers: { Cookie: cookie } },
    );
    expect(mixed.status).toBe(400);
    expect(mixed.data).toEqual([
      { column: 'house', error: "Value 'null' is not in the allowed options: 'lannister, stark, greyjoy' for attribute 'house'", lineNumber: 2, referenceId: 'mixed-bad-2', value: null },
    ]);
    expect(sb.registration('mixed-ok-1')).toBeUndefined();
    const events = sb.events({ referenceId: 'visa-person-1' });
    expect(events).toEqual([expect.objectContaining({ type: 'registrationStatusChange', fieldChanged: 'status', oldValue: null, newValue: 'new' })]);
  });

  it('GET /registrations is nestjs-paginate shaped; values come back as strings', async () => {
    const cookie = await login();
    const res = await http.get('/api/programs/2/registrations?page=2&limit=2&sortBy=id:ASC&filter.status=$in:new,included', { headers: { Cookie: cookie } });
    expect(res.status).toBe(200);
    expect(res.data.data).toHaveLength(1);
    expect(res.data.meta).toEqual({ itemsPerPage: 2, totalItems: 3, currentPage: 2, totalPages: 2, sortBy: [['id', 'ASC']], filter: { status: '$in:new,included' } });
    expect(res.data.links.previous).toContain('page=1');
    expect(res.data.links.next).toBeUndefined();
    expect(res.data.data[0]).toEqual(expect.objectContaining({ referenceId: 'westeros135792468', dragon: '0', knowsNothing: 'false', name: 'Tyrion Lannister' }));
    const one = await http.get(`/api/programs/2/registrations/${res.data.data[0].id}`, { headers: { Cookie: cookie } });
    expect(one.data.referenceId).toBe('westeros135792468');
    const byRef = await http.get('/api/programs/2/registrations/westeros135792468', { headers: { Cookie: cookie } });
    expect(byRef.status).toBe(400);
    expect(byRef.data.message).toBe('Validation failed (numeric string is expected)');
  });

  it('status: dryRun 200 changes nothing; 202 applies later; non-applicable ones are skipped', async () => {
    const cookie = await login();
    sb.portalChangeStatus('westeros987654321', 'declined', 'x');
    const dry = await http.patch('/api/programs/2/registrations/status?dryRun=true&filter.referenceId=$in:westeros123456789,westeros987654321', { status: 'validated' }, { headers: { Cookie: cookie } });
    expect(dry.status).toBe(200);
    expect(dry.data).toEqual({ totalFilterCount: 2, applicableCount: 1, nonApplicableCount: 1 });
    const res = await http.patch('/api/programs/2/registrations/status?filter.referenceId=$in:westeros123456789,westeros987654321', { status: 'validated' }, { headers: { Cookie: cookie } });
    expect(res.status).toBe(202);
    expect(sb.registration('westeros123456789')?.status).toBe('new');
    await sb.settle();
    expect(sb.registration('westeros123456789')?.status).toBe('validated');
    expect(sb.registration('westeros987654321')?.status).toBe('declined');
  });

  it('registration events: inclusive bounds, sorted by id, only the documented fields, 404 when empty, 400 on bad dates', async () => {
    const cookie = await login();
    const all = await http.get('/api/programs/2/registration-events', { headers: { Cookie: cookie } });
    expect(all.data.data).toHaveLength(3);
    const last = all.data.data[2];
    expect(Object.keys(last).sort()).toEqual(['created', 'fieldChanged', 'id', 'newValue', 'oldValue', 'reason', 'registrationId', 'registrationProgramId', 'type', 'username']);
    const exact = await http.get(`/api/programs/2/registration-events?fromDate=${last.created}&toDate=${last.created}`, { headers: { Cookie: cookie } });
    expect(exact.data.data.map((e: { id: number }) => e.id)).toContain(last.id);
    const none = await http.get(`/api/programs/2/registration-events?fromDate=${new Date(Date.now() + 60_000).toISOString()}`, { headers: { Cookie: cookie } });
    expect(none.status).toBe(404);
    expect(none.data).toEqual({ errors: 'There is currently no data to export' });
    const bad = await http.get('/api/programs/2/registration-events?fromDate=yesterday', { headers: { Cookie: cookie } });
    expect(bad.status).toBe(400);
    expect(bad.data.message[0]).toEqual(expect.objectContaining({ property: 'fromDate', constraints: { isIso8601: 'fromDate must be a valid ISO 8601 date string' } }));
  });

  it('permissions are per program', async () => {
    const cookie = await login('viewer@example.org');
    expect((await http.get('/api/programs/2/registrations', { headers: { Cookie: cookie } })).status).toBe(200);
    const other = await http.get('/api/programs/3/registrations', { headers: { Cookie: cookie } });
    expect(other.status).toBe(403);
    expect(other.data).toEqual({ statusCode: 403, message: 'Forbidden' });
    expect((await http.get('/api/programs/2/registration-events', { headers: { Cookie: cookie } })).status).toBe(403);
  });
});

describe('SandboxDefinition', () => {
  it('starts a sandbox whose settings validate against the schema and reach it; the adapter works against it', async () => {
    const definition = adapter.sandbox;
    expect(definition).toBeDefined();
    const workDir = mkdtempSync(path.join(tmpdir(), 'p121-'));
    const handle = await definition!.start({
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
      settings: { username: '${P121_USERNAME}', programId: 7, sandbox: { statusApplyDelayMs: 20 } },
      workDir,
    });
    const redis = testRedis();
    try {
      expect(handle.urls.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api$/);
      const settings = { ...handle.settings, programId: 7 } as unknown as Platform121Settings;
      const validate = createAjv().compile(adapter.settingsSchema);
      expect(validate(settings)).toBe(true);
      expect(settings).toEqual(expect.objectContaining({ username: 'admin@example.org', password: 'password', programFspConfigurationName: 'ironBank' }));
      const h = adapterHarness<Platform121Settings>({ adapter, settings, redis: redis.redis, prefix: redis.prefix, connectionName: 'sandbox-def' });
      await adapter.checkHealth?.(h.ctx);
      const result = await adapter.actions.upsertRegistration.deliver(deliveryRequest(personCase(1), { hubId: 'hub-def' }), h.ctx);
      expect(result.summary?.outcome).toBe('created');
      expect(result.summary?.programId).toBe(7);
      const status = await adapter.actions.setStatus.deliver(deliveryRequest(personCase(1), { hubId: 'hub-def', options: { status: 'included' } }), h.ctx);
      expect(status.summary).toEqual(expect.objectContaining({ status: 'included', confirmed: true }));
      const control = await axios.get(handle.urls.control);
      expect(control.data.programs).toContain(7);
      await adapter.close?.(h.ctx);
    } finally {
      await handle.stop();
      await redis.cleanup();
    }
  });

  it('the adapter is named after its folder and exposes the documented actions and sources', () => {
    expect(adapter.name).toBe('platform121');
    expect(Object.keys(adapter.actions).sort()).toEqual([
      'addNote',
      'createProgram',
      'sendMessage',
      'setStatus',
      'updateRegistrationAttribute',
      'updateUser',
      'uploadReconciliation',
      'upsertFspConfiguration',
      'upsertMessageTemplate',
      'upsertRegistration',
    ]);
    expect(Object.keys(adapter.sources).sort()).toEqual([
      'events',
      'exchangeRates',
      'exportList',
      'fspConfigurations',
      'paperVouchers',
      'paymentTransactions',
      'payments',
      'programStats',
      'registrations',
      'transactions',
      'users',
    ]);
    const ajv = createAjv();
    for (const a of Object.values(adapter.actions)) if (a.optionsSchema) ajv.compile(a.optionsSchema);
    for (const s of Object.values(adapter.sources)) if (s.optionsSchema) ajv.compile(s.optionsSchema);
  });
});
