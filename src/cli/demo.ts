/**
 * `caseway demo` / `npm run demo`: against a hub started with the default config (`npm start`), plays the users of
 * each peer (the ETD web form, an iSupport operator, an iCasework caseworker, a 121 portal user), pushes the sample
 * cases in `config/samples/` through every route, and prints what arrived where. Exits 1 if any route failed.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { sleep } from '../core/util';

interface TraceEntry {
  stage: string;
  route?: string;
  target?: string;
  connection?: string;
  summary?: Record<string, unknown>;
  error?: Record<string, unknown>;
}
interface CaseView {
  hubId: string;
  references: Array<{ system: string; connection?: string; id: string; kind?: string }>;
  trace: TraceEntry[];
}

export interface DemoOptions {
  url: string;
  etdApiKey: string;
  samplesDir: string;
  timeoutMs: number;
  apiToken?: string;
  out?: (line: string) => void;
}

export interface RouteOutcome {
  route: string;
  ok: boolean;
  lines: string[];
  hubId?: string;
  error?: string;
}

class DemoFailure extends Error {}


export class Demo {
  private readonly hub: AxiosInstance;
  private sandboxes: Record<string, Record<string, string>> = {};

  constructor(private readonly opts: DemoOptions) {
    this.hub = axios.create({
      baseURL: opts.url,
      timeout: 10000,
      validateStatus: () => true,
      headers: opts.apiToken ? { Authorization: `Bearer ${opts.apiToken}` } : {},
    });
  }

  private sample<T>(name: string): T {
    return JSON.parse(readFileSync(path.join(this.opts.samplesDir, name), 'utf8')) as T;
  }

  private sandboxUrl(connection: string, which: string): string {
    const url = this.sandboxes[connection]?.[which];
    if (!url) throw new DemoFailure(`the hub runs no sandbox "${connection}" with a ${which} URL (start it with the default config: npm start)`);
    return url;
  }

  private traceUrl(hubId: string): string {
    return `${this.opts.url}/api/cases/${hubId}/trace`;
  }

  /** Waits until the hub knows a case by this id and `done` says its trace is complete; fails fast on a dead letter. */
  private async waitForCase(id: string, what: string, done: (view: CaseView) => boolean): Promise<CaseView> {
    const deadline = Date.now() + this.opts.timeoutMs;
    let last: CaseView | undefined;
    while (Date.now() < deadline) {
      const res = await this.hub.get(`/api/cases/${encodeURIComponent(id)}/trace`);
      if (res.status === 200) {
        last = res.data as CaseView;
        const dead = last.trace.find((e) => e.stage === 'dead');
        if (dead) throw new DemoFailure(`${what}: delivery to ${dead.connection} failed for good: ${String(dead.error?.message ?? 'see the trace')} (${this.traceUrl(last.hubId)})`);
        if (done(last)) return last;
      }
      await sleep(250);
    }
    throw new DemoFailure(`${what}: not done after ${this.opts.timeoutMs / 1000} s${last ? ` (${this.traceUrl(last.hubId)})` : ' (the hub has not seen the case)'}`);
  }

  private static delivered(view: CaseView, route: string, target?: string): TraceEntry | undefined {
    return view.trace.find((e) => e.stage === 'delivered' && e.route === route && (!target || e.target === target));
  }

  private static ref(view: CaseView, system: string, connection?: string): string {
    return view.references.find((r) => r.system === system && (!connection || r.connection === connection))?.id ?? '?';
  }

  private async waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + this.opts.timeoutMs;
    while (Date.now() < deadline) {
      const value = await check();
      if (value !== undefined) return value;
      await sleep(250);
    }
    throw new DemoFailure(`${what}: not seen after ${this.opts.timeoutMs / 1000} s`);
  }

  async etdApplications(): Promise<RouteOutcome> {
    const lines: string[] = [];
    const post = (body: unknown) =>
      this.hub.post('/etd/application', body, { headers: { 'X-API-Key': this.opts.etdApiKey, Accept: 'application/json', 'Content-Type': 'application/json; charset=utf-8' } });
    const seed = await post(this.sample('etd-seed-example.json'));
    lines.push(`the spec's own example request     -> HTTP ${seed.status} with ${Array.isArray(seed.data?.errors) ? seed.data.errors.length : 0} field errors (several required fields are empty in it)`);
    const res = await post(this.sample('etd-application.json'));
    if (res.status !== 200) throw new DemoFailure(`POST /etd/application answered ${res.status}: ${JSON.stringify(res.data)}`);
    const appRef = String(res.data.appRefNumber);
    lines.push(`a complete application             -> HTTP 200 appRefNumber ${appRef}`);
    const view = await this.waitForCase(appRef, 'ETD application', (v) => Boolean(Demo.delivered(v, 'etd-applications', 'icasework-case') && Demo.delivered(v, 'etd-applications', 'iizuka-application')));
    lines.push(`iCasework case                      caseid ${Demo.ref(view, 'icasework')} (Type EmergencyTravelDocument, applicant as Customer.*, application as a note)`);
    lines.push(`IIZUKA Case Manager                 appRefNumber ${Demo.ref(view, 'etd', 'iizuka')}`);
    return { route: 'etd-applications', ok: true, lines, hubId: view.hubId };
  }

  async isupportToIcasework(): Promise<RouteOutcome> {
    const lines: string[] = [];
    const sample = this.sample<{ caseId: string }>('isupport-case.json');
    const api = this.sandboxUrl('isupport', 'api');
    const ack = await axios.get(`${api}/requestCaseData/${encodeURIComponent(sample.caseId)}`, { validateStatus: () => true });
    if (ack.status !== 200) throw new DemoFailure(`iSupport requestCaseData answered ${ack.status}`);
    lines.push(`iSupport requestCaseData/${sample.caseId} -> acknowledged; iSupport writes the export folder on its SFTP server`);
    const view = await this.waitForCase(sample.caseId, 'iSupport export', (v) => Boolean(Demo.delivered(v, 'isupport-to-icasework')));
    lines.push(`hub case                            parties read from CaseDetails/, MemberDetails/, WorkerDetails/`);
    lines.push(`iCasework case                      caseid ${Demo.ref(view, 'icasework')} (Type CrossBorderMaintenance, ExternalId ${sample.caseId})`);
    return { route: 'isupport-to-icasework', ok: true, lines, hubId: view.hubId };
  }

  async crossBorderRecoveryToIsupport(): Promise<RouteOutcome> {
    const lines: string[] = [];
    const params = this.sample<Record<string, string>>('icasework-cross-border-case.json');
    const control = this.sandboxUrl('icasework', 'api');
    const created = await axios.post(`${control}/_sandbox/cases`, params, { validateStatus: () => true });
    if (created.status !== 201) throw new DemoFailure(`the iCasework sandbox refused the caseworker's case: ${created.status}`);
    const caseId = String(created.data.caseId);
    lines.push(`iCasework caseworker opens case     caseid ${caseId} (Type CrossBorderRecovery)`);
    const view = await this.waitForCase(caseId, 'iCasework report', (v) => Boolean(Demo.delivered(v, 'cross-border-recovery-to-isupport')));
    const requestId = Demo.ref(view, 'isupport');
    lines.push(`iSupport import folder              ${requestId}/ccrt.csv, ${requestId}/natural_person.csv`);
    const mails = this.sandboxUrl('isupport', 'control');
    const notice = await this.waitFor('the iSupport import notice e-mail', async () => {
      const res = await axios.get(`${mails}/mails`, { validateStatus: () => true });
      const list = (res.status === 200 ? res.data : []) as Array<{ subject?: string; text?: string }>;
      return list.find((m) => (m.text ?? '').includes(`Your import request ( ${requestId} )`));
    });
    const applicationId = /ISupport Application ID : (\S+)/.exec(notice.text ?? '')?.[1] ?? '?';
    lines.push(`iSupport import notice e-mail       "${notice.subject ?? ''}", ISupport Application ID ${applicationId}`);
    return { route: 'cross-border-recovery-to-isupport', ok: true, lines, hubId: view.hubId };
  }

  async declinedRegistrations(): Promise<RouteOutcome[]> {
    const lines: string[] = [];
    const control = this.sandboxUrl('platform121', 'control');
    const program = 2;
    const regs = (await axios.get(`${control}/programs/${program}/registrations`)).data as Array<{ referenceId: string; status: string }>;
    let reg = regs.find((r) => ['new', 'validated', 'included', 'paused'].includes(r.status));
    if (!reg) {
      reg = regs.find((r) => r.status === 'declined');
      if (!reg) throw new DemoFailure('the 121 sandbox has no registration to decline');
      await axios.post(`${control}/programs/${program}/registrations/${reg.referenceId}/status`, { status: 'included', username: 'portal.user@example.org' });
    }
    const ref = reg.referenceId;
    const change = await axios.post(`${control}/programs/${program}/registrations/${ref}/status`, { status: 'declined', reason: 'Demo: eligibility to be checked', username: 'portal.user@example.org' }, { validateStatus: () => true });
    if (change.status !== 200) throw new DemoFailure(`the 121 sandbox refused the status change: ${change.status} ${JSON.stringify(change.data)}`);
    lines.push(`121 portal user declines            referenceId ${ref}`);
    const view = await this.waitForCase(ref, '121 registration event', (v) => Boolean(Demo.delivered(v, 'declined-registrations-to-icasework')));
    const caseId = Demo.ref(view, 'icasework');
    lines.push(`iCasework follow-up case            caseid ${caseId} (Type CashAssistanceFollowUp)`);
    const first: RouteOutcome = { route: 'declined-registrations-to-icasework', ok: true, lines, hubId: view.hubId };

    const back: string[] = [];
    const text = `Called the person on ${new Date().toISOString().slice(0, 10)}; documents requested (demo note ${Date.now()}).`;
    const noted = await axios.post(`${this.sandboxUrl('icasework', 'api')}/_sandbox/cases/${caseId}/notes`, { text, author: 'Caseworker Demo' }, { validateStatus: () => true });
    if (noted.status !== 201) throw new DemoFailure(`the iCasework sandbox refused the caseworker's note: ${noted.status}`);
    back.push(`iCasework caseworker adds a note    on caseid ${caseId}`);
    await this.waitFor('the note on the 121 registration', async () => {
      const res = await axios.get(`${control}/registrations/${ref}/notes`, { validateStatus: () => true });
      const notes = (res.status === 200 ? res.data : []) as Array<{ text: string }>;
      return notes.find((n) => n.text.includes(text));
    });
    back.push(`121 registration note               on referenceId ${ref}`);
    return [first, { route: 'icasework-notes-to-121', ok: true, lines: back, hubId: view.hubId }];
  }

  /** The ETD application again (the same content is the same case): route 6 sends it, signed, to "any system". */
  async etdToAnySystem(): Promise<RouteOutcome> {
    const lines: string[] = [];
    const res = await this.hub.post('/etd/application', this.sample('etd-application.json'), {
      headers: { 'X-API-Key': this.opts.etdApiKey, Accept: 'application/json', 'Content-Type': 'application/json; charset=utf-8' },
    });
    if (res.status !== 200) throw new DemoFailure(`POST /etd/application answered ${res.status}`);
    const view = await this.waitForCase(String(res.data.appRefNumber), 'ETD application to any system', (v) => Boolean(Demo.delivered(v, 'etd-to-any-system')));
    const webhookId = String(Demo.delivered(view, 'etd-to-any-system')?.summary?.webhookId ?? '?');
    const control = this.sandboxUrl('any-system', 'control');
    const deliveries = (await axios.get(`${control}/deliveries`, { validateStatus: () => true })).data as Array<{ webhookId: string; id: string; count: number; body?: { type?: string } }>;
    const got = Array.isArray(deliveries) ? deliveries.find((d) => d.webhookId === webhookId) : undefined;
    if (!got) throw new DemoFailure(`the any-system sandbox holds no delivery with webhook-id ${webhookId}`);
    lines.push(`any system receives                 "${got.body?.type ?? '?'}" event, webhook-id ${webhookId}, signature verified, received ${got.count}x`);
    lines.push(`any system's id                     ${Demo.ref(view, 'webhook', 'any-system')} (a cross-reference of the hub case)`);
    return { route: 'etd-to-any-system', ok: true, lines, hubId: view.hubId };
  }

  /** "Any system" signs an enquiry and posts it to POST /webhooks/any-system; route 7 makes it an iCasework case. */
  async anySystemToIcasework(): Promise<RouteOutcome> {
    const lines: string[] = [];
    const control = this.sandboxUrl('any-system', 'control');
    const sent = await axios.post(`${control}/send`, { url: `${this.opts.url}/webhooks/any-system`, body: this.sample('any-system-enquiry.json') }, { validateStatus: () => true });
    const reply = sent.data as { webhookId?: string; status?: number; body?: { hubId?: string } };
    if (sent.status !== 200 || reply.status !== 202 || !reply.body?.hubId) throw new DemoFailure(`the signed enquiry was not accepted: ${sent.status} ${JSON.stringify(reply)}`);
    lines.push(`any system posts a signed enquiry   webhook-id ${reply.webhookId ?? '?'} -> HTTP 202 hub id ${reply.body.hubId}`);
    const view = await this.waitForCase(reply.body.hubId, 'enquiry by webhook', (v) => Boolean(Demo.delivered(v, 'any-system-to-icasework')));
    lines.push(`iCasework case                      caseid ${Demo.ref(view, 'icasework')} (Type Enquiry)`);
    return { route: 'any-system-to-icasework', ok: true, lines, hubId: view.hubId };
  }

  async run(): Promise<RouteOutcome[]> {
    const out = this.opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
    const ready = await this.hub.get('/readyz').catch(() => null);
    if (!ready || ready.status !== 200) {
      out(`caseway demo: no ready hub at ${this.opts.url} (start one with: npm start)`);
      return [{ route: 'hub', ok: false, lines: [], error: 'hub not reachable' }];
    }
    const sandboxes = await this.hub.get('/api/sandboxes');
    this.sandboxes = (sandboxes.data?.sandboxes ?? {}) as Record<string, Record<string, string>>;
    const steps: Array<[string, () => Promise<RouteOutcome | RouteOutcome[]>]> = [
      ['etd-applications', () => this.etdApplications()],
      ['isupport-to-icasework', () => this.isupportToIcasework()],
      ['cross-border-recovery-to-isupport', () => this.crossBorderRecoveryToIsupport()],
      ['declined-registrations-to-icasework', () => this.declinedRegistrations()],
      ['etd-to-any-system', () => this.etdToAnySystem()],
      ['any-system-to-icasework', () => this.anySystemToIcasework()],
    ];
    const outcomes = await Promise.all(
      steps.map(async ([route, step]) => {
        try {
          const r = await step();
          return Array.isArray(r) ? r : [r];
        } catch (err) {
          return [{ route, ok: false, lines: [], error: err instanceof Error ? err.message : String(err) }];
        }
      }),
    );
    const flat = outcomes.flat();
    for (const o of flat) {
      out(`${o.ok ? 'OK  ' : 'FAIL'} ${o.route}`);
      for (const line of o.lines) out(`       ${line}`);
      if (o.hubId) out(`       trace                               ${this.traceUrl(o.hubId)}`);
      if (o.error) out(`       ${o.error}`);
    }
    const failed = flat.filter((o) => !o.ok).length;
    out(failed ? `${failed} route(s) failed` : `all ${flat.length} routes delivered`);
    return flat;
  }
}
