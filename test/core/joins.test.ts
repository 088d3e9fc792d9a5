/**
 * Joins the integrator controls: a source's `join` says whether its events find a hub case by their own peer id only,
 * or also by the references they carry; a join shows in the trace as "joined case X by <system> <kind>".
 */
import { postJson, request, validBody } from '../../adapters/etd/test/support';
import { startTestHub, type TestHub } from '../helpers/hub';

const KEY = 'joins-test-key-0123456789abcdef';
const yaml = (join: string) => `
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys:
          - { name: etd-web-form, key: "\${JOIN_FORM_KEY}" }
  rec:
    adapter: recorder
    ${join ? `sources: { inbox: { join: ${join} } }` : ''}
routes:
  - name: etd-nowhere
    from: { connection: etd-form, source: application }
    filter: { path: type, equals: never }
    to:
      - { connection: rec, action: record }
  - name: rec-nowhere
    from: { connection: rec, source: inbox }
    filter: { path: type, equals: never }
    to:
      - { connection: rec, action: record }
`;

interface TraceEntry {
  stage: string;
  connection?: string;
  summary?: Record<string, unknown>;
}

describe('joins', () => {
  let t: TestHub | undefined;
  afterEach(async () => {
    await t?.stop();
    t = undefined;
  });

  async function scenario(join: string): Promise<{ etdHubId: string; recHubId: string; trace: TraceEntry[]; views: Array<{ connection: string; origin: boolean }> }> {
    t = await startTestHub({ yaml: yaml(join), env: { JOIN_FORM_KEY: KEY } });
    const reply = await postJson(`${t.baseUrl}/etd/application`, validBody(), { 'X-API-Key': KEY });
    const appRef = (reply.json as { appRefNumber: string }).appRefNumber;
    const etdHubId = ((await request(`${t.baseUrl}/api/cases/${appRef}`, { method: 'GET' })).json as { hubId: string }).hubId;
    // Another system's record of the same person, naming the ETD application among its references.
    const posted = await postJson(`${t.baseUrl}/recorder/inbox`, {
      eventId: 'rec-1',
      case: { type: 'beneficiary', status: 'declined', source: { system: 'recorder', id: 'R-1' }, parties: [], references: [{ system: 'etd', connection: 'etd-form', id: appRef, kind: 'appRefNumber' }] },
    });
    const recHubId = (posted.json as { results: Array<{ hubId: string }> }).results[0].hubId;
    const trace = ((await request(`${t.baseUrl}/api/cases/${recHubId}/trace`, { method: 'GET' })).json as { trace: TraceEntry[] }).trace;
    const views = ((await request(`${t.baseUrl}/api/cases/${recHubId}`, { method: 'GET' })).json as { views: Array<{ connection: string; origin: boolean }> }).views;
    return { etdHubId, recHubId, trace, views };
  }

  it('references (the default for a connection routes deliver to): joins the case its reference names, and says so', async () => {
    const s = await scenario('');
    expect(s.recHubId).toBe(s.etdHubId);
    expect(s.trace.find((e) => e.stage === 'joined')?.summary).toMatchObject({ hubId: s.etdHubId, system: 'etd', kind: 'appRefNumber', join: 'references' });
    expect(s.views.map((v) => [v.connection, v.origin])).toEqual([['etd-form', true], ['rec', false]]);
  });

  it('own-id: the same event starts its own case and joins nothing', async () => {
    const s = await scenario('own-id');
    expect(s.recHubId).not.toBe(s.etdHubId);
    expect(s.trace.some((e) => e.stage === 'joined')).toBe(false);
    expect(s.trace.find((e) => e.stage === 'received')?.summary).toMatchObject({ view: 'origin' });
    expect(s.views.map((v) => [v.connection, v.origin])).toEqual([['rec', true]]);
  });
});
