import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import fc from 'fast-check';
import { silentLogger } from '../../../src/core/logger';
import { adapterHarness } from '../../../test/helpers/adapter-harness';
import { testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import { EtdSandbox } from '../sandbox';
import type { JsonObject } from '../src/json';
import { validEtdApp } from './arbitraries';
import { edit, JSON_HEADERS, postJson, request, seedBody, validBody } from './support';

const KEY = 'etd-form-key-0123456789';
const redisHandle = testRedis();
let sandbox: EtdSandbox;
let inboundServer: Server;
let inboundUrl: string;

beforeAll(async () => {
  // Same tunables on both sides: the adapter refuses properties the spec does not define by default, the sandbox
  // (the spec being silent) only when told.
  sandbox = await EtdSandbox.start({ apiKey: KEY, validation: { unknownFields: 'reject' } });
  const h = adapterHarness<unknown>({ adapter, settings: { inbound: { apiKeys: [{ name: 'f', key: KEY }] } }, redis: redisHandle.redis, prefix: redisHandle.prefix });
  const app = express();
  const router = express.Router();
  const source = adapter.sources.application;
  if (source.kind !== 'webhook') throw new Error('webhook expected');
  source.mount(router, h.ctx, h.emit, {});
  app.use(router);
  inboundServer = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  inboundUrl = `http://127.0.0.1:${(inboundServer.address() as AddressInfo).port}/etd/application`;
});
afterAll(async () => {
  await sandbox.stop();
  await new Promise<void>((resolve) => inboundServer.close(() => resolve()));
  await redisHandle.cleanup();
});

function mutated(edits: Record<string, unknown>): JsonObject {
  const body = validBody();
  for (const [p, v] of Object.entries(edits)) edit(body, `etdApp.${p}`, v);
  return body;
}

describe('ETD sandbox case manager', () => {
  test('validates exactly like the inbound side: same status, and the same body where the spec prints one (422, 500)', async () => {
    const bodies: Array<{ text: string; headers?: Record<string, string> }> = [
      { text: JSON.stringify(seedBody()) },
      { text: JSON.stringify(mutated({ 'appDetails.birthDate': '1995-02-30', 'appDetails.surname': '' })) },
      { text: JSON.stringify(mutated({ 'etdReason.reason': 'Other', 'journeyDetails.returnJourneyDetails': undefined })) },
      { text: JSON.stringify(mutated({ 'passportDetails.passportIssuedInUK': undefined, 'passportDetails.passwordIssuedInUK': 'n', 'passportDetails.cityOfIssue': '' })) },
      { text: JSON.stringify(mutated({ 'firstTimeApp.applicantInfo.regAsBritish': 'y', 'firstTimeApp.applicantInfo.docNumber': '', 'appDetails.unknown': 1 })) },
      { text: JSON.stringify({ etdApp: [] }) },
      { text: '{"etdApp":' },
      { text: JSON.stringify(validBody()), headers: { 'Content-Type': 'text/plain' } },
      { text: JSON.stringify(validBody()), headers: { Accept: 'text/html' } },
      { text: JSON.stringify(validBody()), headers: { 'X-API-Key': 'nope' } },
      // The spec's headers, read the same way: charset spelling, no charset (UTF-8 is the default), another charset.
      { text: JSON.stringify(validBody()), headers: { 'Content-Type': 'application/json;charset=UTF-8' } },
      { text: JSON.stringify(mutated({ 'appDetails.surname': '' })), headers: { 'Content-Type': 'application/json' } },
      { text: JSON.stringify(validBody()), headers: { 'Content-Type': 'application/json; charset=iso-8859-1' } },
      { text: JSON.stringify(validBody()), headers: { Accept: 'application/*' } },
      { text: JSON.stringify(validBody()), headers: { Accept: 'application/json;q=0, text/html' } },
      // Bodies that are JSON but not an application.
      { text: '"x"' },
      { text: '[]' },
      { text: '{}' },
      { text: JSON.stringify({ etdApp: 'x' }) },
      { text: JSON.stringify(validBody()) },
    ];
    for (const b of bodies) {
      const headers = { ...JSON_HEADERS, 'X-API-Key': KEY, ...b.headers };
      const [mine, theirs] = await Promise.all([request(inboundUrl, { headers, body: b.text }), request(`${sandbox.url}/application`, { headers, body: b.text })]);
      expect(theirs.status).toBe(mine.status);
      if (mine.status === 200) {
        expect(Object.keys(theirs.json as object)).toEqual(['appRefNumber']);
        expect(typeof (theirs.json as { appRefNumber: unknown }).appRefNumber).toBe('string');
      } else if (mine.status === 422 || mine.status === 500) expect(theirs.json).toEqual(mine.json);
      // The spec prints no body for 400/401/406/415: both answer {"error": "..."}, each in its own words.
      else expect(Object.keys(theirs.json as object)).toEqual(['error']);
    }
  });

  test('random valid applications are accepted by both sides and stored verbatim by the peer', async () => {
    sandbox.reset();
    const samples = fc.sample(validEtdApp, { numRuns: 15, seed: 42 });
    for (const app of samples) {
      const [mine, theirs] = await Promise.all([postJson(inboundUrl, { etdApp: app }, { 'X-API-Key': KEY }), postJson(`${sandbox.url}/application`, { etdApp: app }, { 'X-API-Key': KEY })]);
      expect([mine.status, theirs.status]).toEqual([200, 200]);
    }
    // Every accepted POST is one filing (the spec defines no de-duplication), samples that happen to repeat included.
    const held = sandbox.applications();
    expect(held.map((a) => a.etdApp)).toEqual(samples);
  });

  test('issues numeric appRefNumbers from 12345; identical content is filed again under a new number (the default)', async () => {
    sandbox.reset();
    const url = `${sandbox.url}/application`;
    const a = await postJson(url, validBody(), { 'X-API-Key': KEY });
    const b = await postJson(url, mutated({ 'journeyDetails.travelPurpose': 'Work' }), { 'X-API-Key': KEY });
    const again = await postJson(url, validBody(), { 'X-API-Key': KEY });
    expect([a.json, b.json, again.json]).toEqual([{ appRefNumber: '12345' }, { appRefNumber: '12346' }, { appRefNumber: '12347' }]);
    expect(sandbox.applications().map((x) => x.appRefNumber)).toEqual(['12345', '12346', '12347']);
    expect(sandbox.requests().map((r) => [r.method, r.path, r.status])).toEqual([
      ['POST', '/application', 200],
      ['POST', '/application', 200],
      ['POST', '/application', 200],
    ]);
  });

  test('forced replies queue up, then normal service resumes', async () => {
    sandbox.reset();
    const url = `${sandbox.url}/application`;
    sandbox.failNext({ status: 503, times: 2 });
    sandbox.failNext({ status: 422, body: { errors: [{ birthDate: 'Invalid format' }] } });
    const statuses: unknown[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await postJson(url, validBody(), { 'X-API-Key': KEY });
      statuses.push([r.status, r.json]);
    }
    expect(statuses).toEqual([
      [503, { error: 'Service Unavailable' }],
      [503, { error: 'Service Unavailable' }],
      [422, { errors: [{ birthDate: 'Invalid format' }] }],
      [200, { appRefNumber: '12345' }],
    ]);
  });

  test('the same hooks over HTTP: /_sandbox/applications, /_sandbox/fail-next, /_sandbox/reset', async () => {
    sandbox.reset();
    await postJson(`${sandbox.url}/application`, validBody(), { 'X-API-Key': KEY });
    const list = await request(`${sandbox.url}/_sandbox/applications`, { method: 'GET' });
    expect((list.json as Array<{ appRefNumber: string }>).map((a) => a.appRefNumber)).toEqual(['12345']);
    await postJson(`${sandbox.url}/_sandbox/fail-next`, { status: 500 });
    const failed = await postJson(`${sandbox.url}/application`, validBody(), { 'X-API-Key': KEY });
    expect([failed.status, failed.json]).toEqual([500, { error: 'Internal Server Error' }]);
    await request(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    expect(sandbox.applications()).toEqual([]);
  });

  test('the SandboxDefinition: uses the connection apiKey and validation tunables, returns settings that reach it', async () => {
    const def = adapter.sandbox;
    if (!def) throw new Error('sandbox expected');
    const handle = await def.start({
      host: '127.0.0.1',
      port: 0,
      log: silentLogger(),
      settings: { apiKey: 'conn-key-0123456789abcdef', apiKeyHeader: 'X-Case-Key', inbound: { validation: { extraTitles: ['Rev'] } } },
      workDir: mkdtempSync(path.join(tmpdir(), 'etd-sb-')),
    });
    try {
      expect(handle.urls.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(handle.settings).toEqual({ baseUrl: handle.urls.api, apiKey: 'conn-key-0123456789abcdef', apiKeyHeader: 'X-Case-Key' });
      const url = `${handle.urls.api}/application`;
      const rev = mutated({ 'appDetails.title': 'Rev' });
      expect((await postJson(url, rev, { 'X-API-Key': 'conn-key-0123456789abcdef' })).status).toBe(401);
      expect((await postJson(url, rev, { 'X-Case-Key': 'conn-key-0123456789abcdef' })).json).toEqual({ appRefNumber: '12345' });
      // With a title list configured, a title outside it (and outside the spec's Mr, Mrs) is refused.
      const sir = await postJson(url, mutated({ 'appDetails.title': 'Sir' }), { 'X-Case-Key': 'conn-key-0123456789abcdef' });
      expect([sir.status, sir.json]).toEqual([422, { errors: [{ 'appDetails.title': 'Invalid format' }] }]);
    } finally {
      await handle.stop();
    }
  });

  test('without a configured apiKey the sandbox makes one up and hands it over in its settings', async () => {
    const def = adapter.sandbox;
    if (!def) throw new Error('sandbox expected');
    const handle = await def.start({ host: '127.0.0.1', log: silentLogger(), settings: {}, workDir: tmpdir() });
    try {
      const key = handle.settings.apiKey as string;
      expect(key).toMatch(/^etd-sandbox-[0-9a-f]{24}$/);
      expect((await postJson(`${handle.urls.api}/application`, validBody())).status).toBe(401);
      expect((await postJson(`${handle.urls.api}/application`, validBody(), { 'X-API-Key': key })).status).toBe(200);
    } finally {
      await handle.stop();
    }
  });

  test('where the spec is silent or says TBD the sandbox is lenient unless told: other titles, undefined properties', async () => {
    const lenient = await EtdSandbox.start({ apiKey: null });
    try {
      const url = `${lenient.url}/application`;
      const body = mutated({ 'appDetails.title': 'Sir', 'appDetails.nickname': 'Jo' });
      expect((await postJson(url, body)).status).toBe(200);
      const strict = await EtdSandbox.start({ apiKey: null, validation: { titles: ['Dr'], unknownFields: 'reject' } });
      try {
        expect((await postJson(`${strict.url}/application`, body)).json).toEqual({
          errors: [{ 'appDetails.title': 'Invalid format' }, { 'appDetails.nickname': 'Invalid format' }],
        });
      } finally {
        await strict.stop();
      }
    } finally {
      await lenient.stop();
    }
  });

  test('apiKey null: an open sandbox', async () => {
    const open = await EtdSandbox.start({ apiKey: null });
    try {
      expect(open.connectionSettings()).toEqual({ baseUrl: open.url, apiKeyHeader: 'X-API-Key' });
      expect((await postJson(`${open.url}/application`, validBody())).status).toBe(200);
    } finally {
      await open.stop();
    }
  });
});
