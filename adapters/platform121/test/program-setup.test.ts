/**
 * Seed-002 endpoints for program set-up, reporting and messaging, over loopback HTTP against the sandbox:
 * exchange rates, program stats, FSP configurations, program creation, users and assignments, registration
 * attributes, message templates, registrations/message and the registrations export over a rolling window.
 */
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { createAjv } from '../../../src/core/config/ajv';
import { PermanentError } from '../../../src/core/errors';
import { sendMessage as postMessage } from '../src/endpoints';
import { UnfilteredMessageError } from '../src/errors';
import { runtimeFor } from '../src/runtime';
import { lastRunKey } from '../src/sources/export-list';
import { adapter, deliveryRequest, personCase, startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(() => env.sb.reset());

const JOHN = 'westeros123456789';

function poll(name: string) {
  const source = adapter.sources[name];
  if (source?.kind !== 'poll') throw new Error(`${name} is not a poll source`);
  return source;
}

function setupCase(extensions: Record<string, unknown> = {}): CanonicalCase {
  return { type: 'program-setup', source: { system: 'krcs', id: 'krcs-1' }, parties: [], extensions: { platform121: extensions } };
}

describe('GET /api/programs/{programId}?formatProgramReturnDto=true (program config of every action; checkHealth)', () => {
  it('reads the formatted program (fspConfigurations, attributes); an unknown program is 121\'s 404', async () => {
    const h = env.harness();
    await adapter.checkHealth?.(h.ctx);
    const reads = env.sb.apiRequests({ method: 'GET', path: '/api/programs/2' }).filter((r) => r.path === '/api/programs/2');
    expect(reads.map((r) => [r.status, r.query.formatProgramReturnDto])).toEqual([[200, 'true']]);
    const program = await runtimeFor(h.ctx).program.get();
    expect(program.fspConfigurationNames).toEqual(['ironBank', 'gringotts', 'Intersolve-voucher-paper', 'Intersolve-voucher-whatsapp']);
    expect(program.attributes.get('house')?.options).toEqual(['lannister', 'stark', 'greyjoy']);
    const raw = await runtimeFor(h.ctx).client.getProgram();
    expect(raw.programFspConfigurations).toBeUndefined();
    const other = env.harness(undefined, { programId: 99 });
    await expect(adapter.checkHealth?.(other.ctx)).rejects.toMatchObject({ status: 404, code: 'PEER_NOT_FOUND' });
  });
});

describe('GET /api/exchange-rates (source exchangeRates)', () => {
  it('emits each stored rate once (history rows are separate), 403 for a non-admin', async () => {
    env.sb.addExchangeRate({ currency: 'KES', euroExchangeRate: 0.00744368, closeTime: '2025-01-15T23:59:59Z' });
    env.sb.addExchangeRate({ currency: 'KES', euroExchangeRate: 0.0075, closeTime: '2025-01-16T23:59:59Z' });
    const h = env.harness();
    await poll('exchangeRates').poll(h.ctx, h.emit, {});
    expect(h.emitted.map((e) => e.case.source.id)).toEqual(['exchangeRate:KES@2025-01-15T23:59:59Z', 'exchangeRate:KES@2025-01-16T23:59:59Z']);
    expect(h.emitted[0].case.extensions?.platform121).toEqual(expect.objectContaining({ exchangeRate: { currency: 'KES', euroExchangeRate: 0.00744368, closeTime: '2025-01-15T23:59:59Z' } }));
    expect((await poll('exchangeRates').poll(h.ctx, h.emit, {}))?.emitted).toBe(0);
    const viewer = env.harness(undefined, { username: 'viewer@example.org', password: 'password' });
    await expect(poll('exchangeRates').poll(viewer.ctx, viewer.emit, {})).rejects.toMatchObject({ status: 403 });
    expect(env.sb.apiRequests({ path: '/api/exchange-rates' }).map((r) => r.status)).toEqual([200, 200, 403]);
  });
});

describe('GET /api/programs/{programId}/metrics/program-stats-summary (source programStats)', () => {
  it('emits the figures, and again when they change', async () => {
    env.sb.addTransaction({ referenceId: JOHN, amount: 50, status: 'success', paymentId: 1 });
    const h = env.harness();
    await poll('programStats').poll(h.ctx, h.emit, {});
    expect(h.emitted[0].case.extensions?.platform121).toEqual(
      expect.objectContaining({
        programStats: { programId: 2, targetedPeople: 250, includedPeople: 0, newPeople: 3, registeredPeople: 3, totalBudget: 10000, cashDisbursed: 50 },
      }),
    );
    env.sb.portalChangeStatus(JOHN, 'included');
    await poll('programStats').poll(h.ctx, h.emit, {});
    expect(h.emitted).toHaveLength(2);
    expect(env.sb.apiRequests({ path: '/metrics/program-stats-summary' }).map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('GET and POST /api/programs/{programId}/fsp-configurations (source fspConfigurations, action upsertFspConfiguration)', () => {
  it('lists the configurations with masked secrets, creates a new one once, and leaves an existing one alone', async () => {
    const h = env.harness();
    await poll('fspConfigurations').poll(h.ctx, h.emit, {});
    expect(h.emitted.map((e) => e.case.source.id)).toEqual(['fspConfiguration:ironBank', 'fspConfiguration:gringotts', 'fspConfiguration:Intersolve-voucher-paper', 'fspConfiguration:Intersolve-voucher-whatsapp']);
    const ironBank = h.emitted[0].case.extensions?.platform121 as { fspConfiguration: Record<string, unknown> };
    expect(ironBank.fspConfiguration).toEqual(expect.objectContaining({ fspName: 'Excel', state: 'configured', properties: [expect.objectContaining({ name: 'columnToMatch', value: 'phoneNumber' })] }));
    const paper = h.emitted[2].case.extensions?.platform121 as { fspConfiguration: { state: string; properties: Array<{ name: string; value: unknown }> } };
    expect(paper.fspConfiguration.state).toBe('configured');
    expect(paper.fspConfiguration.properties.map((p) => [p.name, p.value])).toEqual([
      ['password', '[********]'],
      ['username', '[********]'],
    ]);
    const whatsapp = h.emitted[3].case.extensions?.platform121 as { fspConfiguration: { state: string } };
    expect(whatsapp.fspConfiguration.state).toBe('configuration-pending');
    expect(JSON.stringify(h.emitted)).not.toContain('intersolve-secret');

    const options = { name: 'bankOfBraavos', fspName: 'Excel', label: { en: 'Iron Bank of Braavos' }, properties: [{ name: 'columnToMatch', value: 'phoneNumber' }] };
    const first = await adapter.actions.upsertFspConfiguration.deliver(deliveryRequest(setupCase(), { options }), h.ctx);
    expect(first.summary).toEqual({ programId: 2, name: 'bankOfBraavos', outcome: 'created' });
    const second = await adapter.actions.upsertFspConfiguration.deliver(deliveryRequest(setupCase(), { options }), h.ctx);
    expect(second.summary?.outcome).toBe('exists');
    expect(env.sb.apiRequests({ method: 'POST', path: '/fsp-configurations' }).map((r) => r.status)).toEqual([201]);
    expect(env.sb.program(2)?.fspConfigs.map((c) => c.name)).toContain('bankOfBraavos');
  });

  it('121\'s refusals: an FSP that is not enabled (400), a label without English (400)', async () => {
    const h = env.harness();
    const deliver = (options: Record<string, unknown>) => adapter.actions.upsertFspConfiguration.deliver(deliveryRequest(setupCase(), { options }), h.ctx);
    await expect(deliver({ name: 'visa2', fspName: 'Intersolve-visa', label: { en: 'Visa' } })).rejects.toMatchObject({ status: 400, retryable: false });
    await expect(deliver({ name: 'excel2', fspName: 'Excel', label: { fr: 'Banque' } })).rejects.toMatchObject({ status: 400 });
    expect(env.sb.program(2)?.fspConfigs.map((c) => c.name)).not.toContain('visa2');
  });
});

describe('POST /api/programs, PUT /api/programs/{programId}/users/{userId}, GET /api/users (KRCS program creation)', () => {
  it('creates the program once per hub case; the FSP configuration and the user assignment go to the new program', async () => {
    const h = env.harness();
    const c = setupCase({ program: { titlePortal: { en: 'KRCS cash' }, currency: 'KES', languages: ['en', 'sw'], programRegistrationAttributes: [{ name: 'phoneNumber', type: 'tel' }] } });
    const created = await adapter.actions.createProgram.deliver(deliveryRequest(c, { hubId: 'hub-krcs' }), h.ctx);
    const programRef = created.references?.[0];
    expect(programRef).toEqual(expect.objectContaining({ system: 'platform121', kind: 'programId' }));
    const programId = Number(programRef?.id);
    expect(env.sb.program(programId)?.titlePortal).toEqual({ en: 'KRCS cash' });
    // A retry of the same delivery does not create a second program.
    const again = await adapter.actions.createProgram.deliver(deliveryRequest(c, { hubId: 'hub-krcs' }), h.ctx);
    expect(again.summary).toEqual({ programId, outcome: 'exists' });
    expect(env.sb.apiRequests({ method: 'POST', path: '/api/programs' }).map((r) => r.status)).toEqual([201]);

    const references = created.references ?? [];
    const fsp = await adapter.actions.upsertFspConfiguration.deliver(
      deliveryRequest(c, { references, options: { name: 'excel', fspName: 'Excel', label: { en: 'Cash' }, properties: [{ name: 'columnToMatch', value: 'phoneNumber' }] } }),
      h.ctx,
    );
    expect(fsp.summary).toEqual({ programId, name: 'excel', outcome: 'created' });

    const user = await adapter.actions.updateUser.deliver(deliveryRequest(c, { references, options: { username: 'viewer@example.org', roles: ['cva-officer'], scope: 'Nairobi' } }), h.ctx);
    expect(user.summary).toEqual({ programId, userId: 2, roles: 'cva-officer', scope: 'nairobi' });
    expect(env.sb.apiRequests({ method: 'GET', path: '/api/users' }).map((r) => r.status)).toEqual([200]);
    expect(env.sb.apiRequests({ method: 'PUT', path: `/api/programs/${programId}/users/2` }).map((r) => r.status)).toEqual([200]);
  });

  it('refusals: a program without currency is refused before sending; an unknown role is a 404; one\'s own assignment a 403', async () => {
    const h = env.harness();
    await expect(adapter.actions.createProgram.deliver(deliveryRequest(setupCase({ program: { titlePortal: { en: 'x' } } })), h.ctx)).rejects.toBeInstanceOf(PermanentError);
    await expect(adapter.actions.updateUser.deliver(deliveryRequest(setupCase(), { options: { userId: 2, roles: ['wizard'] } }), h.ctx)).rejects.toMatchObject({ status: 404 });
    await expect(adapter.actions.updateUser.deliver(deliveryRequest(setupCase(), { options: { userId: 1, roles: ['view'] } }), h.ctx)).rejects.toMatchObject({ status: 403 });
  });

  it('source users emits each aid worker; a login alone (lastLogin) is not a change', async () => {
    const h = env.harness();
    await poll('users').poll(h.ctx, h.emit, {});
    expect(h.emitted.map((e) => e.case.source.id)).toEqual(['user:1', 'user:2', 'user:3']);
    const other = env.harness(undefined, { username: 'portal-user@example.org', password: 'password' });
    await poll('programStats').poll(other.ctx, other.emit, {});
    expect((await poll('users').poll(h.ctx, h.emit, {}))?.emitted).toBe(0);
  });
});

describe('PATCH /api/programs/{programId}/registration-attributes/{name} (action updateRegistrationAttribute: translate program)', () => {
  it('adds a translated label (merged) and sends only attributes that differ', async () => {
    const h = env.harness();
    const c = setupCase({ registrationAttributes: [{ name: 'house', label: { fr: 'Maison' } }, { name: 'motto', label: { en: 'Motto' } }] });
    const result = await adapter.actions.updateRegistrationAttribute.deliver(deliveryRequest(c), h.ctx);
    expect(result.summary).toEqual({ programId: 2, updated: 1, unchanged: 1 });
    const patches = env.sb.apiRequests({ method: 'PATCH', path: '/registration-attributes/' });
    expect(patches.map((r) => [r.path, r.status])).toEqual([['/api/programs/2/registration-attributes/house', 200]]);
    expect(env.sb.program(2)?.attributes.find((a) => a.name === 'house')?.extra?.label).toEqual({ en: 'House', fr: 'Maison' });
  });

  it('an unknown attribute is 121\'s 404', async () => {
    const h = env.harness();
    await expect(adapter.actions.updateRegistrationAttribute.deliver(deliveryRequest(setupCase(), { options: { attributes: [{ name: 'nope', label: { fr: 'Non' } }] } }), h.ctx)).rejects.toMatchObject({
      status: 404,
    });
  });
});

describe('GET, POST and PATCH /api/notifications/{programId}/message-templates (action upsertMessageTemplate)', () => {
  it('creates new templates, patches changed ones with their message, leaves unchanged ones', async () => {
    const h = env.harness();
    const templates = [
      { type: 'included', language: 'en', message: 'Hello {{fullName}}, you are included.' },
      { type: 'included', language: 'fr', message: 'Bonjour {{fullName}}.' },
    ];
    const first = await adapter.actions.upsertMessageTemplate.deliver(deliveryRequest(setupCase({ messageTemplates: templates })), h.ctx);
    expect(first.summary).toEqual({ programId: 2, created: 2, updated: 0, unchanged: 0 });
    const second = await adapter.actions.upsertMessageTemplate.deliver(
      deliveryRequest(setupCase(), { options: { templates: [templates[0], { ...templates[1], message: 'Bonjour {{fullName}}, vous êtes inclus.' }] } }),
      h.ctx,
    );
    expect(second.summary).toEqual({ programId: 2, created: 0, updated: 1, unchanged: 1 });
    expect(env.sb.templates(2).map((t) => [t.type, t.language, t.message])).toEqual([
      ['included', 'en', 'Hello {{fullName}}, you are included.'],
      ['included', 'fr', 'Bonjour {{fullName}}, vous êtes inclus.'],
    ]);
    expect(env.sb.apiRequests({ path: '/api/notifications/2/message-templates' }).map((r) => [r.method, r.status])).toEqual([
      ['GET', 200],
      ['POST', 201],
      ['POST', 201],
      ['GET', 200],
      ['PATCH', 200],
    ]);
  });

  it('a placeholder the program does not know is 121\'s 400, and nothing is stored', async () => {
    const h = env.harness();
    const bad = [{ type: 'custom', language: 'en', message: 'Hi {{nickname}}' }];
    await expect(adapter.actions.upsertMessageTemplate.deliver(deliveryRequest(setupCase({ messageTemplates: bad })), h.ctx)).rejects.toMatchObject({ status: 400 });
    expect(env.sb.templates(2)).toEqual([]);
  });
});

describe('POST /api/programs/{programId}/registrations/message (action sendMessage)', () => {
  it('sends to the case\'s registration only (filter.referenceId), once per delivery', async () => {
    const h = env.harness();
    const request = deliveryRequest(personCase(1), { references: [{ system: 'platform121', connection: h.ctx.connection.name, id: JOHN, kind: 'referenceId' }], options: { message: 'Your voucher is ready' } });
    const result = await adapter.actions.sendMessage.deliver(request, h.ctx);
    expect(result.summary).toEqual(expect.objectContaining({ referenceId: JOHN, outcome: 'sent', applicableCount: 1 }));
    const retry = await adapter.actions.sendMessage.deliver({ ...request, attempt: 2 }, h.ctx);
    expect(retry.summary?.outcome).toBe('already-sent');
    const posts = env.sb.apiRequests({ method: 'POST', path: '/registrations/message' });
    expect(posts.map((r) => [r.status, r.query['filter.referenceId']])).toEqual([[202, `$in:${JOHN}`]]);
    await env.sb.settle();
    expect(env.sb.messages()).toEqual([expect.objectContaining({ referenceId: JOHN, message: 'Your voucher is ready' })]);
    expect(env.sb.unfilteredBulkActions).toBe(0);
  });

  it('refuses a call without referenceId; an unknown registration, an unknown template key (404) fail; dryRun sends nothing', async () => {
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    await expect(postMessage(client, {}, { message: 'x' })).rejects.toBeInstanceOf(UnfilteredMessageError);
    await expect(postMessage(client, { referenceId: '$in:' }, { message: 'x' })).rejects.toBeInstanceOf(UnfilteredMessageError);
    // A case never written to 121 (derived referenceId): 121 targets nobody; the action fails permanently.
    await expect(adapter.actions.sendMessage.deliver(deliveryRequest(personCase(1), { hubId: 'hub-unknown', options: { message: 'x' } }), h.ctx)).rejects.toBeInstanceOf(PermanentError);
    expect(env.sb.apiRequests({ method: 'POST', path: '/registrations/message' }).map((r) => r.query['filter.referenceId'])).toEqual([expect.stringMatching(/^\$in:cw-/)]);
    const refs = [{ system: 'platform121', connection: h.ctx.connection.name, id: JOHN, kind: 'referenceId' }];
    await expect(adapter.actions.sendMessage.deliver(deliveryRequest(personCase(1), { references: refs, deliveryId: 'd-2', options: { messageTemplateKey: 'nope' } }), h.ctx)).rejects.toMatchObject({ status: 404 });
    const dry = await adapter.actions.sendMessage.deliver(deliveryRequest(personCase(1), { references: refs, deliveryId: 'd-3', options: { message: 'x', dryRun: true } }), h.ctx);
    expect(dry.summary?.outcome).toBe('dry-run');
    await env.sb.settle();
    expect(env.sb.messages()).toEqual([]);
    expect(env.sb.unfilteredBulkActions).toBe(0);
  });
});

describe('GET /api/programs/{programId}/metrics/export-list/registrations with a rolling window (source exportList: calculate indicators)', () => {
  it('filters created to [from, to) from N days ago, then from the last run', async () => {
    const h = env.harness();
    const source = poll('exportList');
    // The seed's registrations were created at the reset (beforeEach), to the millisecond; a window ending in that same
    // millisecond ([from, to) leaves `to` out) would not hold them, which a fast machine can reach: poll once the
    // clock has passed the reset (a wait for the condition, a millisecond at most).
    const resetDone = Date.now();
    while (Date.now() <= resetDone) await new Promise((resolve) => setImmediate(resolve));
    await source.poll(h.ctx, h.emit, { exportType: 'registrations', window: { from: 'lastRun', days: 7 } });
    const first = env.sb.apiRequests({ path: '/metrics/export-list/registrations' })[0];
    const bounds = first.query['filter.created'];
    expect(Array.isArray(bounds) && bounds.length === 2).toBe(true);
    const [lower, upper] = bounds as string[];
    expect(lower.startsWith('$not:$lt:')).toBe(true);
    expect(upper.startsWith('$lt:')).toBe(true);
    expect(Date.parse(upper.slice(4)) - Date.parse(lower.slice(9))).toBe(7 * 86_400_000);
    expect(h.emitted.map((e) => e.case.source.id).sort()).toEqual(['westeros123456789', 'westeros135792468', 'westeros987654321']);
    const lastRun = await h.ctx.state.get(lastRunKey('registrations'));
    expect(lastRun).toBe(upper.slice(4));

    // The next run starts where this one ended: the seed's registrations fall before it.
    const second = await source.poll(h.ctx, h.emit, { exportType: 'registrations', window: { from: 'lastRun', days: 7 } });
    expect(second?.emitted).toBe(0);
    expect((env.sb.apiRequests({ path: '/metrics/export-list/registrations' })[1].query['filter.created'] as string[])[0]).toBe(`$not:$lt:${lastRun}`);
  });

  it('alignToDay cuts both ends to midnight UTC, as the seed\'s integration does', async () => {
    const h = env.harness();
    await poll('exportList').poll(h.ctx, h.emit, { window: { from: 'daysAgo', days: 2, alignToDay: true } });
    const [lower, upper] = env.sb.apiRequests({ path: '/metrics/export-list/registrations' })[0].query['filter.created'] as string[];
    expect(lower).toMatch(/T00:00:00\.000Z$/);
    expect(upper).toMatch(/T00:00:00\.000Z$/);
  });
});

describe('options schemas (caseway validate)', () => {
  const ajv = createAjv();
  it('every action and source declares one, and each refuses a misspelt option', () => {
    for (const [name, def] of [...Object.entries(adapter.actions), ...Object.entries(adapter.sources)]) {
      expect([name, typeof def.optionsSchema]).toEqual([name, 'object']);
      const validate = ajv.compile(def.optionsSchema ?? {});
      expect([name, validate({ notAnOption: 1 })]).toEqual([name, false]);
    }
  });

  it('sendMessage needs exactly one of message and messageTemplateKey; exportList knows the export types', () => {
    const send = ajv.compile(adapter.actions.sendMessage.optionsSchema ?? {});
    expect(send({ message: 'x' })).toBe(true);
    expect(send({ message: 'x', messageTemplateKey: 'y' })).toBe(false);
    expect(send({})).toBe(false);
    const exports = ajv.compile(adapter.sources.exportList.optionsSchema ?? {});
    expect(exports({ exportType: 'unused-vouchers', window: { from: 'daysAgo', days: 3 } })).toBe(true);
    expect(exports({ exportType: 'to-cancel-vouchers' })).toBe(false);
  });
});
