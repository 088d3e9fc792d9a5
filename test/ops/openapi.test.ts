/**
 * /openapi.json is a valid OpenAPI 3.1 document (checked by @apidevtools/swagger-parser), documents every route the
 * app serves, and its schemas describe what the endpoints really answer. /docs renders it under the strict CSP.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import axios from 'axios';
import { eventually } from '../helpers/hub';
import { OPERATOR, OpsClient, opsUsersYaml, recorderEvent, startOpsHub, type OpsTestHub } from './helpers';

const YAML = `
connections:
  inbox: { adapter: recorder }
  out: { adapter: recorder, delivery: { attempts: 1 } }
routes:
  - name: inbox-to-out
    from: { connection: inbox, source: inbox }
    to: [{ connection: out, action: record }]
`;

// The validators run as child processes with spawnSync, which blocks this process and so the hub in it: a kept-alive
// socket's idle timer then fires just after the next request was written on it (ECONNRESET). A fresh connection per
// request leaves nothing to reuse.
axios.defaults.httpAgent = new Agent({ keepAlive: false });

type Doc = { openapi: string; paths: Record<string, Record<string, { tags: string[]; summary: string; responses: Record<string, { content?: Record<string, { schema: unknown }> }> }>>; components: { schemas: Record<string, unknown> } };

describe('OpenAPI document', () => {
  let t: OpsTestHub;
  let doc: Doc;

  beforeAll(async () => {
    t = await startOpsHub({ yaml: `${await opsUsersYaml()}${YAML}`, defaultMetrics: false });
    doc = (await axios.get(`${t.baseUrl}/openapi.json`)).data as Doc;
  });
  afterAll(async () => t.stop());

  it('validates as OpenAPI 3.1', async () => {
    expect(doc.openapi).toBe('3.1.0');
    const run = (document: unknown) => spawnSync(process.execPath, ['--no-warnings', path.join(__dirname, 'validate-openapi.cjs')], { input: JSON.stringify(document), encoding: 'utf8', timeout: 20000 });
    const result = run(doc);
    expect(result.stdout.trim()).toBe('valid 3.1.0');
    expect(result.status).toBe(0);
    // The validator does reject a broken document (so the check above can fail).
    const broken = run({ ...doc, info: { title: 'x' }, paths: { '/x': { get: { responses: { 200: {} } } } } });
    expect(broken.status).toBe(1);
    expect(broken.stdout).toContain("must have required property 'version'");
  });

  it('documents every endpoint: core API, ops console, metrics, docs and the webhook intake', () => {
    const ops = Object.entries(doc.paths).flatMap(([p, methods]) => Object.keys(methods).map((m) => `${m.toUpperCase()} ${p}`));
    expect(ops).toEqual(
      expect.arrayContaining([
        'GET /healthz', 'GET /readyz', 'GET /api/cases/{id}', 'GET /api/cases/{id}/trace', 'GET /api/routes', 'GET /api/dead-letters',
        'POST /api/dead-letters/{connection}/{id}/replay', 'DELETE /api/dead-letters/{connection}/{id}', 'GET /api/sandboxes',
        'GET /metrics', 'GET /openapi.json', 'GET /docs', 'GET /ops', 'GET /ops/queues', 'GET /ops/login', 'POST /ops/login', 'POST /ops/logout',
        'GET /ops/cases', 'GET /ops/cases/{hubId}', 'GET /ops/dead-letters/{connection}/{id}/preview', 'POST /ops/dead-letters/{connection}/{id}/replay',
        'POST /ops/dead-letters/{connection}/{id}/discard', 'POST /ops/routes/{route}/replay', 'GET /ops/api/overview', 'GET /ops/api/reconciliation',
        'POST /recorder/inbox',
      ]),
    );
    // Routes found by walking the app that no spec describes are listed as webhook intake; each must be one a
    // webhook source mounted (so no console or API route goes undocumented).
    const webhooks = Object.values(doc.paths).flatMap((m) => Object.values(m)).filter((op) => op.tags.includes('Webhook intake'));
    expect(webhooks.length).toBeGreaterThan(0);
    for (const op of webhooks) expect(op.summary).toMatch(/\(source inbox\.inbox, adapter recorder\)$/);
  });

  it('uses the canonical case schema for case payloads', () => {
    const getCase = doc.paths['/api/cases/{id}'].get.responses['200'].content!['application/json'].schema as { properties: { case: { $ref: string } } };
    expect(getCase.properties.case.$ref).toBe('#/components/schemas/CanonicalCase');
    expect(doc.components.schemas.Person).toBeDefined();
    expect(JSON.stringify(doc.components.schemas)).not.toContain('#/definitions/');
  });

  it('describes what the endpoints answer (responses validate against their documented schemas)', async () => {
    const { data } = await axios.post(`${t.baseUrl}/recorder/inbox`, recorderEvent('oa-1', 'src-oa-1', { references: [{ system: 'platform121', id: 'REF-OA-1', kind: 'referenceId' }] }));
    const hubId = data.results[0].hubId as string;
    await eventually(async () => (await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`)).data.trace.some((e: { stage: string }) => e.stage === 'delivered'), 10000, 'delivery');
    const ajv = new Ajv({ strict: false, allowUnionTypes: true });
    addFormats(ajv);
    ajv.addSchema({ $id: 'https://caseway.test/openapi.json', components: doc.components } as never);
    let n = 0;
    const check = (path: string, method: string, status: string, body: unknown) => {
      const schema = doc.paths[path][method].responses[status].content!['application/json'].schema;
      const validate = ajv.compile({ $id: `https://caseway.test/check/${(n += 1)}`, ...rebase(schema) } as never);
      const ok = validate(body);
      if (!ok) throw new Error(`${method} ${path} ${status}: ${ajv.errorsText(validate.errors)}`);
    };
    check('/api/cases/{id}', 'get', '200', (await axios.get(`${t.baseUrl}/api/cases/src-oa-1`)).data);
    check('/api/cases/{id}/trace', 'get', '200', (await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`)).data);
    check('/api/routes', 'get', '200', (await axios.get(`${t.baseUrl}/api/routes`)).data);
    check('/api/dead-letters', 'get', '200', (await axios.get(`${t.baseUrl}/api/dead-letters`)).data);
    check('/readyz', 'get', '200', (await axios.get(`${t.baseUrl}/readyz`)).data);
    const c = new OpsClient(t.baseUrl);
    await c.login(OPERATOR);
    check('/ops/api/overview', 'get', '200', (await c.getJson('/ops/api/overview')).data);
    check('/ops/api/reconciliation', 'get', '200', (await c.getJson('/ops/api/reconciliation')).data);
    check('/ops/api/cases/{id}', 'get', '200', (await c.getJson(`/ops/api/cases/${hubId}`)).data);
  });

  it('serves /docs/plain as a page listing the endpoints, under the strict CSP', async () => {
    const res = await axios.get(`${t.baseUrl}/docs/plain`);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.headers['content-security-policy']).toContain("script-src 'self'");
    expect(res.data).toContain('/api/cases/{id}/trace');
    expect(res.data).toContain('/ops/dead-letters/{connection}/{id}/replay');
    expect(res.data).toContain('id="schema-CanonicalCase"');
  });
});

describe('the /api answers problems as RFC 9457 and checks its input against the document', () => {
  let t: OpsTestHub;
  beforeAll(async () => {
    t = await startOpsHub({ yaml: `${await opsUsersYaml()}${YAML}`, defaultMetrics: false });
  });
  afterAll(async () => t.stop());
  const get = (p: string) => axios.get(`${t.baseUrl}${p}`, { validateStatus: () => true });

  it('answers an unknown connection with 404 problem+json, not 500', async () => {
    const replay = await axios.post(`${t.baseUrl}/api/dead-letters/nope/d-1/replay`, {}, { validateStatus: () => true });
    expect(replay.status).toBe(404);
    expect(replay.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(replay.data).toEqual({ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No connection "nope" in the config', instance: '/api/dead-letters/nope/d-1/replay' });
    const list = await get('/api/dead-letters?connection=nope');
    expect(list.status).toBe(404);
    // A known connection still works.
    expect((await get('/api/dead-letters?connection=out')).status).toBe(200);
    const missing = await get('/api/cases/no-such-case');
    expect(missing.status).toBe(404);
    expect(missing.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('refuses invalid input with 400 problem+json', async () => {
    const bad = await get('/api/routes?day=garbage');
    expect(bad.status).toBe(400);
    expect(bad.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(bad.data).toMatchObject({ status: 400, title: 'Bad Request' });
    expect(bad.data.detail).toContain('day');
    expect((await get('/api/routes?day=2026-01-02')).status).toBe(200);
    expect((await get('/api/dead-letters?connection=NOT%20A%20NAME')).status).toBe(400);
  });

  it('declares the security schemes and passes Redocly lint with 0 errors', async () => {
    const doc = (await get('/openapi.json')).data as { components: { securitySchemes: Record<string, { type: string; scheme?: string }> }; paths: Record<string, Record<string, { security: unknown[]; responses: Record<string, { content?: Record<string, unknown> }> }>> };
    expect(doc.components.securitySchemes.apiToken).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.paths['/api/routes'].get.security).toEqual([{ apiToken: [] }]);
    expect(Object.keys(doc.paths['/api/routes'].get.responses['400'].content ?? {})).toEqual(['application/problem+json']);
    expect(redoclyLint(doc)).toBe('');
    // The lint does fail a broken document.
    expect(redoclyLint({ ...doc, paths: { '/x': { get: { responses: {} } } } })).toContain('error');
  });

  it('serves Swagger UI and its files from the hub itself', async () => {
    const page = await get('/docs');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.data).toContain('/docs/assets/swagger-ui-bundle.js');
    expect(page.data).not.toMatch(/https?:\/\/(?!127)/);
    const bundle = await get('/docs/assets/swagger-ui-bundle.js');
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toMatch(/javascript/);
    expect((await get('/docs/assets/package.json')).status).toBe(404);
  });
});

describe('a webhook intake with its own API key and worked examples', () => {
  let t: OpsTestHub;
  beforeAll(async () => {
    t = await startOpsHub({
      yaml: `${await opsUsersYaml()}
connections:
  form: { adapter: etd, settings: { inbound: { apiKeys: [{ name: web-form, key: test-key-1234567890 }] } } }
  out: { adapter: recorder }
routes:
  - name: form-to-out
    from: { connection: form, source: application }
    to: [{ connection: out, action: record }]
`,
      defaultMetrics: false,
    });
  });
  afterAll(async () => t.stop());

  it("declares the intake's API key scheme and its examples: the seed request with its 422, a valid one with 200", async () => {
    type Op = { security: unknown[]; requestBody: { content: Record<string, { examples: Record<string, { value: unknown }> }> }; responses: Record<string, { content: Record<string, { examples?: Record<string, { value: unknown }> }> }> };
    const doc = (await axios.get(`${t.baseUrl}/openapi.json`)).data as { components: { securitySchemes: Record<string, unknown> }; paths: Record<string, Record<string, Op>> };
    expect(doc.components.securitySchemes.etdApiKey).toMatchObject({ type: 'apiKey', in: 'header', name: 'X-API-Key' });
    const op = doc.paths['/etd/application'].post;
    expect(op.security).toEqual([{ etdApiKey: [] }]);
    const requests = Object.values(op.requestBody.content)[0].examples;
    expect(Object.keys(requests)).toEqual(['seedExample', 'validApplication']);
    const seed422 = op.responses['422'].content['application/json'].examples?.seedExample.value as { errors: Array<Record<string, string>> };
    expect(seed422.errors.length).toBeGreaterThan(0);
    // The documented answer is the real one.
    const real = await axios.post(`${t.baseUrl}/etd/application`, requests.seedExample.value, { headers: { 'X-API-Key': 'test-key-1234567890' }, validateStatus: () => true });
    expect(real.status).toBe(422);
    expect(real.data).toEqual(seed422);
    const ok = await axios.post(`${t.baseUrl}/etd/application`, requests.validApplication.value, { headers: { 'X-API-Key': 'test-key-1234567890' }, validateStatus: () => true });
    expect(ok.status).toBe(200);
    expect(ok.data).toEqual(op.responses['200'].content['application/json'].examples?.validApplication.value);
    expect(redoclyLint(doc)).toBe('');
  });
});

/** Runs `redocly lint` (recommended rules) on a document: '' when it has 0 errors, else the lint's report. */
function redoclyLint(doc: unknown): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-lint-'));
  try {
    const file = path.join(dir, 'openapi.json');
    writeFileSync(file, JSON.stringify(doc));
    const result = spawnSync(process.execPath, [require.resolve('@redocly/cli/bin/cli.js'), 'lint', file, '--format', 'summary'], { encoding: 'utf8', timeout: 60000, env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' } });
    return result.status === 0 ? '' : `${result.stdout}${result.stderr}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Points the document's local $refs at the copy registered as openapi.json. */
function rebase(schema: unknown): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema).replace(/"#\/components\/schemas\//g, '"https://caseway.test/openapi.json#/components/schemas/')) as Record<string, unknown>;
}
