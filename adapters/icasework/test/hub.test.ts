/**
 * Through a real hub: the delivery worker records each attempt before calling the adapter, so a first attempt
 * costs iCasework exactly one call (createcase carrying the ExternalId) and a retry after a lost createcase reply
 * finds the case by ExternalId; the trace shows the uncertain attempt and that a look-up decided the retry.
 */
import axios from 'axios';
import { eventually, type TestHub } from '../../../test/helpers/hub';
import type { IcaseworkSandbox } from '../sandbox';
import { hubToSandbox, startSandbox } from './fixtures';

interface TraceEntry {
  stage: string;
  connection?: string;
  attempt?: number;
  summary?: Record<string, unknown>;
}

describe('iCasework through the hub', () => {
  let sandbox: IcaseworkSandbox;
  let t: TestHub;

  beforeAll(async () => {
    sandbox = await startSandbox();
    t = await hubToSandbox(sandbox, { settings: { timeoutMs: 5000 }, delivery: '{ attempts: 3, backoffMs: 50 }' });
  });
  afterAll(async () => {
    await t?.stop();
    await sandbox?.stop();
  });

  const post = async (eventId: string, notes: Array<{ text: string }> = []): Promise<string> => {
    const kase = { type: 'complaint', source: { system: 'recorder', id: eventId }, parties: [{ roles: ['customer'], person: { surname: 'Zyxwvutsrq' } }], notes };
    const { data } = await axios.post(`${t.baseUrl}/recorder/inbox`, { eventId, case: kase });
    return data.results[0].hubId as string;
  };
  const trace = async (hubId: string): Promise<TraceEntry[]> =>
    ((await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`)).data as { trace: TraceEntry[] }).trace.filter((e) => e.connection === 'icw' && e.stage !== 'routed');
  const callsFor = (hubId: string) => sandbox.requests.filter((r) => r.params.ExternalId === hubId || (r.params.CaseId !== undefined && sandbox.getCase(r.params.CaseId)?.externalId === hubId)).map((r) => r.op);

  it('a first attempt costs one createcase per case, one addcasenotes per note, and no look-up', async () => {
    const plain = await post('ev-plain');
    const noted = await post('ev-noted', [{ text: 'a note' }]);
    await eventually(async () => (await trace(plain)).some((e) => e.stage === 'delivered') && (await trace(noted)).some((e) => e.stage === 'delivered'), 15000, 'both delivered');
    expect(callsFor(plain)).toEqual(['createcase']);
    expect(callsFor(noted)).toEqual(['createcase', 'addcasenotes']);
    expect((await trace(plain))[0].summary).toMatchObject({ via: 'createcase', lookedUp: false, externalIdLinked: true });
  });

  it('a lost createcase reply: retried, found by ExternalId, one case; the trace shows the uncertain attempt and the look-up', async () => {
    sandbox.failNext('createcase', { dropReply: true });
    const hubId = await post('ev-lost');
    await eventually(async () => (await trace(hubId)).some((e) => e.stage === 'delivered'), 15000, 'delivered after a lost reply');
    expect(sandbox.cases().filter((c) => c.externalId === hubId)).toHaveLength(1);
    expect(callsFor(hubId)).toEqual(['createcase', 'getcasedetails']);
    const entries = await trace(hubId);
    expect(entries.map((e) => [e.stage, e.summary?.outcome ?? null])).toEqual([
      ['retrying', 'uncertain'],
      ['delivered', null],
    ]);
    expect(entries[1].summary).toMatchObject({ via: 'lookup', created: false, afterUncertainOutcome: true });
  });
});
