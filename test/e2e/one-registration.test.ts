/**
 * Issue 12, "Done when": a 121 registration created, paused and declined inside one poll interval gives one hub case
 * and exactly one iCasework follow-up case. Real hub, the 121 and iCasework sandboxes over HTTP; the events source is
 * polled by hand once, so all three changes arrive in one batch.
 */
import axios from 'axios';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';

// The poll reads events from just before the test (the source's cursor starts there).
const STARTED = new Date(Date.now() - 1000).toISOString();
const YAML = `
connections:
  platform121:
    adapter: platform121
    sandbox: true
    settings: { sandbox: { statusApplyDelayMs: 0 } }
    # Scheduled polls are an hour apart: the test polls once, by hand, after all three changes.
    sources:
      events: { everyMs: 3600000, options: { startAt: "${STARTED}" } }
  icasework:
    adapter: icasework
    sandbox: true
    delivery: { attempts: 3, backoffMs: 50 }
routes:
  - name: declined-registrations-to-icasework
    from: { connection: platform121, source: events }
    filter:
      all:
        - { path: "events[0].type", equals: status-change }
        - { path: status, in: [declined, paused] }
    to:
      - connection: icasework
        action: createCase
        options: { caseType: CashAssistanceFollowUp, customerRole: beneficiary }
        onExisting: create-linked
`;

interface TraceEntry {
  stage: string;
  connection?: string;
  route?: string;
}

describe('one 121 registration, several changes in one poll', () => {
  let t: TestHub;
  let api121 = '';
  let control121 = '';
  let icwControl = '';

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML });
    api121 = t.hub.sandboxes.get('platform121')?.urls.api ?? '';
    control121 = t.hub.sandboxes.get('platform121')?.urls.control ?? '';
    icwControl = `${new URL(t.hub.sandboxes.get('icasework')?.urls.api ?? '').origin}/_sandbox`;
  });
  afterAll(async () => t?.stop());

  const followUps = async () =>
    ((await axios.get(`${icwControl}/cases`)).data as Array<{ caseId: string; type?: string; Type?: string }>).filter((c) => (c.type ?? c.Type) === 'CashAssistanceFollowUp');

  it('creates, pauses and declines a registration before the poll: one hub case, one iCasework follow-up', async () => {
    // The scheduler's first poll runs at start; let it finish, so the next poll is the one this test makes.
    await eventually(async () => t.hub.runtime.redis.hget(t.hub.runtime.keys.health('platform121'), 'poll:events:lastRun'), 20000, 'the first scheduled poll');
    // A 121 user registers a person (the 121 API, as the portal would), pauses and then declines the registration.
    const login = await axios.post(`${api121}/users/login`, { username: 'admin@example.org', password: 'password' });
    const cookie = `access_token_general=${login.data.access_token_general as string}`;
    const referenceId = `one-poll-${Date.now().toString(36)}`;
    const created = await axios.post(
      `${api121}/programs/2/registrations`,
      [{ referenceId, preferredLanguage: 'en', fullName: 'Sansa Stark', dob: '02-03-1996', house: 'stark', dragon: 0, knowsNothing: false, phoneNumber: '14155235556', programFspConfigurationName: 'ironBank', whatsappPhoneNumber: '14155235556', motto: 'The north remembers' }],
      { headers: { Cookie: cookie }, validateStatus: () => true },
    );
    expect(created.status).toBeLessThan(300);
    await axios.post(`${control121}/programs/2/registrations/${referenceId}/status`, { status: 'paused', reason: 'Documents missing' });
    await axios.post(`${control121}/programs/2/registrations/${referenceId}/status`, { status: 'declined', reason: 'Not eligible' });
    const regs = (await axios.get(`${control121}/programs/2/registrations`)).data as Array<{ id: number; referenceId: string; status: string }>;
    const reg = regs.find((r) => r.referenceId === referenceId);
    expect(reg?.status).toBe('declined');
    const events = (await axios.get(`${control121}/programs/2/events`)).data as Array<{ registrationId: number; type: string; newValue: string }>;
    expect(events.filter((e) => e.registrationId === reg?.id && e.type === 'registrationStatusChange').map((e) => e.newValue)).toEqual(['new', 'paused', 'declined']);

    // One poll brings all of it, in one batch.
    const emitted = await t.hub.polls.run('platform121', 'events');
    expect(emitted).toBeGreaterThanOrEqual(2);

    // One hub case: the registration's referenceId finds it, and every event of the batch landed on it.
    const { data: found } = await axios.get(`${t.baseUrl}/api/cases/${encodeURIComponent(referenceId)}`);
    const hubId = found.hubId as string;
    const trace = async () => ((await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`)).data as { trace: TraceEntry[] }).trace;
    await eventually(async () => (await trace()).filter((e) => e.stage === 'delivered' && e.connection === 'icasework').length >= 2, 20000, 'both status changes delivered');
    const received = (await trace()).filter((e) => e.stage === 'received' && e.connection === 'platform121');
    expect(received.length).toBeGreaterThanOrEqual(2);

    // Exactly one follow-up case for the person: the paused change created it, the decline reused it.
    const cases = await followUps();
    expect(cases).toHaveLength(1);
    const { data: after } = await axios.get(`${t.baseUrl}/api/cases/${encodeURIComponent(referenceId)}`);
    expect(after.hubId).toBe(hubId);
    expect(after.references).toEqual(expect.arrayContaining([expect.objectContaining({ system: 'icasework', id: cases[0].caseId })]));
  });
});
