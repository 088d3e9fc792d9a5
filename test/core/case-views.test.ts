/**
 * One canonical case per real-world case (issue 12): per-system views and the merged case, echoes of the hub's own
 * deliveries recognised from its delivery records, the timeline's story, and onExisting passed to the action.
 * A real hub with the ETD intake, the iCasework sandbox (over HTTP, its report polled) and the recorder fixture.
 */
import fc from 'fast-check';
import { validEtdApp } from '../../adapters/etd/test/arbitraries';
import { edit, postJson, request, validBody } from '../../adapters/etd/test/support';
import type { CanonicalCase, CrossReference } from '../../src/core/model/canonical.generated';
import { PAYLOAD_REFS_FIELD } from '../../src/core/store/view-store';
import { eventually, type TestHub } from '../helpers/hub';
import { OPERATOR, OpsClient, VIEWER, opsUsersYaml, startOpsHub } from '../ops/helpers';

const KEY = 'case-views-test-key-0123456789';
const YAML = `
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys:
          - { name: etd-web-form, key: "\${CV_FORM_KEY}" }
  icasework:
    adapter: icasework
    sandbox: true
    # No excludeNoteAuthors: the notes the hub posted come back, and the core must know them as its own.
    sources: { report: { everyMs: 200, options: { reportId: CASEWAY-ALL } } }
    delivery: { attempts: 3, backoffMs: 50 }
  rec:
    adapter: recorder
routes:
  - name: etd-to-icasework
    from: { connection: etd-form, source: application }
    to:
      - connection: icasework
        action: createCase
        options: { caseType: EmergencyTravelDocument, customerRole: applicant }
        mapping: { set: { summary: ETD application } }
      - { id: rec-linked, connection: rec, action: record, onExisting: create-linked }
  - name: icasework-to-rec
    from: { connection: icasework, source: report }
    to:
      - { connection: rec, action: record }
`;

interface TraceEntry {
  stage: string;
  route?: string;
  connection?: string;
  summary?: Record<string, unknown>;
}
interface CaseReply {
  hubId: string;
  case: CanonicalCase;
  references: CrossReference[];
  meta: { sourceConnection: string; sourceSystem: string };
  views: Array<{ system: string; connection: string; eventId: string; at: string; origin: boolean }>;
  unavailableViews: string[];
}

