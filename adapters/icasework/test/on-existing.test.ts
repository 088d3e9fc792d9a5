/**
 * createCase and DeliveryRequest.onExisting, against the sandbox over HTTP: when the hub case already has an
 * iCasework case, 'update' reuses it, 'note' adds the event to it as a note, 'create-linked' creates one follow-up
 * case per route, linked to it, and reuses that one for the route's later events.
 */
import { adapter, deliveryRequest, sampleCase, sandboxSuite } from './fixtures';

describe('createCase onExisting', () => {
  const suite = sandboxSuite();
  const harness = () => suite.harness();
  const existing = [{ system: 'icasework', connection: 'icasework', id: '777', kind: 'caseid' }];

  it('update (and absent): reuses the existing case, creates nothing', async () => {
    const h = harness();
    const n = suite.sandbox.cases().length;
    for (const onExisting of ['update', undefined] as const) {
      const r = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-u1', references: existing, onExisting }), h.ctx);
      expect(r.summary).toMatchObject({ caseid: '777', created: false, via: 'reference' });
    }
    expect(suite.sandbox.cases().length).toBe(n);
  });

  it('note: adds the event to the existing case as a note (its summary when it has no notes)', async () => {
    const h = harness();
    const first = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', notes: false }, { hubId: 'hub-n1' }), h.ctx);
    const caseid = first.references![0].id;
    const n = suite.sandbox.cases().length;
    const c = { ...sampleCase(), notes: [], summary: 'Registration declined; please follow up' };
    const r = await adapter.actions.createCase.deliver(
      deliveryRequest(c, 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-n1', references: first.references!, onExisting: 'note', deliveryId: 'd-note-1' }),
      h.ctx,
    );
    expect(r.summary).toMatchObject({ caseid, created: false, via: 'note', notesAdded: 1 });
    expect(suite.sandbox.cases().length).toBe(n);
    // The note carries the hub's marker line (so a retry after a lost reply can find it).
    expect(suite.sandbox.getCase(caseid)!.notes.map((x) => x.text)).toContainEqual(expect.stringMatching(/^Registration declined; please follow up\n\[caseway:[0-9a-f]{16}\]$/));
  });

  it('create-linked: one new case per route, linked to the existing one, reused for the route\'s later events', async () => {
    const h = harness();
    const first = await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', notes: false }, { hubId: 'hub-l1', route: 'etd' }), h.ctx);
    const original = first.references![0].id;
    const n = suite.sandbox.cases().length;
    const req = (deliveryId: string) =>
      deliveryRequest(sampleCase(), 'createCase', { caseType: 'CashAssistanceFollowUp', notes: false }, { hubId: 'hub-l1', route: 'declined', references: first.references!, onExisting: 'create-linked', deliveryId });
    const linked = await adapter.actions.createCase.deliver(req('d-declined-1'), h.ctx);
    const followUp = linked.references![0];
    expect(followUp).toMatchObject({ system: 'icasework', kind: 'linked-caseid' });
    expect(followUp.id).not.toBe(original);
    expect(linked.summary).toMatchObject({ created: true, linkedTo: original });
    expect(suite.sandbox.cases().length).toBe(n + 1);
    expect(suite.sandbox.getCase(followUp.id)!.type).toBe('CashAssistanceFollowUp');

    // The registration's next event on the same route: the same follow-up case, not a third one.
    const again = await adapter.actions.createCase.deliver(req('d-declined-2'), h.ctx);
    expect(again.references).toEqual([followUp]);
    expect(again.summary).toMatchObject({ created: false, via: 'route' });
    expect(suite.sandbox.cases().length).toBe(n + 1);
  });
});
