import { IcaseworkClient } from '../src/client';
import { adapter, deliveryRequest, sampleCase, sandboxSuite, settingsFor, startSandbox } from './fixtures';
import type { PollOutcome } from '../../../src/core/adapter';

describe('iCasework report poll source', () => {
  const suite = sandboxSuite();
  const { env } = suite;

  const source = adapter.sources.report;
  if (source.kind !== 'poll') throw new Error('report must be a poll source');

  it('emits each new or changed case once, with only the new notes, and not again after a restart', async () => {
    const settings = settingsFor(suite.sandbox);
    const conn = 'icw-poll-1';
    const h1 = env.harness(settings, undefined, conn);
    const client = new IcaseworkClient(h1.ctx, settings);
    // A case from the hub (ExternalId = hub id) and one created directly in iCasework.
    const created = await adapter.actions.createCase.deliver(
      deliveryRequest(sampleCase({ notes: [{ text: 'from the hub' }] }), 'createCase', { caseType: 'CrossBorderRecovery' }, { hubId: 'hub-500' }),
      h1.ctx,
    );
    const hubCase = created.references![0].id;
    const direct = (await client.createCase({ Type: 'Complaint', 'Customer.FirstName': 'Fred', 'Customer.Surname': 'Bloggs' })).caseId;
    await client.updateExternalId({ CaseId: direct, ExternalId: 'CRM-9' });

    const out1 = (await source.poll(h1.ctx, h1.emit, { reportId: 'CASEWAY-ALL' })) as PollOutcome;
    expect(out1.emitted).toBe(2);
    expect(out1.lagSeconds).toBeGreaterThanOrEqual(0);
    const first = h1.emitted.find((e) => e.case.source.id === hubCase)!;
    expect(first.eventId).toMatch(new RegExp(`^icasework:${hubCase}:[0-9a-f]{16}$`));
    expect(first.case).toMatchObject({
      type: 'CrossBorderRecovery',
      status: 'Open',
      source: { system: 'icasework', connection: conn, id: hubCase, eventId: first.eventId },
      references: [
        { system: 'icasework', connection: conn, id: hubCase, kind: 'caseid' },
        { system: 'hub', id: 'hub-500' },
      ],
      notes: [expect.objectContaining({ text: 'from the hub', type: 'Note', author: 'Web Service', visibleToCustomer: false })],
    });
    expect(first.case.parties[0]).toMatchObject({
      roles: ['customer'],
      person: { title: 'Ms', forenames: 'Carla', surname: 'Creditor', fullName: 'Creditor, Carla', birthDate: '1980-03-23' },
      addresses: [{ lines: ['Flat B', 'Canterbury Court', 'Peel Street'], town: 'Nottingham', postcode: 'NG1 4GR', country: 'UK' }],
      contacts: expect.arrayContaining([{ kind: 'email', value: 'carla@example.com' }, { kind: 'mobile', value: '07700 900123' }]),
    });
    const ext = first.case.extensions!.icasework as { caseId: string; reportId: string; details: Record<string, string> };
    expect(ext.caseId).toBe(hubCase);
    expect(ext.reportId).toBe('CASEWAY-ALL');
    expect(ext.details['CaseDetails.Team']).toBe('INBOXCBR');
    expect(ext.details['CaseDetailsCrossBorderRecovery.Details']).toBe('Recovery of child maintenance across borders');
    const other = h1.emitted.find((e) => e.case.source.id === direct)!;
    expect(other.case.type).toBe('Complaint');
    expect(other.case.references).toContainEqual({ system: 'external', id: 'CRM-9', kind: 'ExternalId' });

    // Nothing changed: nothing emitted.
    expect(((await source.poll(h1.ctx, h1.emit, { reportId: 'CASEWAY-ALL' })) as PollOutcome).emitted).toBe(0);
    expect(h1.emitted).toHaveLength(2);

    // A caseworker adds a note: that case alone is emitted again, with just the new note.
    suite.sandbox.addCaseworkerNote(hubCase, 'Called the creditor', { author: 'Jo Caseworker' });
    await source.poll(h1.ctx, h1.emit, { reportId: 'CASEWAY-ALL' });
    expect(h1.emitted).toHaveLength(3);
    const third = h1.emitted[2];
    expect(third.case.source.id).toBe(hubCase);
    expect(third.eventId).not.toBe(first.eventId);
    expect(third.case.notes).toEqual([expect.objectContaining({ text: 'Called the creditor', author: 'Jo Caseworker', type: 'Case note' })]);

    // Restart: a fresh harness (new process, same Redis state) emits nothing it emitted before ...
    const h2 = env.harness(settings, undefined, conn);
    expect(((await source.poll(h2.ctx, h2.emit, { reportId: 'CASEWAY-ALL' })) as PollOutcome).emitted).toBe(0);
    expect(h2.emitted).toHaveLength(0);
    // ... but does emit what changed while it was down.
    suite.sandbox.updateCase(direct, { status: 'Closed', closed: true });
    await source.poll(h2.ctx, h2.emit, { reportId: 'CASEWAY-ALL' });
    expect(h2.emitted.map((e) => e.case.source.id)).toEqual([direct]);
    expect(h2.emitted[0].case.status).toBe('Closed');
    expect(h2.emitted[0].case.closedAt).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(h2.emitted[0].case.notes).toBeUndefined();
  });

  it.each(['json', 'csv'] as const)('works from a %s report without getcasedetails', async (format) => {
    const fresh = await startSandbox();
    try {
      const settings = settingsFor(fresh);
      const h = env.harness(settings, undefined, `icw-poll-${format}`);
      const client = new IcaseworkClient(h.ctx, settings);
      const { caseId } = await client.createCase({ Type: 'CrossBorderRecovery', 'Customer.Surname': 'Smith', Details: 'a, "b"\nc' });
      await client.addCaseNotes({ Notes: 'note one', CaseId: caseId });
      await client.addCaseNotes({ Notes: 'note two', CaseId: caseId });
      const n = fresh.requests.length;
      await source.poll(h.ctx, h.emit, { reportId: 'CASEWAY-ALL', format, fetchDetails: false });
      expect(fresh.requests.slice(n).map((r) => r.op)).toEqual(['getreport']);
      expect(h.emitted).toHaveLength(1);
      const c = h.emitted[0].case;
      expect(c.source.id).toBe(caseId);
      expect(c.type).toBe('CrossBorderRecovery');
      expect(c.notes!.map((x) => x.text)).toEqual(['note one', 'note two']);
      expect(c.parties[0].person!.surname).toBe('Smith');
      expect((c.extensions!.icasework as { details: Record<string, string> }).details['CaseDetailsCrossBorderRecovery.Details']).toBe('a, "b"\nc');
      fresh.addCaseworkerNote(caseId, 'note three');
      await source.poll(h.ctx, h.emit, { reportId: 'CASEWAY-ALL', format, fetchDetails: false });
      expect(h.emitted).toHaveLength(2);
      expect(h.emitted[1].case.notes!.map((x) => x.text)).toEqual(['note three']);
    } finally {
      await fresh.stop();
    }
  });

  it('a report restricted to a case type emits only those; excluded note authors are left out', async () => {
    const fresh = await startSandbox({ reports: { CBR: { caseTypes: ['CrossBorderRecovery'] } } });
    try {
      const settings = settingsFor(fresh);
      const h = env.harness(settings, undefined, 'icw-poll-cbr');
      const client = new IcaseworkClient(h.ctx, settings);
      const a = await client.createCase({ Type: 'CrossBorderRecovery' });
      await client.createCase({ Type: 'Complaint' });
      await client.addCaseNotes({ Notes: 'sent by the hub', CaseId: a.caseId });
      fresh.addCaseworkerNote(a.caseId, 'by a person');
      await source.poll(h.ctx, h.emit, { reportId: 'CBR', excludeNoteAuthors: ['Web Service'] });
      expect(h.emitted.map((e) => e.case.source.id)).toEqual([a.caseId]);
      expect(h.emitted[0].case.notes!.map((x) => x.text)).toEqual(['by a person']);
    } finally {
      await fresh.stop();
    }
  });

  it('an unknown report fails permanently; a poll failure emits nothing and remembers nothing', async () => {
    const fresh = await startSandbox();
    try {
      const settings = settingsFor(fresh);
      const h = env.harness(settings, undefined, 'icw-poll-err');
      await new IcaseworkClient(h.ctx, settings).createCase({ Type: 'Complaint' });
      const err = (await source.poll(h.ctx, h.emit, { reportId: 'NOPE' }).catch((e: unknown) => e)) as { retryable: boolean };
      expect(err.retryable).toBe(false);
      fresh.failNext('getcasedetails', { status: 500, body: 'x', times: 3 });
      await expect(source.poll(h.ctx, h.emit, { reportId: 'CASEWAY-ALL' })).rejects.toMatchObject({ retryable: true });
      expect(h.emitted).toHaveLength(0);
      await source.poll(h.ctx, h.emit, { reportId: 'CASEWAY-ALL' });
      expect(h.emitted).toHaveLength(1);
    } finally {
      await fresh.stop();
    }
  });
});
