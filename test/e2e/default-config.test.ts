/**
 * The main job out of the box: the real hub process (`caseway start`, as `npm start` runs it) with the default
 * config/caseway.yaml and its sandbox peers, on the real Redis; then `caseway demo` pushes the samples through every
 * route, and this test checks what each sandbox peer holds afterwards and each case's trace.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import axios from 'axios';
import Papa from 'papaparse';
import { Redis } from 'ioredis';
import { keysWithPrefix } from '../../src/core/redis';
import { deleteKeys, eventually } from '../helpers/hub';
import { REDIS_URL } from '../helpers/redis';

const ROOT = path.resolve(__dirname, '../..');
const CLI = path.join(ROOT, 'dist/src/cli/main.js');
const SAMPLES = path.join(ROOT, 'config/samples');

interface Trace {
  hubId: string;
  references: Array<{ system: string; connection?: string; id: string; kind?: string }>;
  trace: Array<{ stage: string; route?: string; target?: string; connection?: string }>;
}

function run(args: string[], env: NodeJS.ProcessEnv, cwd: string): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  let output = '';
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('default config end to end (real hub process)', () => {
  const prefix = `cwe2e:${randomUUID().slice(0, 8)}:`;
  const workDir = mkdtempSync(path.join(os.tmpdir(), 'caseway-e2e-'));
  const env = { PORT: '0', HOST: '127.0.0.1', CASEWAY_PREFIX: prefix, REDIS_URL, CASEWAY_CONFIG: path.join(ROOT, 'config/caseway.yaml'), LOG_LEVEL: 'debug', CASEWAY_API_TOKEN: '' };
  let hub: ReturnType<typeof run>;
  let baseUrl = '';
  let sandboxes: Record<string, Record<string, string>> = {};
  let demoOutput = '';

  beforeAll(async () => {
    hub = run(['start'], env, workDir);
    baseUrl = await eventually(async () => /API\s+(http:\/\/\S+)/.exec(hub.output())?.[1], 90000, `the hub's banner (output so far: ${hub.output()})`);
    sandboxes = (await axios.get(`${baseUrl}/api/sandboxes`)).data.sandboxes;
    // From another folder than the package: the demo finds its samples in the package.
    // The demo's own wait for deliveries is a safety net sized for a fully loaded machine; it returns as soon as
    // everything arrived.
    const demo = run(['demo', '--url', baseUrl, '--timeout', '180'], {}, workDir);
    const code = await demo.exited;
    demoOutput = demo.output();
    if (code !== 0) throw new Error(`caseway demo exited ${code}:\n${demoOutput}`);
  }, 300000);

  afterAll(async () => {
    hub.child.kill('SIGTERM');
    const code = await hub.exited;
    const redis = new Redis(REDIS_URL);
    await deleteKeys(redis, prefix);
    redis.disconnect();
    rmSync(workDir, { recursive: true, force: true });
    expect(code).toBe(0);
  }, 60000);

  const trace = async (id: string): Promise<Trace> => (await axios.get(`${baseUrl}/api/cases/${encodeURIComponent(id)}/trace`)).data as Trace;
  const delivered = (t: Trace, route: string, target?: string) => t.trace.some((e) => e.stage === 'delivered' && e.route === route && (!target || e.target === target));

  it('is healthy and ready, and prints where everything is', async () => {
    expect((await axios.get(`${baseUrl}/healthz`)).data).toEqual({ status: 'ok' });
    const ready = await axios.get(`${baseUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.data.connections).sort()).toEqual(['any-system', 'etd-form', 'icasework', 'iizuka', 'isupport', 'platform121']);
    for (const name of ['iizuka', 'icasework', 'platform121', 'isupport']) expect(hub.output()).toContain(`Sandbox     ${name}`);
    expect(demoOutput).toContain('all 7 routes delivered');
  });

  it('route 1: the ETD application became an iCasework case with the applicant as Customer and an IIZUKA application', async () => {
    const application = JSON.parse(readFileSync(path.join(SAMPLES, 'etd-application.json'), 'utf8')).etdApp;
    const appRef = /appRefNumber (ETD\w+)/.exec(demoOutput)?.[1];
    expect(appRef).toBeDefined();
    const t = await trace(appRef!);
    expect(delivered(t, 'etd-applications', 'icasework-case') && delivered(t, 'etd-applications', 'iizuka-application')).toBe(true);
    const caseid = t.references.find((r) => r.system === 'icasework')!.id;
    const iizukaRef = t.references.find((r) => r.system === 'etd' && r.connection === 'iizuka')!.id;

    const icwCase = (await axios.get(`${sandboxes.icasework.api}/_sandbox/cases/${caseid}`)).data;
    expect(icwCase.type).toBe('EmergencyTravelDocument');
    expect(icwCase.flat['MainParty.FirstName']).toBe(application.appDetails.forenames);
    expect(icwCase.flat['MainParty.LastName']).toBe(application.appDetails.surname);
    expect(icwCase.flat['MainParty.EmailAddress']).toBe(application.appDetails.email);
    expect(icwCase.flat['MainParty.Postcode']).toBe(application.appDetails.address.postcode);
    expect(icwCase.externalId).toBe(t.hubId);
    expect(icwCase.notes.some((n: { text: string }) => n.text.includes(`appDetails.birthDate: ${application.appDetails.birthDate}`))).toBe(true);

    const applications = (await axios.get(`${sandboxes.iizuka.api}/_sandbox/applications`)).data as Array<{ appRefNumber: string; etdApp: typeof application; headers: Record<string, string> }>;
    const submitted = applications.find((a) => a.appRefNumber === iizukaRef);
    expect(submitted?.etdApp).toEqual(application);
    expect(submitted?.headers['content-type']).toBe('application/json; charset=utf-8');
  });

  it('route 1 round trip: the iCasework echo leaves the ETD case whole, one echo line, and the case page says where it came from', async () => {
    const application = JSON.parse(readFileSync(path.join(SAMPLES, 'etd-application.json'), 'utf8')).etdApp;
    const appRef = /appRefNumber (ETD\w+)/.exec(demoOutput)![1];
    // The report poll brings the delivered case back: wait for it.
    const t = await eventually(async () => {
      const got = await trace(appRef);
      return got.trace.some((e) => e.stage === 'echo' && e.connection === 'icasework') ? got : undefined;
    }, 30000, 'the iCasework echo of the ETD case');
    const fromIcasework = t.trace.filter((e) => e.connection === 'icasework' && ['received', 'echo', 'filtered'].includes(e.stage));
    expect(new Set(fromIcasework.map((e) => e.stage))).toEqual(new Set(['echo']));
    expect(t.trace.filter((e) => e.stage === 'filtered')).toEqual([]);

    const { data } = await axios.get(`${baseUrl}/api/cases/${appRef}`);
    const caseid = t.references.find((r) => r.system === 'icasework' && r.kind === 'caseid')!.id;
    expect(data.meta).toMatchObject({ sourceSystem: 'etd', sourceConnection: 'etd-form' });
    expect(data.views.map((v: { connection: string; origin: boolean }) => [v.connection, v.origin])).toEqual([['etd-form', true]]);
    expect(data.case.source).toMatchObject({ system: 'etd', connection: 'etd-form', id: appRef });
    const applicant = data.case.parties.find((p: { roles: string[] }) => p.roles.includes('applicant'));
    expect(applicant.person).toMatchObject({ forenames: application.appDetails.forenames, surname: application.appDetails.surname, birthDate: application.appDetails.birthDate });
    expect(data.case.parties.some((p: { person?: { identityDocuments?: Array<{ type: string }> } }) => p.person?.identityDocuments?.some((d) => d.type === 'passport'))).toBe(true);
    expect(JSON.stringify(data.case.extensions.etd)).toContain(application.journeyDetails.destCountry);
    expect(data.case.references).toEqual(expect.arrayContaining([{ system: 'icasework', connection: 'icasework', id: caseid, kind: 'caseid' }]));

    const form = await axios.get(`${baseUrl}/ops/login`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.data)?.[1];
    const cookie = (form.headers['set-cookie'] ?? []).map((c: string) => c.split(';')[0]).join('; ');
    const signIn = await axios.post(`${baseUrl}/ops/login`, new URLSearchParams({ username: 'operator', password: 'caseway-demo', _csrf: csrf ?? '' }).toString(), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: baseUrl, 'Sec-Fetch-Site': 'same-origin' },
      maxRedirects: 0,
      validateStatus: () => true,
    });
    const session = (signIn.headers['set-cookie'] ?? []).map((c: string) => c.split(';')[0]).filter((c: string) => !c.endsWith('=')).join('; ');
    const page = (await axios.get(`${baseUrl}/ops/cases/${encodeURIComponent(t.hubId)}`, { headers: { Cookie: session } })).data as string;
    expect(page).toContain('<span id="origin">from etd-form</span>');
    expect(page.match(/data-stage="echo"/g)).toHaveLength(1);
    expect(page).toContain('echo from icasework, ignored');
    expect(page).toContain('origin: case created from etd-form');
  });

  it('route 2: the iSupport export became an iCasework case with the iSupport case id as ExternalId', async () => {
    const caseId = JSON.parse(readFileSync(path.join(SAMPLES, 'isupport-case.json'), 'utf8')).caseId as string;
    const t = await trace(caseId);
    expect(delivered(t, 'isupport-to-icasework')).toBe(true);
    const icwCase = (await axios.get(`${sandboxes.icasework.api}/_sandbox/cases/${t.references.find((r) => r.system === 'icasework')!.id}`)).data;
    expect(icwCase.type).toBe('CrossBorderMaintenance');
    expect(icwCase.externalId).toBe(caseId);
    expect(icwCase.flat['MainParty.LastName']).not.toBe('');
  });

  it('route 3: the CrossBorderRecovery case became ccrt.csv and natural_person.csv in iSupport, and the import notice was mailed', async () => {
    const params = JSON.parse(readFileSync(path.join(SAMPLES, 'icasework-cross-border-case.json'), 'utf8')) as Record<string, string>;
    const caseid = /caseid (\d+) \(Type CrossBorderRecovery\)/.exec(demoOutput)?.[1];
    const t = await trace(caseid!);
    expect(delivered(t, 'cross-border-recovery-to-isupport')).toBe(true);
    const requestId = t.references.find((r) => r.system === 'isupport')!.id;
    const imported = (await axios.get(`${sandboxes.isupport.control}/imported`)).data as Array<{ requestId: string; applicationId: string; files: Record<string, string> }>;
    const folder = imported.find((i) => i.requestId === requestId)!;
    expect(Object.keys(folder.files).sort()).toEqual(['ccrt.csv', 'natural_person.csv']);
    const ccrt = Papa.parse<Record<string, string>>(folder.files['ccrt.csv'].replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: true }).data;
    expect(ccrt).toHaveLength(1);
    // Canonical GB is iSupport's UK (config/isupport/code-lists.json); FR is FR in both.
    expect(ccrt[0]).toMatchObject({ EXTERNAL_CASE_ID: caseid, REQUESTING_COUNTRY: 'UK', REQUESTED_COUNTRY: params.DebtorCountry });
    const persons = Papa.parse<Record<string, string>>(folder.files['natural_person.csv'].replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: true }).data;
    expect(persons).toHaveLength(1);
    expect(persons[0]).toMatchObject({ EXTERNAL_CASE_ID: caseid, LAST_NAME: params['Customer.Surname'], FIRST_NAME: params['Customer.FirstName'] });

    const mails = (await axios.get(`${sandboxes.isupport.control}/mails`)).data as Array<{ subject: string; text: string }>;
    const notice = mails.find((m) => m.text.includes(`Your import request ( ${requestId} )`))!;
    expect(notice.subject).toBe('Request Status');
    expect(notice.text).toContain(`ISupport Application ID : ${folder.applicationId}`);
    expect(notice.text).toMatch(/^Dear All,\n\nYour import request \( REQ-CW-[0-9A-F]+ \) has been successfully completed on \w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \w+ \d{4}\n/);
  });

  it('route 4: the declined registration became an iCasework follow-up case, and the caseworker note came back as a 121 note', async () => {
    const ref = /referenceId (\S+)/.exec(demoOutput)?.[1];
    const t = await trace(ref!);
    expect(delivered(t, 'declined-registrations-to-icasework')).toBe(true);
    expect(delivered(t, 'icasework-notes-to-121')).toBe(true);
    const icwCase = (await axios.get(`${sandboxes.icasework.api}/_sandbox/cases/${t.references.find((r) => r.system === 'icasework')!.id}`)).data;
    expect(icwCase.type).toBe('CashAssistanceFollowUp');
    const registration = ((await axios.get(`${sandboxes.platform121.control}/programs/2/registrations`)).data as Array<{ referenceId: string; status: string; fullName: string }>).find((r) => r.referenceId === ref)!;
    expect(registration.status).toBe('declined');
    expect(icwCase.flat['MainParty.FullName'].replace(/^(.*), (.*)$/, '$2 $1')).toBe(registration.fullName);
    const notes = (await axios.get(`${sandboxes.platform121.control}/registrations/${ref}/notes`)).data as Array<{ text: string }>;
    const caseworkerNote = icwCase.notes.find((n: { author?: string; createdBy?: string }) => (n.author ?? n.createdBy) === 'Caseworker Demo');
    expect(caseworkerNote).toBeDefined();
    expect(notes.map((n) => n.text)).toContain(`iCasework: ${caseworkerNote.text}`);
  });

  it('routes 6 and 7: the ETD application reached any system signed and shaped by JSONata; an enquiry any system signed became an iCasework case', async () => {
    const application = JSON.parse(readFileSync(path.join(SAMPLES, 'etd-application.json'), 'utf8')).etdApp;
    const appRef = /appRefNumber (ETD\w+)/.exec(demoOutput)![1];
    const t = await trace(appRef);
    expect(delivered(t, 'etd-to-any-system')).toBe(true);
    const anyId = t.references.find((r) => r.system === 'webhook' && r.connection === 'any-system')!.id;
    const received = (await axios.get(`${sandboxes['any-system'].control}/deliveries`)).data as Array<{ id: string; count: number; body: { type: string; data: Record<string, unknown> } }>;
    const event = received.find((d) => d.id === anyId)!;
    expect(event.count).toBe(1);
    expect(event.body).toMatchObject({ type: 'case.etd-application', data: { hubId: t.hubId, reference: appRef, applicant: { surname: application.appDetails.surname } } });

    const enquiry = JSON.parse(readFileSync(path.join(SAMPLES, 'any-system-enquiry.json'), 'utf8'));
    const back = await trace(enquiry.source.id);
    expect(delivered(back, 'any-system-to-icasework')).toBe(true);
    const icwCase = (await axios.get(`${sandboxes.icasework.api}/_sandbox/cases/${back.references.find((r) => r.system === 'icasework')!.id}`)).data;
    expect(icwCase.type).toBe('Enquiry');
    expect(icwCase.flat['MainParty.LastName']).toBe(enquiry.parties[0].person.surname);
  });

  it("lets the default config's sandbox operator sign in to /ops and see every route", async () => {
    const form = await axios.get(`${baseUrl}/ops/login`);
    const csrf = /name="_csrf" value="([^"]+)"/.exec(form.data)?.[1];
    const cookie = (form.headers['set-cookie'] ?? []).map((c: string) => c.split(';')[0]).join('; ');
    const signIn = await axios.post(`${baseUrl}/ops/login`, new URLSearchParams({ username: 'operator', password: 'caseway-demo', _csrf: csrf ?? '' }).toString(), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Cookie: cookie, Origin: baseUrl, 'Sec-Fetch-Site': 'same-origin' },
      maxRedirects: 0,
      validateStatus: () => true,
    });
    expect(signIn.status).toBe(303);
    const session = (signIn.headers['set-cookie'] ?? []).map((c: string) => c.split(';')[0]).filter((c: string) => !c.endsWith('=')).join('; ');
    const overview = await axios.get(`${baseUrl}/ops`, { headers: { Cookie: session } });
    for (const route of ['etd-applications', 'isupport-to-icasework', 'cross-border-recovery-to-isupport', 'declined-registrations-to-icasework', 'icasework-notes-to-121', 'etd-to-any-system', 'any-system-to-icasework']) {
      expect(overview.data).toContain(route);
    }
  });

  it('documents every endpoint, the ETD intake with the schema it validates with, in a valid OpenAPI 3.1 document', async () => {
    const doc = (await axios.get(`${baseUrl}/openapi.json`)).data;
    const check = spawnSync(process.execPath, [path.join(ROOT, 'test/ops/validate-openapi.cjs')], { input: JSON.stringify(doc), encoding: 'utf8' });
    expect(check.stdout.trim()).toBe('valid 3.1.0');
    const intake = doc.paths['/etd/application'].post;
    const { $schema: _s, $id: _i, ...etdSchema } = JSON.parse(readFileSync(path.join(ROOT, 'schemas/etd-application.schema.json'), 'utf8'));
    expect(intake.requestBody.content['application/json; charset=utf-8'].schema).toEqual(etdSchema);
    expect(Object.keys(intake.responses).sort()).toEqual(['200', '400', '401', '403', '405', '406', '409', '413', '415', '422', '500', '503']);
  });

  it('holds no personal data in plaintext anywhere in Redis: queues, traces, cross-references, adapter state', async () => {
    const etd = JSON.parse(readFileSync(path.join(SAMPLES, 'etd-application.json'), 'utf8')).etdApp;
    const cbr = JSON.parse(readFileSync(path.join(SAMPLES, 'icasework-cross-border-case.json'), 'utf8')) as Record<string, string>;
    const ref = /referenceId (\S+)/.exec(demoOutput)![1];
    const registration = ((await axios.get(`${sandboxes.platform121.control}/programs/2/registrations`)).data as Array<{ referenceId: string; fullName: string; phoneNumber: string }>).find((r) => r.referenceId === ref)!;
    const caseworkerNote = ((await axios.get(`${sandboxes.platform121.control}/registrations/${ref}/notes`)).data as Array<{ text: string }>)[0].text.replace(/^iCasework: /, '');
    const personal = [
      etd.appDetails.surname, etd.appDetails.email, etd.appDetails.birthDate, etd.appDetails.contactPhone, etd.appDetails.address.numberAndStreet,
      cbr['Customer.Surname'], cbr['Customer.Email'], cbr['Customer.Address'], cbr['Customer.DateOfBirth'],
      registration.fullName, registration.phoneNumber, caseworkerNote,
    ].filter((v): v is string => typeof v === 'string' && v.length > 3);
    expect(personal.length).toBeGreaterThanOrEqual(10);
    const redis = new Redis(REDIS_URL);
    const found: string[] = [];
    try {
      let keys = 0;
      for await (const batch of keysWithPrefix(redis, prefix)) {
        for (const key of batch) {
          keys += 1;
          const type = await redis.type(key);
          const parts: string[] = [key];
          if (type === 'string') parts.push((await redis.get(key)) ?? '');
          else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
          else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
          else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
          else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
          else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
          const text = parts.join('\n');
          for (const value of personal) if (text.includes(value)) found.push(`${key} holds "${value}"`);
        }
      }
      expect(keys).toBeGreaterThan(50);
    } finally {
      redis.disconnect();
    }
    expect(found).toEqual([]);
    // The hub logged at debug level all along (every adapter, every route): none of it may appear there either.
    const log = hub.output();
    expect(log.split('\n').filter((l) => l.startsWith('{')).length).toBeGreaterThan(20);
    expect(personal.filter((value) => log.includes(value))).toEqual([]);
  });

  it('keeps a trace of every hop with no personal data in it', async () => {
    const appRef = /appRefNumber (ETD\w+)/.exec(demoOutput)![1];
    const t = await trace(appRef);
    expect(t.trace.map((e) => e.stage)).toEqual(expect.arrayContaining(['received', 'routed', 'delivered']));
    const application = readFileSync(path.join(SAMPLES, 'etd-application.json'), 'utf8');
    const etd = JSON.parse(application).etdApp;
    const text = JSON.stringify(t.trace);
    for (const value of [etd.appDetails.surname, etd.appDetails.email, etd.appDetails.birthDate, etd.appDetails.contactPhone]) expect(text).not.toContain(value);
  });
});
