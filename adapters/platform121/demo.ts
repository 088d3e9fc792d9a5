/** `caseway demo` steps of the default routes that start at the 121-platform (and the notes coming back); see src/core/demo.ts. */
import axios from 'axios';
import { DemoFailure, type DemoContext, type DemoStep, type RouteOutcome } from 'caseway/core';

export const demoSteps: DemoStep[] = [
  {
    route: 'declined-registrations-to-icasework',
    async run(demo: DemoContext): Promise<RouteOutcome[]> {
      const lines: string[] = [];
      const control = demo.sandboxUrl('platform121', 'control');
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
      const view = await demo.waitForCase(ref, '121 registration event', (v) => Boolean(demo.delivered(v, 'declined-registrations-to-icasework')));
      const caseId = demo.ref(view, 'icasework');
      // Never build a URL from the '?' of a missing reference: '/cases/?/notes' is '/cases/' with a query string.
      if (caseId === '?') throw new DemoFailure(`the delivered case has no iCasework reference (${JSON.stringify(view.references)})`);
      lines.push(`iCasework follow-up case            caseid ${caseId} (Type CashAssistanceFollowUp)`);
      const first: RouteOutcome = { route: 'declined-registrations-to-icasework', ok: true, lines, hubId: view.hubId };

      const back: string[] = [];
      const text = `Called the person on ${new Date().toISOString().slice(0, 10)}; documents requested (demo note ${Date.now()}).`;
      const noted = await axios.post(`${demo.sandboxUrl('icasework', 'api')}/_sandbox/cases/${caseId}/notes`, { text, author: 'Caseworker Demo' }, { validateStatus: () => true });
      if (noted.status !== 201) throw new DemoFailure(`the iCasework sandbox refused the caseworker's note on case ${JSON.stringify(caseId)}: ${noted.status} ${JSON.stringify(noted.data).slice(0, 300)}`);
      back.push(`iCasework caseworker adds a note    on caseid ${caseId}`);
      await demo.waitFor('the note on the 121 registration', async () => {
        const res = await axios.get(`${control}/registrations/${ref}/notes`, { validateStatus: () => true });
        const notes = (res.status === 200 ? res.data : []) as Array<{ text: string }>;
        return notes.find((n) => n.text.includes(text));
      });
      back.push(`121 registration note               on referenceId ${ref}`);
      return [first, { route: 'icasework-notes-to-121', ok: true, lines: back, hubId: view.hubId }];
    },
  },
];
