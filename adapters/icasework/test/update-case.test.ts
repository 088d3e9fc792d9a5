/** updateCase against the sandbox: updatecase by CaseId or ExternalId, both parameter styles, nothing to send = no call. */
import { CasewayError } from '../../../src/core/errors';
import { adapter, deliveryRequest, sampleCase, sandboxSuite } from './fixtures';

describe('iCasework updateCase', () => {
  const suite = sandboxSuite();
  const harness = () => suite.harness();
  const { opsSince } = suite;

  async function created(hubId: string) {
    const h = harness();
    const r = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase({ notes: [], documents: [] }), 'createCase', { caseType: 'Complaint' }, { hubId, earlierAttempts: 0 }), h.ctx);
    return { h, references: r.references!, caseId: r.references![0].id };
  }

  it('sends the case type fields (extensions.icasework.fields) and mapped fields as one updatecase by CaseId', async () => {
    const { h, references, caseId } = await created('hub-upd-1');
    const c = sampleCase({ summary: 'new summary', extensions: { icasework: { fields: { Reason: 'Stolen', isVulnerable: 'true', CaseId: '1', Type: 'x' } } } });
    const from = suite.sandbox.requests.length;
    const r = await adapter.actions.updateCase.deliver(deliveryRequest(c, 'updateCase', { fields: { Details: 'summary' } }, { hubId: 'hub-upd-1', references }), h.ctx);
    expect(opsSince(from)).toEqual(['updatecase']);
    expect(r.summary).toMatchObject({ caseid: caseId, byExternalId: false, calls: 1, attributes: 3 });
    const sent = suite.sandbox.requests[from].params;
    expect(sent).toMatchObject({ CaseId: caseId, Details: 'new summary', Reason: 'Stolen', isVulnerable: 'true' });
    expect(sent.Type).toBeUndefined(); // a passthrough may not set Type, nor retarget the case
    expect(suite.sandbox.getCase(caseId)!.fields).toMatchObject({ Details: 'new summary', Reason: 'Stolen', isVulnerable: 'true' });
  });

  it("style attribute-value: one call per attribute with Attribute and Value; by ExternalId when there is no reference", async () => {
    const { h, caseId } = await created('hub-upd-2');
    const c = sampleCase({ extensions: { icasework: { fields: { numberOfPets: '12', Reason: 'Lost' } } } });
    const from = suite.sandbox.requests.length;
    const r = await adapter.actions.updateCase.deliver(deliveryRequest(c, 'updateCase', { style: 'attribute-value' }, { hubId: 'hub-upd-2' }), h.ctx);
    expect(r.summary).toMatchObject({ caseid: caseId, byExternalId: true, calls: 2, attributes: 2 });
    expect(r.references).toEqual([{ system: 'icasework', connection: 'icasework', id: caseId, kind: 'caseid' }]);
    expect(suite.sandbox.requests.slice(from).map((x) => [x.params.ExternalId, x.params.Attribute, x.params.Value])).toEqual([
      ['hub-upd-2', 'numberOfPets', '12'],
      ['hub-upd-2', 'Reason', 'Lost'],
    ]);
    expect(suite.sandbox.getCase(caseId)!.fields).toMatchObject({ numberOfPets: '12', Reason: 'Lost' });
  });

  it('a repeat (a retry after a lost reply) sends the same values and leaves the same case', async () => {
    const { h, references, caseId } = await created('hub-upd-3');
    const c = sampleCase({ extensions: { icasework: { fields: { Reason: 'Lost' } } } });
    suite.sandbox.failNext('updatecase', { dropReply: true });
    const req = deliveryRequest(c, 'updateCase', {}, { hubId: 'hub-upd-3', references });
    const err = (await adapter.actions.updateCase.deliver(req, h.ctx).catch((e: unknown) => e)) as CasewayError;
    expect([err.retryable, err.context.outcome]).toEqual([true, 'uncertain']);
    await adapter.actions.updateCase.deliver({ ...req, attempt: 2 }, h.ctx);
    expect(suite.sandbox.getCase(caseId)!.fields.Reason).toBe('Lost');
    expect(suite.sandbox.cases().filter((x) => x.externalId === 'hub-upd-3')).toHaveLength(1);
  });

  it('nothing to update: no call; an unknown case is a permanent error', async () => {
    const { h, references } = await created('hub-upd-4');
    const from = suite.sandbox.requests.length;
    const r = await adapter.actions.updateCase.deliver(deliveryRequest(sampleCase(), 'updateCase', {}, { hubId: 'hub-upd-4', references }), h.ctx);
    expect(r.summary).toMatchObject({ calls: 0, attributes: 0 });
    expect(opsSince(from)).toEqual([]);
    const c = sampleCase({ extensions: { icasework: { fields: { Reason: 'x' } } } });
    const err = (await adapter.actions.updateCase
      .deliver(deliveryRequest(c, 'updateCase', {}, { hubId: 'hub-upd-4', references: [{ system: 'icasework', id: '999999999', kind: 'caseid' }] }), h.ctx)
      .catch((e: unknown) => e)) as CasewayError;
    expect(err.retryable).toBe(false);
  });
});
