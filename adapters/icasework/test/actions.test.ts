import { Writable } from 'node:stream';
import Ajv from 'ajv';
import { createLogger } from '../../../src/core/logger';
import { CasewayError } from '../../../src/core/errors';
import { adapter, deliveryRequest, sampleCase, sandboxSuite, settingsFor } from './fixtures';

/** A note's text without the hub's marker line ("\n[caseway:<16 hex>]"), asserting the marker is there. */
function unmarked(text: string): string {
  const m = /^([\s\S]*)\n\[caseway:[0-9a-f]{16}\]$/.exec(text);
  if (!m) throw new Error(`note without a marker: ${JSON.stringify(text.slice(-40))}`);
  return m[1];
}

describe('iCasework actions', () => {
  const suite = sandboxSuite();
  const { env, harness } = suite;

  it('exposes exactly the agreed action and source names, with options schemas ajv accepts', () => {
    expect(Object.keys(adapter.actions).sort()).toEqual(['addNote', 'createCase', 'linkExternalId', 'updateCase', 'updateCustomer', 'uploadDocuments']);
    expect(Object.keys(adapter.sources)).toEqual(['report']);
    const ajv = new Ajv({ strict: false });
    const validate = ajv.compile(adapter.actions.createCase.optionsSchema!);
    expect(validate({ caseType: 'EmergencyTravelDocument', externalId: 'source', requestMethod: 'Online form', customerRole: 'applicant', notes: false, documents: true })).toBe(true);
    expect(validate({ caseTyp: 'x' })).toBe(false);
    expect(ajv.compile(adapter.sources.report.optionsSchema!)({ format: 'json' })).toBe(false);
    expect(ajv.compile(adapter.settingsSchema)({ key: 'k', secret: 's', urlStyle: 'db', account: 'a' })).toBe(true);
  });

  describe('createCase', () => {
    it('creates the case with Type, ExternalId, Customer.* and DocumentN.* in one createcase, and adds the notes with markers', async () => {
      const h = harness();
      const c = sampleCase();
      const result = await adapter.actions.createCase.deliver(
        deliveryRequest(c, 'createCase', { caseType: 'CrossBorderRecovery', requestMethod: 'Online form' }, { hubId: 'hub-100' }),
        h.ctx,
      );
      const caseId = result.references![0].id;
      expect(result.references).toEqual([{ system: 'icasework', connection: 'icasework', id: caseId, kind: 'caseid' }]);
      expect(result.summary).toMatchObject({ caseid: caseId, created: true, via: 'createcase', externalIdLinked: true, notesAdded: 2, documents: 2 });

      const create = suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()!;
      expect(create.params).toMatchObject({
        Type: 'CrossBorderRecovery',
        ExternalId: 'hub-100',
        RequestMethod: 'Online form',
        Details: 'Recovery of child maintenance across borders',
        'Customer.Title': 'Ms',
        'Customer.FirstName': 'Carla',
        'Customer.Surname': 'Creditor',
        'Customer.Organisation': 'Acme Ltd',
        'Customer.Address': 'Flat B\nCanterbury Court\nPeel Street',
        'Customer.Town': 'Nottingham',
        'Customer.County': 'Notts',
        'Customer.Country': 'UK',
        'Customer.Postcode': 'NG1 4GR',
        'Customer.Email': 'carla@example.com',
        'Customer.Phone': '01234 567890',
        'Customer.Mobile': '07700 900123',
        'Customer.ContactMethod': 'Email',
        'Customer.ContactTime': 'Mornings',
        'Customer.ContactLanguage': 'fr',
        'Customer.ContactConsent': 'Yes',
        'Customer.Category': 'Resident',
        'Customer.Gender': 'Female',
        'Customer.EthnicOrigin': 'Other',
        'Customer.Sexuality': 'Undisclosed',
        'Customer.Faith': 'None',
        'Customer.DateOfBirth': '1980-03-23',
        'Customer.AgeGroup': '40-49',
        'Customer.Disability2': 'Hearing',
        'Document1.Name': 'order.pdf',
        'Document1.MimeType': 'application/pdf',
        'Document1.URL': 'https://files.example/order.pdf',
        'Document1.URLPublic': 'false',
        'Document2.Name': 'photo.jpg',
        'Document2.URLPublic': 'true',
      });
      expect(create.params['Customer.Id']).toBeUndefined(); // the party's foreign id is not sent unless asked
      expect(create.params.RequestDate).not.toBe('2024-05-06T07:08:09'); // requestDate 'now' (test/request-date.test.ts)
      expect(create.params['Document3.Name']).toBeUndefined();

      const held = suite.sandbox.getCase(caseId)!;
      expect(held.type).toBe('CrossBorderRecovery');
      expect(held.externalId).toBe('hub-100');
      expect(held.documents.map((d) => d.name)).toEqual(['order.pdf', 'photo.jpg']);
      expect(suite.sandbox.notes(caseId).map((n) => [unmarked(n.text), n.type, n.selfServiceAccess])).toEqual([
        ['First contact made', 'Contact', true],
        ['Awaiting documents', 'Note', false],
      ]);
      // The create carried the ExternalId: no separate updateexternalid.
      expect(suite.sandbox.requests.filter((r) => r.op === 'updateexternalid' && r.params.ExternalId === 'hub-100')).toHaveLength(0);
      // Without the hub's attempt record (earlierAttempts unknown) it looked for an existing case by ExternalId first.
      const lookups = suite.sandbox.requests.filter((r) => r.op === 'getcasedetails' && r.params.ExternalId === 'hub-100');
      expect(lookups).toHaveLength(1);
    });

    it('externalId: source sends the case\'s source id; customerRole picks the party', async () => {
      const h = harness();
      const c = sampleCase({ source: { system: 'isupport', id: 'US-UK-2024-0077' } });
      const result = await adapter.actions.createCase.deliver(
        deliveryRequest(c, 'createCase', { caseType: 'CrossBorderRecovery', externalId: 'source', customerRole: 'debtor', notes: false, documents: false }, { hubId: 'hub-101' }),
        h.ctx,
      );
      const held = suite.sandbox.getCase(result.references![0].id)!;
      expect(held.externalId).toBe('US-UK-2024-0077');
      expect(held.documents).toEqual([]);
      expect(held.notes).toEqual([]);
      const create = suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()!;
      expect(create.params['Customer.Surname']).toBe('Debtor');
      expect(create.params['Customer.FirstName']).toBe('Dan');
    });

    it('sends extensions.icasework.fields as createcase parameters, but never lets them set Type or the signature', async () => {
      const h = harness();
      const c = sampleCase({ extensions: { icasework: { fields: { Details: 'override', Reason: 'Lost', Type: 'Complaint', Signature: 'x', Format: 'csv' } } } });
      const r = await adapter.actions.createCase.deliver(deliveryRequest(c, 'createCase', { caseType: 'EmergencyTravelDocument', notes: false }, { hubId: 'hub-109' }), h.ctx);
      const create = suite.sandbox.requests.filter((x) => x.op === 'createcase').pop()!;
      expect(create.params).toMatchObject({ Type: 'EmergencyTravelDocument', Details: 'override', Reason: 'Lost', Format: 'xml' });
      expect(create.status).toBe(200);
      expect(suite.sandbox.getCase(r.references![0].id)!.fields).toEqual({ Details: 'override', Reason: 'Lost' });
    });

    it('does not create a second case when the hub already holds an icasework caseid for this connection', async () => {
      const h = harness();
      const n = suite.sandbox.cases().length;
      const result = await adapter.actions.createCase.deliver(
        deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint' }, {
          hubId: 'hub-102',
          references: [
            { system: 'icasework', connection: 'other-icw', id: '1', kind: 'caseid' },
            { system: 'icasework', connection: 'icasework', id: '777', kind: 'caseid' },
          ],
        }),
        h.ctx,
      );
      expect(result.references![0].id).toBe('777');
      expect(result.summary).toMatchObject({ created: false, via: 'reference' });
      expect(suite.sandbox.cases().length).toBe(n);
    });

    it('finds a case created before a crash by its ExternalId instead of creating another', async () => {
      const h = harness();
      // A case created and linked by an earlier attempt whose result never reached the hub (and whose state is gone).
      const first = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', notes: false }, { hubId: 'hub-103' }), h.ctx);
      await h.ctx.state.del('created:hub-103');
      const n = suite.sandbox.cases().length;
      const again = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', notes: false }, { hubId: 'hub-103', attempt: 2 }), h.ctx);
      expect(again.references![0].id).toBe(first.references![0].id);
      expect(again.summary).toMatchObject({ created: false, via: 'lookup' });
      expect(suite.sandbox.cases().length).toBe(n);
    });

    it('externalIdOnCreate false: create then updateexternalid; a failure linking is retried with the same case, not a new one', async () => {
      const h = harness();
      suite.sandbox.failNext('updateexternalid', { status: 503, body: 'down' });
      const req = deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', externalIdOnCreate: false }, { hubId: 'hub-104' });
      const err = await adapter.actions.createCase.deliver(req, h.ctx).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CasewayError);
      expect((err as CasewayError).retryable).toBe(true);
      const n = suite.sandbox.cases().length;
      const retry = await adapter.actions.createCase.deliver({ ...req, attempt: 2 }, h.ctx);
      expect(retry.summary).toMatchObject({ via: 'state', externalIdLinked: true, notesAdded: 2 });
      expect(suite.sandbox.cases().length).toBe(n);
      expect(suite.sandbox.getCase(retry.references![0].id)!.externalId).toBe('hub-104');
      expect(suite.sandbox.requests.filter((r) => r.op === 'createcase' && r.params.ExternalId === 'hub-104')).toHaveLength(0);
    });

    it('a note failing half way is not added twice on retry', async () => {
      const h = harness();
      const req = deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-105' });
      // First note succeeds, the second fails.
      let calls = 0;
      const origin = suite.sandbox.requests.length;
      suite.sandbox.failNext('addcasenotes', { delayMs: 0 });
      suite.sandbox.failNext('addcasenotes', { status: 500, body: 'oops' });
      await adapter.actions.createCase.deliver(req, h.ctx).catch(() => calls++);
      expect(calls).toBe(1);
      const retry = await adapter.actions.createCase.deliver({ ...req, attempt: 2 }, h.ctx);
      const caseId = retry.references![0].id;
      expect(suite.sandbox.notes(caseId).map((n) => unmarked(n.text))).toEqual(['First contact made', 'Awaiting documents']);
      expect(retry.summary).toMatchObject({ notesAdded: 1 });
      expect(suite.sandbox.requests.slice(origin).filter((r) => r.op === 'createcase')).toHaveLength(1);
    });

    it('reads the notes-sent record only when the case existed before this attempt', async () => {
      const h = harness();
      const areMembers = jest.spyOn(h.ctx.state, 'areMembers');
      const req = deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-108' });
      // Created now: no note can have been sent to a case whose caseid this createcase just returned.
      const first = await adapter.actions.createCase.deliver(req, h.ctx);
      expect(first.summary).toMatchObject({ via: 'createcase', notesAdded: 2 });
      expect(areMembers).not.toHaveBeenCalled();
      // The same case again (the connection state holds its caseid): the record is read and every note is skipped.
      const again = await adapter.actions.createCase.deliver({ ...req, attempt: 2 }, h.ctx);
      expect(again.summary).toMatchObject({ via: 'state', notesAdded: 0 });
      expect(areMembers).toHaveBeenCalledTimes(1);
      expect(suite.sandbox.notes(first.references![0].id)).toHaveLength(2);
    });

    it('an unknown case type is a permanent failure and nothing is remembered', async () => {
      const h = harness();
      const err = (await adapter.actions.createCase
        .deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'NotAType' }, { hubId: 'hub-106' }), h.ctx)
        .catch((e: unknown) => e)) as CasewayError;
      expect(err.retryable).toBe(false);
      expect(await h.ctx.state.get('created:hub-106')).toBeNull();
    });

    it('externalId naming a missing reference system fails permanently before calling the peer', async () => {
      const h = harness();
      const n = suite.sandbox.requests.length;
      const err = (await adapter.actions.createCase
        .deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', externalId: 'etd' }), h.ctx)
        .catch((e: unknown) => e)) as CasewayError;
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('externalId');
      expect(suite.sandbox.requests.length).toBe(n);
    });

    it('never logs or reports personal data', async () => {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk, _enc, cb) {
          lines.push(String(chunk));
          cb();
        },
      });
      const log = createLogger({ level: 'debug', destination: sink });
      const h = env.harness(settingsFor(suite.sandbox), log);
      suite.sandbox.failNext('addcasenotes', { status: 400, headers: { 'X-Application-Error-Code': '1003', 'X-Application-Error-Info': 'bad note for carla@example.com' }, body: 'x' });
      const err = (await adapter.actions.createCase
        .deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-107' }), h.ctx)
        .catch((e: unknown) => e)) as CasewayError;
      const result = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-108' }), h.ctx);
      const text = [...lines, JSON.stringify(err.toJSON()), err.message, JSON.stringify(result.summary)].join('\n');
      for (const pd of ['Carla', 'Creditor', 'carla@example.com', '07700', 'NG1 4GR', '1980-03-23', 'First contact made']) expect(text).not.toContain(pd);
      // The peer's own words stay out of the safe view (the hub adds a keyed hash where it records it); the core keeps
      // them encrypted for operators.
      expect(err.toJSON()).toMatchObject({ peerCode: '1003', hasPeerDetail: true });
      expect(JSON.stringify(err.toJSON())).not.toContain('bad note');
      expect(err.sensitiveDetail()?.peerDetail).toContain('bad note for');
    });
  });

  describe('addNote', () => {
    it('adds the unsent notes to the case named by the icasework reference, once', async () => {
      const h = harness();
      const created = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase({ notes: [] }), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-200' }), h.ctx);
      const references = created.references!;
      const c = sampleCase({ notes: [{ text: 'caseworker update', type: 'Update', visibleToCustomer: false, createdAt: '2024-06-01T10:00:00Z' }] });
      const r1 = await adapter.actions.addNote.deliver(deliveryRequest(c, 'addNote', { selfServiceAccess: true }, { hubId: 'hub-200', references }), h.ctx);
      expect(r1.summary).toMatchObject({ caseid: references[0].id, notesAdded: 1 });
      const req = suite.sandbox.requests.filter((r) => r.op === 'addcasenotes').pop()!;
      expect(req.params).toMatchObject({ Type: 'Update', SelfServiceAccess: 'false', CaseId: references[0].id });
      expect(unmarked(req.params.Notes)).toBe('caseworker update');
      // The same note again (a replay) is not added twice; a new one is.
      c.notes!.push({ text: 'second', createdAt: '2024-06-02T10:00:00Z' });
      const r2 = await adapter.actions.addNote.deliver(deliveryRequest(c, 'addNote', { selfServiceAccess: true, noteType: 'Hub' }, { hubId: 'hub-200', references }), h.ctx);
      expect(r2.summary).toMatchObject({ notesAdded: 1 });
      expect(suite.sandbox.notes(references[0].id).map((n) => [unmarked(n.text), n.type, n.selfServiceAccess])).toEqual([
        ['caseworker update', 'Update', false],
        ['second', 'Hub', true],
      ]);
    });

    it('targets the case by ExternalId (hub id) when there is no caseid reference', async () => {
      const h = harness();
      const created = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase({ notes: [] }), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-201' }), h.ctx);
      const c = sampleCase({ notes: [{ text: 'by external id' }] });
      const r = await adapter.actions.addNote.deliver(deliveryRequest(c, 'addNote', { notes: 'last' }, { hubId: 'hub-201' }), h.ctx);
      expect(r.summary).toMatchObject({ byExternalId: true, notesAdded: 1 });
      const req = suite.sandbox.requests.filter((x) => x.op === 'addcasenotes').pop()!;
      expect(req.params.ExternalId).toBe('hub-201');
      expect(req.params.CaseId).toBeUndefined();
      expect(suite.sandbox.notes(created.references![0].id).map((n) => unmarked(n.text))).toEqual(['by external id']);
    });
  });

  describe('updateCustomer', () => {
    it('sends the party as updatecustomer parameters with its Id', async () => {
      const h = harness();
      const r = await adapter.actions.updateCustomer.deliver(deliveryRequest(sampleCase(), 'updateCustomer', {}), h.ctx);
      expect(r.summary).toMatchObject({ customerUpdated: true });
      const req = suite.sandbox.requests.filter((x) => x.op === 'updatecustomer').pop()!;
      expect(req.params).toMatchObject({ Id: 'P-17', Title: 'Ms', FirstName: 'Carla', Surname: 'Creditor', Address: 'Flat B\nCanterbury Court\nPeel Street', Email: 'carla@example.com', Disability2: 'Hearing' });
      expect(Object.keys(req.params).some((k) => k.startsWith('Customer.'))).toBe(false);
      expect(suite.sandbox.customers().find((c) => c.ref === 'P-17')!.fields.Surname).toBe('Creditor');
    });

    it('fails permanently when the party has no id', async () => {
      const h = harness();
      const c = sampleCase();
      delete c.parties[1].id;
      const err = (await adapter.actions.updateCustomer.deliver(deliveryRequest(c, 'updateCustomer', {}), h.ctx).catch((e: unknown) => e)) as CasewayError;
      expect(err.retryable).toBe(false);
      expect(err.message).toContain('Id');
    });
  });

  describe('linkExternalId', () => {
    it('links the referenced case to the chosen external id', async () => {
      const h = harness();
      const created = await adapter.actions.createCase.deliver(
        deliveryRequest(sampleCase({ notes: [] }), 'createCase', { caseType: 'Complaint', externalId: 'none' }, { hubId: 'hub-300' }),
        h.ctx,
      );
      expect(suite.sandbox.getCase(created.references![0].id)!.externalId).toBe('');
      const r = await adapter.actions.linkExternalId.deliver(
        deliveryRequest(sampleCase(), 'linkExternalId', { externalId: 'source' }, { hubId: 'hub-300', references: created.references }),
        h.ctx,
      );
      expect(r.summary).toMatchObject({ caseid: created.references![0].id, externalIdLinked: true });
      expect(suite.sandbox.getCase(created.references![0].id)!.externalId).toBe('US-UK-2024-0001');
    });

    it('fails permanently without an icasework reference', async () => {
      const h = harness();
      const err = (await adapter.actions.linkExternalId.deliver(deliveryRequest(sampleCase(), 'linkExternalId', {}), h.ctx).catch((e: unknown) => e)) as CasewayError;
      expect(err.retryable).toBe(false);
    });
  });
});
