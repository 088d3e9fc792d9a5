/**
 * The benchmarks' direct-mode recorder (bench/lib/peer-recorder.ts) must take the same records as the fault proxy,
 * or the bench's calls per case, duplicates and lost cases would be counted wrongly. Here every request goes through
 * a FaultProxy to a real iCasework sandbox in this process, and the recorder observes the sandbox's own server: both
 * see each request once, so their records must be equal (but for the time of the answer). Requests to other
 * servers of the process (the proxy's own) must not be recorded.
 */
import { FaultProxy, tokenOf, type ProxyRecord } from '../../bench/lib/fault-proxy';
import { PeerRecorder } from '../../bench/lib/peer-recorder';
import type { IcaseworkSandbox } from '../../adapters/icasework/sandbox';
import { adapter, deliveryRequest, sampleCase, settingsFor, startSandbox, testEnv } from '../../adapters/icasework/test/fixtures';
import { eventually } from '../helpers/hub';

describe('the direct recorder takes the records the fault proxy takes', () => {
  const env = testEnv();
  let sandbox: IcaseworkSandbox;
  let proxy: FaultProxy;
  let recorder: PeerRecorder;

  beforeAll(async () => {
    sandbox = await startSandbox();
    proxy = await new FaultProxy(sandbox.apiUrl).start();
    recorder = new PeerRecorder(Number(new URL(sandbox.apiUrl).port)).start();
  });
  afterAll(async () => {
    recorder.stop();
    await proxy.stop();
    await sandbox.stop();
    await env.redis.cleanup();
  });

  const comparable = (records: ProxyRecord[]) => records.map(({ at: _at, ...rest }) => rest);

  it('createcase (its caseid from the reply), addcasenotes (their fingerprints), look-ups, a refused call', async () => {
    const token = tokenOf(7, 1);
    const h = env.harness(settingsFor(sandbox, { baseUrl: proxy.url }));
    const kase = sampleCase({ summary: `Application ${token}` });
    const created = await adapter.actions.createCase.deliver(deliveryRequest(kase, 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-rec-1' }), h.ctx);
    // Signed with a key the sandbox does not know: its look-up is refused with 400 and an error page.
    const refused = env.harness(settingsFor(sandbox, { baseUrl: proxy.url, key: 'not-a-key' }));
    await expect(adapter.actions.createCase.deliver(deliveryRequest(kase, 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-rec-2' }), refused.ctx)).rejects.toThrow();

    await eventually(async () => recorder.records.length === proxy.records.length && recorder.records.every((r) => r.status !== 0), 5000, 'the recorder to see every answer');
    const ops = proxy.records.map((r) => `${r.op} ${r.status}`);
    expect(ops).toEqual(expect.arrayContaining(['createcase 200', 'addcasenotes 200']));
    expect(ops.some((o) => / 4\d\d$/.test(o))).toBe(true);
    // What the counts are made of is there: the token, the created caseid, the notes' fingerprints.
    const create = proxy.records.find((r) => r.op === 'createcase' && r.status === 200);
    expect(create).toMatchObject({ token, caseId: created.references![0].id });
    expect(proxy.records.filter((r) => r.op === 'addcasenotes').every((r) => r.note !== undefined)).toBe(true);
    expect(comparable(recorder.records)).toEqual(comparable(proxy.records));
  });
});
