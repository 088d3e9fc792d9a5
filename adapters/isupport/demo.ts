/** `caseway demo` steps of the default routes that start in iSupport or end there; see src/core/demo.ts. */
import axios from 'axios';
import { DemoFailure, type DemoContext, type DemoStep, type RouteOutcome } from 'caseway/core';

export const demoSteps: DemoStep[] = [
  {
    route: 'isupport-to-icasework',
    async run(demo: DemoContext): Promise<RouteOutcome> {
      const lines: string[] = [];
      const sample = demo.sample<{ caseId: string }>('isupport-case.json');
      const api = demo.sandboxUrl('isupport', 'api');
      const ack = await axios.get(`${api}/requestCaseData/${encodeURIComponent(sample.caseId)}`, { validateStatus: () => true });
      if (ack.status !== 200) throw new DemoFailure(`iSupport requestCaseData answered ${ack.status}`);
      lines.push(`iSupport requestCaseData/${sample.caseId} -> acknowledged; iSupport writes the export folder on its SFTP server`);
      const view = await demo.waitForCase(sample.caseId, 'iSupport export', (v) => Boolean(demo.delivered(v, 'isupport-to-icasework')));
      lines.push(`hub case                            parties read from CaseDetails/, MemberDetails/, WorkerDetails/`);
      lines.push(`iCasework case                      caseid ${demo.ref(view, 'icasework')} (Type CrossBorderMaintenance, ExternalId ${sample.caseId})`);
      return { route: 'isupport-to-icasework', ok: true, lines, hubId: view.hubId };
    },
  },


  {
    route: 'cross-border-recovery-to-isupport',
    async run(demo: DemoContext): Promise<RouteOutcome> {
      const lines: string[] = [];
      const params = demo.sample<Record<string, string>>('icasework-cross-border-case.json');
      const control = demo.sandboxUrl('icasework', 'api');
      const created = await axios.post(`${control}/_sandbox/cases`, params, { validateStatus: () => true });
      if (created.status !== 201) throw new DemoFailure(`the iCasework sandbox refused the caseworker's case: ${created.status}`);
      const caseId = String(created.data.caseId);
      lines.push(`iCasework caseworker opens case     caseid ${caseId} (Type CrossBorderRecovery)`);
      const view = await demo.waitForCase(caseId, 'iCasework report', (v) => Boolean(demo.delivered(v, 'cross-border-recovery-to-isupport')));
      const requestId = demo.ref(view, 'isupport');
      lines.push(`iSupport import folder              ${requestId}/ccrt.csv, ${requestId}/natural_person.csv`);
      const mails = demo.sandboxUrl('isupport', 'control');
      const notice = await demo.waitFor('the iSupport import notice e-mail', async () => {
        const res = await axios.get(`${mails}/mails`, { validateStatus: () => true });
        const list = (res.status === 200 ? res.data : []) as Array<{ subject?: string; text?: string }>;
        return list.find((m) => (m.text ?? '').includes(`Your import request ( ${requestId} )`));
      });
      const applicationId = /ISupport Application ID : (\S+)/.exec(notice.text ?? '')?.[1] ?? '?';
      lines.push(`iSupport import notice e-mail       "${notice.subject ?? ''}", ISupport Application ID ${applicationId}`);
      return { route: 'cross-border-recovery-to-isupport', ok: true, lines, hubId: view.hubId };
    },
  },
];