describe('views, merged case and echoes', () => {
  let t: TestHub;
  let icw: string;
  const get = async <T>(path: string): Promise<T> => {
    const reply = await request(`${t.baseUrl}${path}`, { method: 'GET' });
    if (reply.status !== 200) throw new Error(`GET ${path}: ${reply.status}`);
    return reply.json as T;
  };
  const trace = async (id: string) => (await get<{ trace: TraceEntry[] }>(`/api/cases/${encodeURIComponent(id)}/trace`)).trace;
  const caseOf = (id: string) => get<CaseReply>(`/api/cases/${encodeURIComponent(id)}`);
  const submit = async (body: unknown): Promise<string> => {
    const reply = await postJson(`${t.baseUrl}/etd/application`, body, { 'X-API-Key': KEY });
    if (reply.status !== 200) throw new Error(`ETD intake answered ${reply.status}: ${JSON.stringify(reply.json)}`);
    return (reply.json as { appRefNumber: string }).appRefNumber;
  };
  /** Delivered to iCasework and echoed back at least once. */
  const roundTrip = async (appRef: string): Promise<{ caseid: string; entries: TraceEntry[] }> => {
    const caseid = await eventually(async () => (await caseOf(appRef)).references.find((r) => r.system === 'icasework' && r.kind === 'caseid')?.id, 15000, 'the iCasework caseid');
    const entries = await eventually(async () => {
      const list = await trace(appRef);
      return list.some((e) => e.stage === 'echo' && e.connection === 'icasework') ? list : undefined;
    }, 15000, 'the echo from icasework');
    return { caseid, entries };
  };

  beforeAll(async () => {
    process.env.CV_FORM_KEY = KEY;
    t = await startOpsHub({ yaml: (await opsUsersYaml()) + YAML });
    icw = t.hub.sandboxes.get('icasework')?.urls.api ?? '';
  });
  afterAll(async () => {
    delete process.env.CV_FORM_KEY;
    await t?.stop();
  });
  let notedCase = '';

  it('keeps the ETD case whole after the iCasework echo: merged case = ETD view + iCasework caseid; one echo, never routed', async () => {
    const appRef = await submit(validBody());
    const { caseid, entries } = await roundTrip(appRef);
    const reply = await caseOf(appRef);
    const etdView = (await get<{ view: { case: CanonicalCase } }>(`/api/cases/${appRef}/views/etd-form`)).view.case;
    expect(reply.meta).toMatchObject({ sourceConnection: 'etd-form', sourceSystem: 'etd' });
    expect(reply.views.map((v) => [v.connection, v.origin])).toEqual([['etd-form', true]]);
    expect(reply.case.source).toMatchObject({ system: 'etd', connection: 'etd-form', id: appRef });
    expect(reply.case.parties).toEqual(etdView.parties);
    expect(reply.case.extensions?.etd).toEqual(etdView.extensions?.etd);
    expect(reply.case.parties?.find((p) => p.roles.includes('applicant'))?.person?.identityDocuments?.length).toBeGreaterThan(0);
    expect(reply.case.references).toEqual(expect.arrayContaining([{ system: 'icasework', connection: 'icasework', id: caseid, kind: 'caseid' }]));

    // The echo: traced as such, counted, not a view, not routed, nothing "received" or "filtered" from iCasework.
    const fromIcw = entries.filter((e) => e.connection === 'icasework' && e.stage !== 'routed' && e.stage !== 'delivered' && e.stage !== 'skipped');
    expect(new Set(fromIcw.map((e) => e.stage))).toEqual(new Set(['echo']));
    expect(entries.filter((e) => e.route === 'icasework-to-rec')).toEqual([]);
    const stats = (await get<{ routes: Array<{ name: string; stats: Record<string, number> }> }>('/api/routes')).routes.find((r) => r.name === 'icasework-to-rec')!.stats;
    expect(stats.echo).toBeGreaterThanOrEqual(1);
    expect(stats.received).toBe(stats.echo + stats.routed + stats.filtered + stats.deduplicated);
  });

  it("treats a caseworker's note as news: a view from icasework is added, joined by its caseid, and routed", async () => {
    const appRef = await submit(validBody());
    const { caseid } = await roundTrip(appRef);
    const noted = await request(`${icw}/_sandbox/cases/${caseid}/notes`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ text: 'Called the applicant back', author: 'Caseworker Test' }) });
    expect(noted.status).toBe(201);
    const entries = await eventually(async () => {
      const list = await trace(appRef);
      return list.some((e) => e.stage === 'received' && e.connection === 'icasework') ? list : undefined;
    }, 15000, 'the caseworker note as a real event');
    const joined = entries.find((e) => e.stage === 'joined');
    expect(joined?.summary).toMatchObject({ system: 'icasework', kind: 'caseid', id: caseid });
    expect(entries.find((e) => e.stage === 'received' && e.connection === 'icasework')?.summary).toMatchObject({ view: 'added' });
    await eventually(async () => (await trace(appRef)).some((e) => e.stage === 'delivered' && e.route === 'icasework-to-rec'), 15000, 'routed to the recorder');

    const reply = await caseOf(appRef);
    expect(reply.views.map((v) => [v.connection, v.origin])).toEqual([['etd-form', true], ['icasework', false]]);
    expect(reply.meta.sourceConnection).toBe('etd-form');
    // Both first views are kept as references to their event's payload: the origin's and the one iCasework's note added.
    const refs = (await t.redis.hget(t.hub.runtime.keys.views(reply.hubId), PAYLOAD_REFS_FIELD)) ?? '';
    expect(refs.split('\n').map((line) => line.split(' ')[0]).sort()).toEqual(['etd-form', 'icasework']);
    // The later view adds its note; the person stays the ETD applicant's, with the passport details iCasework lacks.
    expect(reply.case.notes?.map((n) => n.text)).toContain('Called the applicant back');
    const etdView = (await get<{ view: { case: CanonicalCase } }>(`/api/cases/${appRef}/views/etd-form`)).view.case;
    expect(reply.case.parties).toEqual(etdView.parties);
    expect(reply.case.type).toBe('etd-application');

    // A status the caseworker sets is the system's own change (status: latest), not an echo.
    const before = (await trace(appRef)).length;
    const status = await request(`${icw}/_sandbox/cases/${caseid}/status`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ status: 'Closed', closed: true }) });
    expect(status.status).toBe(204);
    await eventually(async () => (await trace(appRef)).slice(before).some((e) => e.stage === 'received' && e.connection === 'icasework'), 15000, 'the status change as a real event');
    expect((await caseOf(appRef)).case.status).toBe('Closed');
    notedCase = appRef;
  });

  it('the ops case page tells the story: origin, each view (content masked for viewers), the join, echoes folded', async () => {
    expect(notedCase).not.toBe('');
    const { hubId } = await caseOf(notedCase);
    const surname = 'Example';
    const pageAs = async (user: { name: string; password: string }) => {
      const client = new OpsClient(t.baseUrl);
      expect((await client.login(user)).status).toBe(303);
      const page = await client.get(`/ops/cases/${encodeURIComponent(hubId)}`);
      expect(page.status).toBe(200);
      return page.data as string;
    };
    const viewer = await pageAs(VIEWER);
    expect(viewer).toContain('<span id="origin">from etd-form</span>');
    expect(viewer).toMatch(/<tr class="view" data-connection="etd-form" data-origin="true">/);
    expect(viewer).toMatch(/<tr class="view" data-connection="icasework" data-origin="false">/);
    expect(viewer).toContain('origin: case created from etd-form (application)');
    expect(viewer).toContain('view from icasework arrived');
    expect(viewer).toContain(`joined case ${hubId} by icasework caseid`);
    expect(viewer).toContain('echo from icasework, ignored');
    expect(viewer.match(/data-stage="echo"/g)?.length).toBe(1);
    expect(viewer).not.toContain(surname);
    expect(viewer).toContain('data-masked="true"');
    const operator = await pageAs(OPERATOR);
    expect(operator).toContain(surname);
  });

  it("passes each target's onExisting to its action (update when the route does not say)", async () => {
    const appRef = await submit(validBody());
    const { hubId } = await caseOf(appRef);
    const deliveries = await eventually(async () => {
      const raw = await t.redis.hgetall(`${t.prefix}state:rec:deliveries`);
      const list = Object.values(raw).map((v) => JSON.parse(v) as { hubId: string; route: string; onExisting: string | null });
      return list.some((d) => d.hubId === hubId && d.route === 'etd-to-icasework') ? list : undefined;
    }, 15000, 'the recorder delivery');
    expect(deliveries.filter((d) => d.hubId === hubId && d.route === 'etd-to-icasework').map((d) => d.onExisting)).toEqual(['create-linked']);
    expect(deliveries.filter((d) => d.route === 'icasework-to-rec').every((d) => d.onExisting === 'update')).toBe(true);
  });

  it('round trips keep data: for generated ETD applications, ETD -> hub -> iCasework -> echo -> hub leaves the merged case equal to the ETD view plus the iCasework ids', async () => {
    await fc.assert(
      fc.asyncProperty(validEtdApp, async (etdApp) => {
        const appRef = await submit({ etdApp });
        const { caseid, entries } = await roundTrip(appRef);
        expect(entries.filter((e) => e.connection === 'icasework' && e.stage === 'received')).toEqual([]);
        const reply = await caseOf(appRef);
        const view = (await get<{ view: { case: CanonicalCase } }>(`/api/cases/${appRef}/views/etd-form`)).view.case;
        const { references: viewRefs, ...rest } = view;
        const { references: mergedRefs, hubId, ...merged } = reply.case as CanonicalCase & { hubId: string };
        expect(hubId).toBe(reply.hubId);
        expect(merged).toEqual(rest);
        const added = (mergedRefs ?? []).filter((r) => r.system !== 'recorder' && !(viewRefs ?? []).some((v) => v.system === r.system && v.id === r.id));
        expect(added).toEqual([{ system: 'icasework', connection: 'icasework', id: caseid, kind: 'caseid' }]);
      }),
      { numRuns: 6 },
    );
  }, 180000);

  it("names a view whose event payload is gone (a failover's loss, emulated) in the case API and on the case page, instead of leaving it out unseen", async () => {
    const appRef = await submit(edit(validBody(), 'etdApp.appDetails.surname', 'Unavailable'));
    await roundTrip(appRef);
    const before = await caseOf(appRef);
    expect(before.unavailableViews).toEqual([]);
    // The origin's view is a reference to its event's payload: delete that payload, as a failover's loss would.
    const refs = (await t.redis.hget(t.hub.runtime.keys.views(before.hubId), PAYLOAD_REFS_FIELD)) ?? '';
    const eventKey = refs.split('\n').find((line) => line.startsWith('etd-form '))?.split(' ')[1];
    expect(eventKey).toBeDefined();
    expect(await t.redis.del(t.hub.runtime.keys.payload(eventKey ?? ''))).toBe(1);

    const after = await caseOf(appRef);
    expect(after.unavailableViews).toEqual(['etd-form']);
    expect(after.views.map((v) => v.connection)).not.toContain('etd-form');
    const client = new OpsClient(t.baseUrl);
    expect((await client.login(VIEWER)).status).toBe(303);
    const page = (await client.get(`/ops/cases/${encodeURIComponent(before.hubId)}`)).data as string;
    expect(page).toMatch(/<tr class="view-unavailable" data-connection="etd-form">/);
    expect(page).toContain("its event's stored case is gone");
    expect(page).not.toMatch(/<tr class="view" data-connection="etd-form"/);
  });
});
