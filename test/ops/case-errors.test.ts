/**
 * The case page shows the error detail of every failed attempt and open dead letter with the same errorDetail() the
 * dead-letter and dry-run pages use: status, code, the hub's message and the field paths of a peer's 422. The peer's
 * own words (which may echo personal data) are only on the operator's peer-errors page, linked from the failure;
 * viewers see no link and are refused the page; each operator viewing is audited, and reading the case page is not.
 * Real hub, real Redis, the ETD sandbox over loopback answering 422 with two field errors.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import axios from 'axios';
import { EtdSandbox } from '../../adapters/etd/sandbox/server';
import { eventually } from '../helpers/hub';
import { OPERATOR, OpsClient, VIEWER, opsUsersYaml, startOpsHub, type OpsTestHub } from './helpers';

const FORM_KEY = 'case-errors-form-key-0123456789';
const SURNAME_MESSAGE = 'Surname Vonplantedberg does not match passport PLNT998877';
const DOC_MESSAGE = 'PLNT998877 is not valid';

describe('error detail on the case page', () => {
  let t: OpsTestHub;
  let etd: EtdSandbox;
  let hubId: string;
  const operator = () => new OpsClient(t.baseUrl);

  beforeAll(async () => {
    etd = await EtdSandbox.start({});
    const yaml = `${await opsUsersYaml()}
connections:
  etd-form:
    adapter: etd
    settings:
      inbound:
        apiKeys: [{ name: web-form, key: "${FORM_KEY}" }]
  iizuka:
    adapter: etd
    settings: ${JSON.stringify(etd.connectionSettings())}
    delivery: { attempts: 2, backoffMs: 20 }
routes:
  - name: etd-applications
    from: { connection: etd-form, source: application }
    to: [{ id: iizuka-application, connection: iizuka, action: submitApplication }]
`;
    t = await startOpsHub({ yaml, defaultMetrics: false });
    etd.failNext({ status: 422, body: { errors: [{ 'appDetails.surname': SURNAME_MESSAGE }, { 'passportDetails.docNumber': DOC_MESSAGE }] } });
    const application = JSON.parse(readFileSync(path.resolve(__dirname, '../../config/samples/etd-application.json'), 'utf8')) as unknown;
    const posted = await axios.post(`${t.baseUrl}/etd/application`, application, { headers: { 'X-API-Key': FORM_KEY } });
    expect(posted.status).toBe(200);
    const dead = await eventually(async () => (await t.hub.deadLetters.list('iizuka')).find(Boolean), 20000, 'the 422 dead letter');
    hubId = dead.hubId;
  });
  afterAll(async () => {
    await t?.stop();
    await etd?.stop();
  });

  const peerViewings = async () => (await t.hub.deadLetters.auditLog(1000)).filter((a) => a.action === 'view-peer-errors' && a.hubId === hubId);

  it("shows a viewer the 422's status, code, message and field paths, and not the peer's words nor a way to them", async () => {
    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    const res = await viewer.get(`/ops/cases/${hubId}`);
    expect(res.status).toBe(200);
    const page = res.data as string;
    const dlRow = /<table id="case-dead-letters">[\s\S]*?<\/table>/.exec(page)?.[0] ?? '';
    expect(dlRow).toContain('HTTP 422');
    expect(dlRow).toContain('rejected the application (422, 2 field error(s))');
    expect(dlRow).toContain('<code class="field-path">appDetails.surname</code>');
    expect(dlRow).toContain('<code class="field-path">passportDetails.docNumber</code>');
    expect(dlRow).toContain('<span class="badge bad">permanent</span>');
    expect(dlRow).toContain('operators can read them');
    // The timeline's dead hop carries the same detail.
    const deadHop = /<li class="stage-dead"[\s\S]*?<\/li>/.exec(page)?.[0] ?? '';
    expect(deadHop).toContain('<code class="field-path">appDetails.surname</code>');
    expect(deadHop).toContain('HTTP 422');
    // Not the peer's words, no link to them, and the page is refused.
    for (const s of ['Vonplantedberg', 'PLNT998877', 'is not valid']) expect([s, page.includes(s)]).toEqual([s, false]);
    expect(page).not.toContain('peer-detail-link');
    expect(page).not.toContain('id="peer-errors"');
    const refused = await viewer.get(`/ops/cases/${hubId}/peer-errors`);
    expect(refused.status).toBe(403);
    for (const s of ['Vonplantedberg', 'PLNT998877']) expect((refused.data as string).includes(s)).toBe(false);
    expect(await peerViewings()).toEqual([]);
  });

  it("links an operator from the failure to the peer's words; reading the case page is not audited, the viewing is", async () => {
    const op = operator();
    await op.login(OPERATOR);
    const res = await op.get(`/ops/cases/${hubId}`);
    const page = res.data as string;
    expect(page).toContain('<code class="field-path">appDetails.surname</code>');
    for (const s of ['Vonplantedberg', 'PLNT998877']) expect([s, page.includes(s)]).toEqual([s, false]);
    const links = [...page.matchAll(/class="peer-detail-link" href="([^"]+)"/g)].map((m) => m[1].replace(/&amp;/g, '&'));
    // One on the dead letter, one on the dead hop of the timeline.
    expect(links).toHaveLength(2);
    expect(links.every((l) => l.startsWith(`/ops/cases/${hubId}/peer-errors#`))).toBe(true);
    expect(await peerViewings()).toEqual([]);

    const full = await op.get(links[0].split('#')[0]);
    expect(full.status).toBe(200);
    const text = full.data as string;
    expect(text).toContain(SURNAME_MESSAGE);
    expect(text).toContain(DOC_MESSAGE);
    // Both links land on an anchor of that page.
    for (const l of links) expect(text).toContain(`id="${l.split('#')[1]}"`);
    const audited = await eventually(async () => {
      const list = await peerViewings();
      return list.length === 1 ? list : undefined;
    }, 3000, 'the audit entry');
    expect(audited[0]).toMatchObject({ by: `ops:${OPERATOR.name}`, hubId });
    await op.get(links[1].split('#')[0]);
    expect(await peerViewings()).toHaveLength(2);
  });
});
