/**
 * In a real hub: a case delivered with importCase is imported by the sandbox iSupport, whose import notice (posted to
 * the notices webhook, as a mail relay would) makes the application id a cross-reference
 * {system:'isupport', kind:'applicationId'} of that same hub case, and of no other.
 */
import axios from 'axios';
import type { IsupportSandbox } from '../sandbox';
import { eventually, startTestHub, type TestHub } from '../../../test/helpers/hub';
import { icaseworkCase } from './helpers/fixtures';

const YAML = `
connections:
  rec:
    adapter: recorder
    sources:
      inbox: {}
  isupport:
    adapter: isupport
    sandbox: true
    settings:
      polling: { stableWaitMs: 0 }
    sources:
      notices: {}
routes:
  - name: to-isupport
    from: { connection: rec, source: inbox }
    to:
      - connection: isupport
        action: importCase
  # A webhook source is mounted for the routes it feeds; the link events of import notices are filtered out here.
  - name: isupport-exports
    from: { connection: isupport, source: notices }
    filter: { path: extensions.isupport.notice, exists: false }
    to:
      - connection: rec
        action: record
`;

let t: TestHub | undefined;
afterAll(async () => {
  await t?.stop();
});

interface CaseView {
  hubId: string;
  references: Array<{ system: string; id: string; kind?: string; connection?: string }>;
}

test('the import notice records the application id on the hub case that was imported', async () => {
  t = await startTestHub({ yaml: YAML });
  const sandbox = t.hub.sandboxes.get('isupport') as IsupportSandbox;
  const post = (eventId: string, id: string) => axios.post(`${t!.baseUrl}/recorder/inbox`, { eventId, case: icaseworkCase({ source: { system: 'recorder', id } }) });
  const [first] = (await post('e-1', 'CASE-A')).data.results as Array<{ hubId: string }>;
  const [other] = (await post('e-2', 'CASE-B')).data.results as Array<{ hubId: string }>;
  const view = async (id: string) => (await axios.get<CaseView>(`${t!.baseUrl}/api/cases/${encodeURIComponent(id)}`)).data;

  // importCase delivered (its request id is a reference of the case), the sandbox imported it and mailed the notice.
  const requestId = await eventually(async () => (await view(first.hubId)).references.find((r) => r.kind === 'requestId')?.id, 20000, 'the import delivery');
  const mail = await sandbox.waitForMail((m) => m.text.includes(`( ${requestId} )`), 20000);
  const applicationId = sandbox.imported().find((i) => i.requestId === requestId)!.applicationId;

  const res = await axios.post(`${t.baseUrl}/isupport/isupport/notices`, mail.raw, { headers: { 'content-type': 'message/rfc822' } });
  expect(res.data).toEqual({ kind: 'import', requestId, applicationId, hubId: first.hubId });

  const after = await view(first.hubId);
  expect(after.references).toEqual(expect.arrayContaining([{ system: 'isupport', connection: 'isupport', id: applicationId, kind: 'applicationId' }]));
  // The application id now finds the case, and the other case did not get it.
  expect((await view(applicationId)).hubId).toBe(first.hubId);
  expect((await view(other.hubId)).references.some((r) => r.kind === 'applicationId')).toBe(false);
  // The link event itself was not routed anywhere.
  const trace = (await axios.get<{ trace: Array<{ stage: string; route?: string }> }>(`${t.baseUrl}/api/cases/${first.hubId}/trace`)).data.trace;
  expect(trace.filter((e) => e.route === 'isupport-exports').map((e) => e.stage)).toEqual(['filtered']);
});
