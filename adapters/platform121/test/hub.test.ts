/**
 * Through a real hub with the 121 sandbox: a case from another system becomes a registration (upsertRegistration),
 * a status change made in the 121 portal comes back through the events source and a route filtered on
 * declined/paused status changes, and the case's notes flow to 121 as notes.
 */
import axios from 'axios';
import { RedisConnectionState } from '../../../src/core/store/connection-state';
import { eventually, startTestHub, type TestHub } from '../../../test/helpers/hub';

const YAML = `
connections:
  inbox: { adapter: recorder }
  casework: { adapter: recorder }
  p121:
    adapter: platform121
    sandbox: true
    settings:
      batchWaitMs: 20
      statusConfirmIntervalMs: 50
      sandbox: { statusApplyDelayMs: 50 }
    delivery: { attempts: 3, backoffMs: 50 }
    sources:
      events: { everyMs: 200, options: { startAt: now } }
routes:
  - name: intake-to-121
    from: { connection: inbox, source: inbox }
    filter: { path: notes, exists: false }
    to:
      - { connection: p121, action: upsertRegistration }
  - name: notes-to-121
    from: { connection: inbox, source: inbox }
    filter: { path: notes, exists: true }
    to:
      - { connection: p121, action: addNote, options: { prefix: "[casework] " } }
  - name: declined-in-121
    from: { connection: p121, source: events }
    filter:
      all:
        - { path: status, in: [declined, paused] }
        - { path: "events[0].type", equals: status-change }
    to:
      - { connection: casework, action: record }
`;

interface TraceEntry {
  stage: string;
  connection?: string;
  summary?: Record<string, unknown>;
}

function inboxCase(notes?: Array<{ text: string }>) {
  return {
    type: 'complaint',
    source: { system: 'recorder', id: 'case-121-1' },
    parties: [
      {
        roles: ['customer'],
        person: { forenames: 'Brienne', surname: 'Tarth', language: 'en', birthDate: '1991-03-03', attributes: { house: 'lannister' } },
        contacts: [{ kind: 'mobile', value: '+31 6 1234 5678' }],
      },
    ],
    ...(notes ? { notes } : {}),
  };
}

describe('platform121 through the hub', () => {
  let t: TestHub;
  let control: string;
  let casework: RedisConnectionState;

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML });
    control = t.hub.sandboxes.get('p121')?.urls.control ?? '';
    casework = new RedisConnectionState(t.redis, t.prefix, 'casework');
  });
  afterAll(async () => t?.stop());

  const trace = async (hubId: string) => ((await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`)).data as { trace: TraceEntry[] }).trace;

  it('creates the registration, brings a portal decline back as a case update, and posts the notes', async () => {
    const { data } = await axios.post(`${t.baseUrl}/recorder/inbox`, { eventId: 'in-1', case: inboxCase() });
    const hubId = data.results[0].hubId as string;
    const delivered = await eventually(async () => (await trace(hubId)).find((e) => e.stage === 'delivered' && e.connection === 'p121'), 15000, 'upsert delivered');
    expect(delivered.summary).toEqual(expect.objectContaining({ outcome: 'created', programId: 2 }));
    const referenceId = String(delivered.summary?.referenceId);
    expect(referenceId).toMatch(/^cw-[0-9a-f]{32}$/);
    const regs = (await axios.get(`${control}/programs/2/registrations`)).data as Array<Record<string, unknown>>;
    expect(regs.find((r) => r.referenceId === referenceId)).toEqual(
      expect.objectContaining({ fullName: 'Brienne Tarth', phoneNumber: '31612345678', house: 'lannister', dob: '03-03-1991' }),
    );

    // A 121 user declines the registration in the portal.
    await axios.post(`${control}/programs/2/registrations/${referenceId}/status`, { status: 'declined', reason: 'Not eligible' });
    const record = await eventually(
      async () => Object.values(await casework.hashGetAll('deliveries')).map((v) => JSON.parse(v) as Record<string, unknown>)[0],
      15000,
      'decline delivered to casework',
    );
    expect(record).toEqual(expect.objectContaining({ route: 'declined-in-121', type: 'cash-assistance', status: 'declined' }));
    // The hub recognised the 121 registration (cross-reference) as the same case.
    expect(record.hubId).toBe(hubId);
    const { data: found } = await axios.get(`${t.baseUrl}/api/cases/${encodeURIComponent(String(record.hubId))}`);
    // The merged case keeps the origin's person (config hub.merge.parties: origin); 121's own view has its fullName.
    expect(found.case.parties[0].person).toEqual(expect.objectContaining({ forenames: 'Brienne', surname: 'Tarth' }));
    expect(found.case.status).toBe('declined');
    const { data: view121 } = await axios.get(`${t.baseUrl}/api/cases/${encodeURIComponent(hubId)}/views/p121`);
    expect(view121.view.case.parties[0].person.fullName).toBe('Brienne Tarth');
    expect(found.case.events[0]).toEqual(expect.objectContaining({ type: 'status-change', newValue: 'declined', reason: 'Not eligible' }));

    // Notes added on the other side flow back to the registration.
    const { data: second } = await axios.post(`${t.baseUrl}/recorder/inbox`, {
      eventId: 'in-2',
      case: inboxCase([{ text: 'Phoned, will send documents' }, { text: 'Documents received' }]),
    });
    const hub2 = second.results[0].hubId as string;
    await eventually(async () => (await trace(hub2)).find((e) => e.stage === 'delivered' && e.connection === 'p121' && e.summary?.notesPosted === 2), 15000, 'notes delivered');
    const notes = (await axios.get(`${control}/registrations/${referenceId}/notes`)).data as Array<{ text: string }>;
    expect(notes.map((n) => n.text)).toEqual(['[casework] Phoned, will send documents', '[casework] Documents received']);
  });
});
