import { IcaseworkClient } from '../src/client';
import { IcaseworkApplicationError, IcaseworkEmptyReplyError, IcaseworkReplyError } from '../src/errors';
import { operationUrl, resolveSettings } from '../src/settings';
import { SANDBOX_ERRORS } from '../sandbox';
import { sandboxSuite, settingsFor } from './fixtures';

const BILLION_LAUGHS = `<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Cases><Case><CaseDetails.CaseId>&lol9;</CaseDetails.CaseId></Case></Cases>`;

const XXE = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE foo [ <!ENTITY xxe SYSTEM "file:///etc/passwd"> ]>
<createcaseresponse><caseid>&xxe;</caseid></createcaseresponse>`;

describe('iCasework client against the sandbox', () => {
  const suite = sandboxSuite();
  const { env } = suite;

  function client(extra: Parameters<typeof settingsFor>[1] = {}) {
    const settings = settingsFor(suite.sandbox, extra);
    const h = env.harness(settings);
    return { client: new IcaseworkClient(h.ctx, settings), h };
  }

  describe('URL shapes', () => {
    it('builds legacy, current and UAT URLs and sends getreport to the reports host', () => {
      const legacy = resolveSettings({ urlStyle: 'legacy', account: 'acme', key: 'k', secret: 's' });
      expect(operationUrl(legacy, 'createcase')).toBe('https://portal.icasework.com/services/acme/createcase');
      expect(operationUrl(legacy, 'getreport')).toBe('https://portal.icasework.com/services/acme/getreport');
      const prod = resolveSettings({ urlStyle: 'subdomain', account: 'acme', key: 'k', secret: 's' });
      expect(operationUrl(prod, 'createcase')).toBe('https://acme.icasework.com/createcase');
      expect(operationUrl(prod, 'getreport')).toBe('https://acmereports.icasework.com/getreport');
      expect(prod.tokenUrl).toBe('https://acme.icasework.com/token');
      const uat = resolveSettings({ urlStyle: 'db', account: 'acme', key: 'k', secret: 's' });
      expect(operationUrl(uat, 'getcasedetails')).toBe('https://uat.icasework.com/getcasedetails?db=acme');
      expect(uat.tokenUrl).toBe('https://uat.icasework.com/token?db=acme');
      expect(() => resolveSettings({ urlStyle: 'legacy', key: 'k', secret: 's' })).toThrow(/account is required/);
    });

    it.each(['legacy', 'subdomain', 'db'] as const)('works end to end with the %s URL shape', async (urlStyle) => {
      const { client: c } = client({ urlStyle });
      const { caseId } = await c.createCase({ Type: 'Complaint', 'Customer.Surname': 'Smith' });
      const rows = await c.getReport('CASEWAY-ALL');
      expect(rows.map((r) => r['CaseDetails.CaseId'])).toContain(caseId);
      const create = suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()!;
      const report = suite.sandbox.requests.filter((r) => r.op === 'getreport').pop()!;
      expect(create.style).toBe(urlStyle);
      expect(create.host).toBe('api');
      expect(report.host).toBe(urlStyle === 'legacy' ? 'api' : 'reports');
      if (urlStyle === 'legacy') expect(create.path).toBe(`/services/${suite.sandbox.account}/createcase`);
      else expect(create.path).toBe('/createcase');
    });

    it('getreport on the main host (current shape) is an error, as in the reference', async () => {
      const { client: c } = client({ urlStyle: 'subdomain', reportsBaseUrl: suite.sandbox.apiUrl });
      const err = await c.getReport('CASEWAY-ALL').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IcaseworkApplicationError);
      expect((err as IcaseworkApplicationError).status).toBe(400);
    });
  });

  describe('operations: request parameters and reply parsing', () => {
    it.each(['xml', 'json'] as const)('createcase posts form-encoded parameters and parses the %s reply', async (format) => {
      const { client: c } = client({ format });
      const out = await c.createCase({ Type: 'CrossBorderRecovery', 'Customer.FirstName': 'Fred', 'Customer.Surname': 'Bloggs', Details: 'x & y <z>' });
      expect(out.caseId).toMatch(/^\d+$/);
      expect(out.team).toBe('INBOXCBR');
      const req = suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()!;
      expect(req.method).toBe('POST');
      expect(req.params.Format).toBe(format);
      expect(req.params.Type).toBe('CrossBorderRecovery');
      expect(req.params['Customer.Surname']).toBe('Bloggs');
      expect(req.params.Details).toBe('x & y <z>');
      const held = suite.sandbox.getCase(out.caseId)!;
      expect(held.fields.Details).toBe('x & y <z>');
      expect(suite.sandbox.customers().find((cu) => cu.ref === held.customerRef)!.fields).toMatchObject({ FirstName: 'Fred', Surname: 'Bloggs' });
    });

    it.each(['xml', 'json'] as const)('getcasedetails (%s) returns the flat dotted record, with XML escapes decoded', async (format) => {
      const { client: c } = client({ format });
      const { caseId } = await c.createCase({ Type: 'Complaint', 'Customer.Surname': 'Bloggs', 'Customer.FirstName': 'Fred', 'Customer.Address': 'Flat B\nPeel Street', Details: 'a < b & "c"' });
      const rows = await c.getCaseDetails({ CaseId: caseId });
      expect(rows).toHaveLength(1);
      expect(rows[0]['CaseDetails.CaseId']).toBe(caseId);
      expect(rows[0]['CaseDetails.CaseType']).toBe('Complaint');
      expect(rows[0]['CaseDetailsComplaint.Details']).toBe('a < b & "c"');
      expect(rows[0]['MainParty.FullName']).toBe('Bloggs, Fred');
      expect(rows[0]['MainParty.Address']).toBe('Flat B\nPeel Street');
      expect(rows[0]['CaseDetails.ExternalId']).toBe('');
      const req = suite.sandbox.requests.filter((r) => r.op === 'getcasedetails').pop()!;
      expect(req.method).toBe('GET');
      expect(req.params.CaseId).toBe(caseId);
      expect(req.params.Format).toBe(format);
    });

    it('getcasedetails by a shared ExternalId: several cases (JSON objects back to back, XML repeated <Case>)', async () => {
      const { client: c } = client({ format: 'json' });
      const a = await c.createCase({ Type: 'Complaint', Details: 'contains }{ braces' });
      const b = await c.createCase({ Type: 'Complaint' });
      await c.updateExternalId({ CaseId: a.caseId, ExternalId: 'EXT-SHARED' });
      await c.updateExternalId({ CaseId: b.caseId, ExternalId: 'EXT-SHARED' });
      const json = await c.getCaseDetails({ ExternalId: 'EXT-SHARED' });
      expect(json.map((r) => r['CaseDetails.CaseId'])).toEqual([a.caseId, b.caseId]);
      expect(json[0]['CaseDetailsComplaint.Details']).toBe('contains }{ braces');
      const { client: x } = client({ format: 'xml' });
      const xml = await x.getCaseDetails({ ExternalId: 'EXT-SHARED' });
      expect(xml.map((r) => r['CaseDetails.ExternalId'])).toEqual(['EXT-SHARED', 'EXT-SHARED']);
    });

    it('an unknown case (HTML 400 without a code) is "none found", not an error', async () => {
      const { client: c } = client();
      expect(await c.getCaseDetails({ CaseId: '999999999' })).toEqual([]);
      expect(await c.getCaseDetails({ ExternalId: 'nobody' })).toEqual([]);
    });

    it('addcasenotes sends Notes, Type, SelfServiceAccess, CaseId and a RequestDate', async () => {
      const { client: c } = client();
      const { caseId } = await c.createCase({ Type: 'Complaint' });
      await c.addCaseNotes({ Notes: 'hello', Type: 'Contact', SelfServiceAccess: 'true', CaseId: caseId });
      const req = suite.sandbox.requests.filter((r) => r.op === 'addcasenotes').pop()!;
      expect(req.params).toMatchObject({ Notes: 'hello', Type: 'Contact', SelfServiceAccess: 'true', CaseId: caseId });
      expect(req.params.RequestDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
      expect(suite.sandbox.notes(caseId)).toEqual([expect.objectContaining({ text: 'hello', type: 'Contact', selfServiceAccess: true })]);
    });

    it('updatecustomer sends every customer parameter and the sandbox stores it', async () => {
      const { client: c } = client({ format: 'json' });
      const params: Record<string, string> = { Id: 'CUST-1', Title: 'Mr', FirstName: 'Fred', Surname: 'Bloggs', Disability9: 'x', ContactLanguage: 'fr' };
      const reply = await c.updateCustomer(params);
      expect(reply.docs[0]).toEqual({ updatecustomerresponse: { id: 'CUST-1' } });
      const req = suite.sandbox.requests.filter((r) => r.op === 'updatecustomer').pop()!;
      expect(req.params).toMatchObject(params);
      expect(req.params.RequestDate).toBeDefined();
      expect(suite.sandbox.customers().find((cu) => cu.ref === 'CUST-1')!.fields).toMatchObject({ Title: 'Mr', Disability9: 'x', ContactLanguage: 'fr' });
    });

    it.each(['xml', 'json', 'csv'] as const)('getreport parses the %s report', async (format) => {
      const { client: c } = client();
      const { caseId } = await c.createCase({ Type: 'CrossBorderRecovery', Details: 'line1, "quoted"\nline2' });
      await c.addCaseNotes({ Notes: 'a note, with comma', CaseId: caseId });
      const rows = await c.getReport('CASEWAY-ALL', format);
      const row = rows.find((r) => r['CaseDetails.CaseId'] === caseId)!;
      expect(row['CaseDetails.CaseType']).toBe('CrossBorderRecovery');
      expect(row['CaseDetailsCrossBorderRecovery.Details']).toBe('line1, "quoted"\nline2');
      expect(row['CaseNote1.Text']).toBe('a note, with comma');
      expect(row['CaseStatusTouchTimes.LastUpdatedTime']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      const req = suite.sandbox.requests.filter((r) => r.op === 'getreport').pop()!;
      expect(req.params.ReportId).toBe('CASEWAY-ALL');
      expect(req.params.Format).toBe(format);
      if (format === 'csv') expect(req.params.CSVHeader).toBe('true');
    });

    it('an empty report is <Cases /> (xml), [] (json) or a header line (csv)', async () => {
      suite.sandbox.setReport('EMPTY', { caseTypes: ['Compliment'] });
      const { client: c } = client();
      for (const f of ['xml', 'json', 'csv'] as const) expect(await c.getReport('EMPTY', f)).toEqual([]);
    });
  });

  describe('errors', () => {
    it('maps HTTP 400 + X-Application-Error-Code/Info to a permanent typed error carrying both', async () => {
      const { client: c } = client();
      suite.sandbox.failNext('updateexternalid', {
        status: 400,
        headers: { 'X-Application-Error-Code': '11000', 'X-Application-Error-Info': 'Invalid HTTP method' },
        contentType: 'text/html;charset=UTF-8',
        body: '<!DOCTYPE html><html><body>An Unexpected Error Occured</body></html>',
      });
      const err = (await c.updateExternalId({ CaseId: '1', ExternalId: 'e' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
      expect(err).toBeInstanceOf(IcaseworkApplicationError);
      expect(err.applicationErrorCode).toBe('11000');
      // The info's words stay out of the error's properties (they may echo personal data); operators get them sealed.
      expect(err.applicationErrorInfoLength).toBe('Invalid HTTP method'.length);
      expect(err.sensitiveDetail()?.peerDetail).toBe('Invalid HTTP method');
      expect(err.retryable).toBe(false);
      expect(err.context.peerCode).toBe('11000');
      expect(err.message).toContain('11000');
      expect(err.message).not.toContain('<html');
    });

    it('an unknown Type is a permanent error without a code (HTML 400)', async () => {
      const { client: c } = client();
      const err = (await c.createCase({ Type: 'NoSuchType' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
      expect(err).toBeInstanceOf(IcaseworkApplicationError);
      expect(err.applicationErrorCode).toBeUndefined();
      expect(err.retryable).toBe(false);
    });

    it('a code listed in retryableErrorCodes is retryable', async () => {
      const { client: c } = client({ retryableErrorCodes: ['10002'] });
      suite.sandbox.failNext('updateexternalid', { status: 400, headers: { 'X-Application-Error-Code': '10002' }, body: 'x' });
      const err = (await c.updateExternalId({ CaseId: '1', ExternalId: 'e' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
      expect(err.retryable).toBe(true);
    });

    it('a 200 with an empty body (wrong db) is an error, not success', async () => {
      const { client: c } = client({ account: 'not-my-db' });
      const before = suite.sandbox.cases().length;
      const err = await c.createCase({ Type: 'Complaint' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IcaseworkEmptyReplyError);
      expect((err as IcaseworkEmptyReplyError).retryable).toBe(false);
      expect(suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()!.status).toBe(200);
      expect(suite.sandbox.cases().length).toBe(before);
    });

    it('retries a read after a 5xx and succeeds', async () => {
      const { client: c } = client();
      const { caseId } = await c.createCase({ Type: 'Complaint' });
      suite.sandbox.failNext('getcasedetails', { status: 503, body: 'busy', times: 2 });
      const n = suite.sandbox.requests.length;
      const rows = await c.getCaseDetails({ CaseId: caseId });
      expect(rows[0]['CaseDetails.CaseId']).toBe(caseId);
      expect(suite.sandbox.requests.slice(n).map((r) => r.status)).toEqual([503, 503, 200]);
    });

    it('retries a read after a timeout', async () => {
      const { client: c } = client({ timeoutMs: 200 });
      const { caseId } = await c.createCase({ Type: 'Complaint' });
      suite.sandbox.failNext('getcasedetails', { delayMs: 600 });
      const started = Date.now();
      const rows = await c.getCaseDetails({ CaseId: caseId });
      expect(rows[0]['CaseDetails.CaseId']).toBe(caseId);
      expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    });

    it('a write answered 5xx is not repeated inside the call but fails retryable for the hub to retry', async () => {
      const { client: c, h } = client();
      suite.sandbox.failNext('createcase', { status: 502, body: 'bad gateway' });
      const n = suite.sandbox.requests.length;
      const err = (await c.createCase({ Type: 'Complaint' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
      expect(err.retryable).toBe(true);
      expect(err.status).toBe(502);
      expect(suite.sandbox.requests.slice(n).filter((r) => r.op === 'createcase')).toHaveLength(1);
      expect(h.peerCalls.pop()).toEqual({ operation: 'POST /createcase', status: 502 });
    });

    it('a write that times out fails retryable', async () => {
      const { client: c } = client({ timeoutMs: 150 });
      suite.sandbox.failNext('addcasenotes', { delayMs: 500, status: 200, body: '<x/>' });
      const err = (await c.addCaseNotes({ Notes: 'n', CaseId: '1' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
      expect(err.retryable).toBe(true);
      expect(err.code).toBe('PEER_UNREACHABLE');
    });

    it('a key restricted to another IP address is refused', async () => {
      suite.sandbox.addKey({ key: 'restricted', secret: 'restricted-secret', allowedIps: ['10.20.30.40'] });
      const { client: c } = client({ keyName: 'restricted' });
      const err = (await c.createCase({ Type: 'Complaint' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
      expect(err).toBeInstanceOf(IcaseworkApplicationError);
      expect(err.applicationErrorCode).toBe(SANDBOX_ERRORS.ipDenied.code);
      expect(err.retryable).toBe(false);
      // The same key allowed from loopback works.
      suite.sandbox.addKey({ key: 'loopback-only', secret: 'lb-secret', allowedIps: ['127.0.0.1'] });
      const { client: ok } = client({ keyName: 'loopback-only' });
      await expect(ok.createCase({ Type: 'Complaint' })).resolves.toEqual(expect.objectContaining({ caseId: expect.any(String) }));
    });
  });

  describe('XML safety', () => {
    it('rejects a billion-laughs reply quickly, without expanding it', async () => {
      const { client: c } = client();
      suite.sandbox.failNext('getcasedetails', { status: 200, contentType: 'text/xml;charset=UTF-8', body: BILLION_LAUGHS });
      const err = (await c.getCaseDetails({ CaseId: '1' }).catch((e: unknown) => e)) as IcaseworkReplyError;
      expect(err).toBeInstanceOf(IcaseworkReplyError);
      expect(err.message).toMatch(/DOCTYPE|entit/i);
      expect(err.retryable).toBe(false);
    });

    it('rejects an external-entity reply and never yields the entity', async () => {
      const { client: c } = client();
      suite.sandbox.failNext('createcase', { status: 200, contentType: 'text/xml', body: XXE });
      const err = await c.createCase({ Type: 'Complaint' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IcaseworkReplyError);
    });

    it('rejects an HTML page answered with 200', async () => {
      const { client: c } = client();
      suite.sandbox.failNext('getreport', { status: 200, contentType: 'text/html', body: '<!DOCTYPE html><html><body>login</body></html>' });
      await expect(c.getReport('CASEWAY-ALL')).rejects.toBeInstanceOf(IcaseworkReplyError);
    });
  });
});
