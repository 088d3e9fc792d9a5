/**
 * uploadDocuments and the getCaseDocuments enrichment, against the sandbox over loopback: one uploaddocuments per
 * document, nothing sent twice (state, documents that went with createcase, and a read-back after a lost reply),
 * DocumentN.URL over 500 characters refused before anything is sent, and the report source adding the case's
 * documents only when asked.
 */
import axios from 'axios';
import type { PollOutcome } from '../../../src/core/adapter';
import { CasewayError } from '../../../src/core/errors';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { IcaseworkClient } from '../src/client';
import { adapter, deliveryRequest, sampleCase, sandboxSuite, settingsFor } from './fixtures';

async function failure(promise: Promise<unknown>): Promise<CasewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CasewayError)) throw new Error(`expected a CasewayError, got ${String(err)}`);
  return err;
}

const DOCS: NonNullable<CanonicalCase['documents']> = [
  { name: 'order.pdf', mimeType: 'application/pdf', url: 'https://files.example/order.pdf', public: false },
  { name: 'no-url.txt' },
  { name: 'photo.jpg', mimeType: 'image/jpeg', url: 'https://files.example/photo.jpg', public: true },
];

describe('iCasework documents', () => {
  const suite = sandboxSuite();
  const harness = (name?: string) => suite.harness({}, name);
  const { opsSince } = suite;

  /** A case created in iCasework without documents; returns its caseid reference. */
  async function bareCase(hubId: string, h = harness()) {
    const created = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase({ notes: [], documents: [] }), 'createCase', { caseType: 'Complaint' }, { hubId, earlierAttempts: 0 }), h.ctx);
    return { references: created.references!, caseId: created.references![0].id, h };
  }
  const upload = (hubId: string, references: CanonicalCase['references'], extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}) =>
    deliveryRequest(sampleCase({ documents: DOCS }), 'uploadDocuments', options, { hubId, references: references ?? [], deliveryId: `d-up-${hubId}`, earlierAttempts: 0, ...extra });

  it('uploads each document with a URL in its own uploaddocuments (CaseId, DocumentN.*, URLLoadContent), once', async () => {
    const { references, caseId, h } = await bareCase('hub-doc-1');
    const from = suite.sandbox.requests.length;
    const r = await adapter.actions.uploadDocuments.deliver(upload('hub-doc-1', references), h.ctx);
    expect(r.summary).toMatchObject({ caseid: caseId, documents: 2, uploaded: 2, alreadySent: 0 });
    expect(opsSince(from)).toEqual(['uploaddocuments', 'uploaddocuments']);
    expect(suite.sandbox.requests[from].params).toMatchObject({
      CaseId: caseId,
      'Document1.Name': 'order.pdf',
      'Document1.MimeType': 'application/pdf',
      'Document1.URL': 'https://files.example/order.pdf',
      'Document1.URLPublic': 'false',
      'Document1.URLLoadContent': 'true',
    });
    expect(suite.sandbox.getCase(caseId)!.documents.map((d) => d.name)).toEqual(['order.pdf', 'photo.jpg']);
    // A second delivery of the same case sends nothing.
    const again = await adapter.actions.uploadDocuments.deliver(upload('hub-doc-1', references, { deliveryId: 'd-up-again' }), h.ctx);
    expect(again.summary).toMatchObject({ uploaded: 0, alreadySent: 2 });
    expect(suite.sandbox.getCase(caseId)!.documents).toHaveLength(2);
  });

  it('documents that went with createcase are not uploaded again', async () => {
    const h = harness();
    const created = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase({ notes: [], documents: DOCS }), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-doc-2', earlierAttempts: 0 }), h.ctx);
    const from = suite.sandbox.requests.length;
    const r = await adapter.actions.uploadDocuments.deliver(upload('hub-doc-2', created.references), h.ctx);
    expect(r.summary).toMatchObject({ uploaded: 0, alreadySent: 2 });
    expect(opsSince(from)).toEqual([]);
  });

  it('documents of a createcase whose reply was lost (case found by ExternalId on the retry) are not uploaded again', async () => {
    const h = harness();
    suite.sandbox.failNext('createcase', { dropReply: true });
    const req = deliveryRequest(sampleCase({ notes: [], documents: DOCS }), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-doc-2b', earlierAttempts: 0 });
    await failure(adapter.actions.createCase.deliver(req, h.ctx));
    const retry = await adapter.actions.createCase.deliver({ ...req, attempt: 2, earlierAttempts: 1, earlierUncertain: true }, h.ctx);
    expect(retry.summary).toMatchObject({ via: 'lookup' });
    const from = suite.sandbox.requests.length;
    const r = await adapter.actions.uploadDocuments.deliver(upload('hub-doc-2b', retry.references), h.ctx);
    expect(r.summary).toMatchObject({ uploaded: 0, alreadySent: 2 });
    expect(opsSince(from)).toEqual([]);
    expect(suite.sandbox.getCase(retry.references![0].id)!.documents).toHaveLength(2);
  });

  it('a lost uploaddocuments reply: the retry reads the case back and does not upload the document twice', async () => {
    const { references, caseId, h } = await bareCase('hub-doc-3');
    suite.sandbox.failNext('uploaddocuments', { dropReply: true });
    const req = upload('hub-doc-3', references);
    const err = await failure(adapter.actions.uploadDocuments.deliver(req, h.ctx));
    expect([err.retryable, err.context.outcome]).toEqual([true, 'uncertain']);
    expect(suite.sandbox.getCase(caseId)!.documents.map((d) => d.name)).toEqual(['order.pdf']); // the peer did it
    const from = suite.sandbox.requests.length;
    const retry = await adapter.actions.uploadDocuments.deliver({ ...req, attempt: 2, earlierAttempts: 1, earlierUncertain: true }, h.ctx);
    expect(retry.summary).toMatchObject({ documentsReadBack: true, documentsFoundOnCase: 1, uploaded: 1 });
    expect(opsSince(from)).toEqual(['getcasedocuments', 'uploaddocuments']);
    expect(suite.sandbox.getCase(caseId)!.documents.map((d) => d.name)).toEqual(['order.pdf', 'photo.jpg']);
  });

  it("even when the hub claims a first attempt, the adapter's pending mark makes the retry read back", async () => {
    const { references, caseId, h } = await bareCase('hub-doc-4');
    suite.sandbox.failNext('uploaddocuments', { dropReply: true });
    const req = upload('hub-doc-4', references);
    await failure(adapter.actions.uploadDocuments.deliver(req, h.ctx));
    const retry = await adapter.actions.uploadDocuments.deliver(req, h.ctx);
    expect(retry.summary).toMatchObject({ documentsReadBack: true, documentsFoundOnCase: 1 });
    expect(suite.sandbox.getCase(caseId)!.documents).toHaveLength(2);
  });

  it('the negative: with readBack false the retry cannot tell, and the document is doubled', async () => {
    const { references, caseId, h } = await bareCase('hub-doc-5');
    suite.sandbox.failNext('uploaddocuments', { dropReply: true });
    const req = upload('hub-doc-5', references, {}, { readBack: false });
    await failure(adapter.actions.uploadDocuments.deliver(req, h.ctx));
    await adapter.actions.uploadDocuments.deliver({ ...req, attempt: 2, earlierAttempts: 1, earlierUncertain: true }, h.ctx);
    expect(suite.sandbox.getCase(caseId)!.documents.map((d) => d.name)).toEqual(['order.pdf', 'order.pdf', 'photo.jpg']);
  });

  it('a refused upload (400) leaves no pending mark: the retry does not read back', async () => {
    const { references, h } = await bareCase('hub-doc-6');
    suite.sandbox.failNext('uploaddocuments', { status: 400, headers: { 'X-Application-Error-Code': '1999' }, body: 'no' });
    const req = upload('hub-doc-6', references);
    const err = await failure(adapter.actions.uploadDocuments.deliver(req, h.ctx));
    expect(err.retryable).toBe(false);
    const from = suite.sandbox.requests.length;
    await adapter.actions.uploadDocuments.deliver(req, h.ctx);
    expect(opsSince(from)).toEqual(['uploaddocuments', 'uploaddocuments']);
  });

  it('a DocumentN.URL over 500 characters is a permanent error naming the field, and nothing is sent', async () => {
    const { references, caseId, h } = await bareCase('hub-doc-7');
    const longUrl = `https://files.example/${'secret-path-'.repeat(45)}.pdf`;
    expect(longUrl.length).toBeGreaterThan(500);
    const c = sampleCase({ documents: [DOCS[0], { name: 'long.pdf', url: longUrl }] });
    const from = suite.sandbox.requests.length;
    const err = await failure(adapter.actions.uploadDocuments.deliver(deliveryRequest(c, 'uploadDocuments', {}, { hubId: 'hub-doc-7', references }), h.ctx));
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('Document2.URL');
    expect(err.context.field).toBe('Document2.URL');
    expect(JSON.stringify(err.toJSON())).not.toContain('secret-path');
    expect(err.message).not.toContain('secret-path');
    expect(opsSince(from)).toEqual([]);
    expect(suite.sandbox.getCase(caseId)!.documents).toHaveLength(0);
    // The same on createcase.
    const err2 = await failure(adapter.actions.createCase.deliver(deliveryRequest(c, 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-doc-7b' }), h.ctx));
    expect(err2.context.field).toBe('Document2.URL');
    expect(opsSince(from)).toEqual([]);
    // The negative: exactly 500 characters passes (and the sandbox, which checks the documented length, accepts it).
    const at500 = `https://files.example/${'x'.repeat(500 - 'https://files.example/'.length)}`;
    const ok = await adapter.actions.uploadDocuments.deliver(deliveryRequest(sampleCase({ documents: [{ name: 'edge.pdf', url: at500 }] }), 'uploadDocuments', {}, { hubId: 'hub-doc-7', references }), h.ctx);
    expect(ok.summary).toMatchObject({ uploaded: 1 });
    // ... and the sandbox itself refuses 501 (so a missing check in the adapter would show as a peer refusal).
    const client = new IcaseworkClient(h.ctx, settingsFor(suite.sandbox));
    const refused = await failure(client.uploadDocuments({ CaseId: caseId, 'Document1.Name': 'x', 'Document1.URL': `${at500}y` }));
    expect(refused.context.peerCode).toBe('10011');
  });

  it('without an icasework caseid reference it fails permanently before any call', async () => {
    const h = harness();
    const from = suite.sandbox.requests.length;
    const err = await failure(adapter.actions.uploadDocuments.deliver(upload('hub-doc-8', []), h.ctx));
    expect(err.retryable).toBe(false);
    expect(opsSince(from)).toEqual([]);
  });

  describe('getCaseDocuments enrichment on the report source', () => {
    const source = adapter.sources.report;
    if (source.kind !== 'poll') throw new Error('report must be a poll source');

    it('off by default: no getcasedocuments call and no documents on the emitted case', async () => {
      const { caseId } = await bareCase('hub-doc-9');
      await adapter.actions.uploadDocuments.deliver(upload('hub-doc-9', [{ system: 'icasework', connection: 'icasework', id: caseId, kind: 'caseid' }]), harness().ctx);
      const h = harness('icw-docs-off');
      const from = suite.sandbox.requests.length;
      await source.poll(h.ctx, h.emit, { reportId: 'CASEWAY-ALL' });
      expect(opsSince(from)).not.toContain('getcasedocuments');
      expect(h.emitted.find((e) => e.case.source.id === caseId)!.case.documents).toBeUndefined();
    });

    it('on: each emitted case carries its documents (id, name, MIME type, category, date, download URL without the access_token)', async () => {
      const { caseId, references } = await bareCase('hub-doc-10');
      await adapter.actions.uploadDocuments.deliver(upload('hub-doc-10', references), harness().ctx);
      const h = harness('icw-docs-on');
      const out = (await source.poll(h.ctx, h.emit, { reportId: 'CASEWAY-ALL', getCaseDocuments: true })) as PollOutcome;
      expect(out.emitted).toBeGreaterThan(0);
      const docs = h.emitted.find((e) => e.case.source.id === caseId)!.case.documents!;
      expect(docs.map((d) => [d.name, d.mimeType, d.category])).toEqual([
        ['order.pdf', 'application/pdf', 'General upload'],
        ['photo.jpg', 'image/jpeg', 'General upload'],
      ]);
      for (const d of docs) {
        expect(d.id).toMatch(/^D\d+$/);
        expect(d.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
        expect(d.url).toContain(`ref=${d.id}`);
        expect(d.url).not.toContain('access_token');
      }
      // The download URL answers (the sandbox redirects to where the document came from).
      const got = await axios.get(docs[0].url!, { maxRedirects: 0, validateStatus: () => true });
      expect([got.status, got.headers.location]).toEqual([302, 'https://files.example/order.pdf']);
      // keepDocumentTokens keeps the embedded token.
      const h2 = harness('icw-docs-token');
      await source.poll(h2.ctx, h2.emit, { reportId: 'CASEWAY-ALL', getCaseDocuments: true, keepDocumentTokens: true });
      expect(h2.emitted.find((e) => e.case.source.id === caseId)!.case.documents![0].url).toMatch(/access_token=[0-9a-f]+/);
    });

    it('getcasedocuments for an unknown case is an empty list (XML <Documents />) and JSON replies are read too', async () => {
      const { caseId, references } = await bareCase('hub-doc-11');
      await adapter.actions.uploadDocuments.deliver(upload('hub-doc-11', references), harness().ctx);
      const client = new IcaseworkClient(harness().ctx, settingsFor(suite.sandbox));
      expect(await client.getCaseDocuments('999999999')).toEqual([]);
      const json = new IcaseworkClient(harness().ctx, settingsFor(suite.sandbox, { format: 'json' }));
      expect((await json.getCaseDocuments(caseId)).map((d) => d.name)).toEqual(['order.pdf', 'photo.jpg']);
      expect((await client.getCaseDocuments(caseId)).map((d) => d.name)).toEqual(['order.pdf', 'photo.jpg']);
    });
  });
});
