import axios from 'axios';
import Ajv from 'ajv';
import { silentLogger } from '../../../src/core/logger';
import { sandbox as definition, SANDBOX_ERRORS, DEFAULT_REPORT_ID } from '../sandbox';
import type { IcaseworkSettings } from '../src/settings';
import { adapter, deliveryRequest, sampleCase, testEnv } from './fixtures';

describe('iCasework sandbox (as npm start runs it)', () => {
  const env = testEnv();

  afterAll(async () => {
    await env.redis.cleanup();
  });

  it('returns settings that reach it, accepted by the settings schema, and serves the demo flow', async () => {
    const handle = await definition.start({ host: '127.0.0.1', port: 0, log: silentLogger(), settings: { key: '${ICW_KEY}' }, workDir: '/tmp' });
    try {
      expect(Object.keys(handle.urls).sort()).toEqual(['api', 'reports']);
      const settings = handle.settings as unknown as IcaseworkSettings;
      expect(settings).toMatchObject({ urlStyle: 'db', account: 'caseway', key: 'caseway-sandbox-key', authMode: 'signature', baseUrl: handle.urls.api, reportsBaseUrl: handle.urls.reports });
      expect(new Ajv({ strict: false }).compile(adapter.settingsSchema)(settings)).toBe(true);
      await expect(adapter.checkHealth!(env.harness(settings).ctx)).resolves.toBeUndefined();
      await expect(adapter.checkHealth!(env.harness({ ...settings, secret: 'wrong' }, undefined, 'icw-bad').ctx)).rejects.toMatchObject({ retryable: false });

      // The demo: a CrossBorderRecovery case created through createcase shows up in the default report ...
      const h = env.harness(settings, undefined, 'icw-demo');
      const created = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'CrossBorderRecovery' }, { hubId: 'hub-demo-1' }), h.ctx);
      const caseId = created.references![0].id;
      const poll = adapter.sources.report;
      if (poll.kind !== 'poll') throw new Error('poll expected');
      await poll.poll(h.ctx, h.emit, { reportId: DEFAULT_REPORT_ID });
      expect(h.emitted.map((e) => e.case.source.id)).toEqual([caseId]);

      // ... a caseworker's note added through the control endpoint is emitted on the next poll.
      const list = await axios.get(`${handle.urls.api}/_sandbox/cases`);
      expect((list.data as Array<{ caseId: string; type: string }>).find((c) => c.caseId === caseId)!.type).toBe('CrossBorderRecovery');
      const added = await axios.post(`${handle.urls.api}/_sandbox/cases/${caseId}/notes`, { text: 'Payment received', author: 'Jo' });
      expect(added.status).toBe(201);
      await poll.poll(h.ctx, h.emit, { reportId: DEFAULT_REPORT_ID });
      expect(h.emitted[1].case.notes).toEqual([expect.objectContaining({ text: 'Payment received', author: 'Jo' })]);
      const one = await axios.get(`${handle.urls.api}/_sandbox/cases/${caseId}`);
      expect(one.data.flat['CaseNote3.Text']).toBe('Payment received');
    } finally {
      await handle.stop();
    }
  });

  it("honours the connection's own key, secret, account and auth mode", async () => {
    const handle = await definition.start({
      host: '127.0.0.1',
      log: silentLogger(),
      settings: { key: 'my-key', secret: 'my-secret', account: 'acme', authMode: 'oauth2' },
      workDir: '/tmp',
    });
    try {
      const settings = handle.settings as unknown as IcaseworkSettings;
      expect(settings).toMatchObject({ key: 'my-key', secret: 'my-secret', account: 'acme', authMode: 'oauth2' });
      const h = env.harness(settings, undefined, 'icw-own');
      const r = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'EmergencyTravelDocument', notes: false }, { hubId: 'hub-own-1' }), h.ctx);
      expect(r.references![0].id).toMatch(/^\d+$/);
    } finally {
      await handle.stop();
    }
  });

  it('answers refusals the documented way', async () => {
    const handle = await definition.start({ host: '127.0.0.1', log: silentLogger(), settings: {}, workDir: '/tmp' });
    try {
      const api = handle.urls.api;
      const form = (p: Record<string, string>) => new URLSearchParams(p).toString();
      const opts = { validateStatus: () => true };
      const noAuth = await axios.post(`${api}/createcase?db=caseway`, form({ Type: 'Complaint' }), opts);
      expect([noAuth.status, noAuth.headers['x-application-error-code']]).toEqual([400, SANDBOX_ERRORS.missingAuth.code]);
      const badKey = await axios.post(`${api}/createcase?db=caseway`, form({ Type: 'Complaint', Key: 'nope', Signature: 'x' }), opts);
      expect(badKey.headers['x-application-error-code']).toBe(SANDBOX_ERRORS.invalidKey.code);
      const badMethod = await axios.get(`${api}/createcase?db=caseway&Type=Complaint`, opts);
      expect([badMethod.status, badMethod.headers['x-application-error-code'], badMethod.headers['x-application-error-info']]).toEqual([400, '11000', 'Invalid HTTP method']);
      const wrongDb = await axios.post(`${api}/createcase?db=other`, form({ Type: 'Complaint' }), opts);
      expect([wrongDb.status, wrongDb.data]).toEqual([200, '']);
      const wrongAccount = await axios.post(`${api}/services/other/createcase`, form({ Type: 'Complaint' }), opts);
      expect(wrongAccount.status).toBe(400);
      expect(String(wrongAccount.data)).toContain('The Page You Were Looking For Was Not Found');
      const unknownOp = await axios.get(`${api}/nosuchop`, opts);
      expect(unknownOp.status).toBe(400);
      const expired = await axios.post(`${api}/createcase`, form({ Type: 'Complaint' }), { ...opts, headers: { Authorization: 'Bearer nope' } });
      expect([expired.status, expired.headers['x-application-error-info']]).toEqual([401, 'invalid_token']);
    } finally {
      await handle.stop();
    }
  });
});
