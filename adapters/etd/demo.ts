/** `caseway demo` steps of the default routes that start at the ETD web form; see src/core/demo.ts. */
import axios from 'axios';
import { DemoFailure, type DemoContext, type DemoStep, type RouteOutcome } from 'caseway/core';

/** The key the default config gives the ETD form (env ETD_FORM_API_KEY). */
const ETD_API_KEY = process.env.ETD_FORM_API_KEY ?? 'caseway-demo-etd-key';

export const demoSteps: DemoStep[] = [
  {
    route: 'etd-applications',
    async run(demo: DemoContext): Promise<RouteOutcome> {
      const lines: string[] = [];
      const post = (body: unknown) =>
        demo.hub.post('/etd/application', body, { headers: { 'X-API-Key': ETD_API_KEY, Accept: 'application/json', 'Content-Type': 'application/json; charset=utf-8' } });
      const seed = await post(demo.sample('etd-seed-example.json'));
      lines.push(`the spec's own example request     -> HTTP ${seed.status} with ${Array.isArray(seed.data?.errors) ? seed.data.errors.length : 0} field errors (several required fields are empty in it)`);
      const res = await post(demo.sample('etd-application.json'));
      if (res.status !== 200) throw new DemoFailure(`POST /etd/application answered ${res.status}: ${JSON.stringify(res.data)}`);
      const appRef = String(res.data.appRefNumber);
      lines.push(`a complete application             -> HTTP 200 appRefNumber ${appRef}`);
      const view = await demo.waitForCase(appRef, 'ETD application', (v) => Boolean(demo.delivered(v, 'etd-applications', 'icasework-case') && demo.delivered(v, 'etd-applications', 'iizuka-application')));
      lines.push(`iCasework case                      caseid ${demo.ref(view, 'icasework')} (Type EmergencyTravelDocument, applicant as Customer.*, application as a note)`);
      lines.push(`IIZUKA Case Manager                 appRefNumber ${demo.ref(view, 'etd', 'iizuka')}`);
      return { route: 'etd-applications', ok: true, lines, hubId: view.hubId };
    },
  },
  /** The ETD application again (the same content is the same case): route 6 sends it, signed, to "any system". */
  {
    route: 'etd-to-any-system',
    async run(demo: DemoContext): Promise<RouteOutcome> {
      const lines: string[] = [];
      const res = await demo.hub.post('/etd/application', demo.sample('etd-application.json'), {
        headers: { 'X-API-Key': ETD_API_KEY, Accept: 'application/json', 'Content-Type': 'application/json; charset=utf-8' },
      });
      if (res.status !== 200) throw new DemoFailure(`POST /etd/application answered ${res.status}`);
      const view = await demo.waitForCase(String(res.data.appRefNumber), 'ETD application to any system', (v) => Boolean(demo.delivered(v, 'etd-to-any-system')));
      const webhookId = String(demo.delivered(view, 'etd-to-any-system')?.summary?.webhookId ?? '?');
      const control = demo.sandboxUrl('any-system', 'control');
      const deliveries = (await axios.get(`${control}/deliveries`, { validateStatus: () => true })).data as Array<{ webhookId: string; id: string; count: number; body?: { type?: string } }>;
      const got = Array.isArray(deliveries) ? deliveries.find((d) => d.webhookId === webhookId) : undefined;
      if (!got) throw new DemoFailure(`the any-system sandbox holds no delivery with webhook-id ${webhookId}`);
      lines.push(`any system receives                 "${got.body?.type ?? '?'}" event, webhook-id ${webhookId}, signature verified, received ${got.count}x`);
      lines.push(`any system's id                     ${demo.ref(view, 'webhook', 'any-system')} (a cross-reference of the hub case)`);
      return { route: 'etd-to-any-system', ok: true, lines, hubId: view.hubId };
    },
  },
];
