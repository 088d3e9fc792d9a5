/** `caseway demo` steps of the default routes that start at "any system" (the generic webhook adapter); see src/core/demo.ts. */
import axios from 'axios';
import { DemoFailure, type DemoContext, type DemoStep, type RouteOutcome } from 'caseway/core';

export const demoSteps: DemoStep[] = [
  /** "Any system" signs an enquiry and posts it to POST /webhooks/any-system; route 7 makes it an iCasework case. */
  {
    route: 'any-system-to-icasework',
    async run(demo: DemoContext): Promise<RouteOutcome> {
      const lines: string[] = [];
      const control = demo.sandboxUrl('any-system', 'control');
      const sent = await axios.post(`${control}/send`, { url: `${demo.url}/webhooks/any-system`, body: demo.sample('any-system-enquiry.json') }, { validateStatus: () => true });
      const reply = sent.data as { webhookId?: string; status?: number; body?: { hubId?: string } };
      if (sent.status !== 200 || reply.status !== 202 || !reply.body?.hubId) throw new DemoFailure(`the signed enquiry was not accepted: ${sent.status} ${JSON.stringify(reply)}`);
      lines.push(`any system posts a signed enquiry   webhook-id ${reply.webhookId ?? '?'} -> HTTP 202 hub id ${reply.body.hubId}`);
      const view = await demo.waitForCase(reply.body.hubId, 'enquiry by webhook', (v) => Boolean(demo.delivered(v, 'any-system-to-icasework')));
      lines.push(`iCasework case                      caseid ${demo.ref(view, 'icasework')} (Type Enquiry)`);
      return { route: 'any-system-to-icasework', ok: true, lines, hubId: view.hubId };
    },
  },
];
