/**
 * ETD / IIZUKA Case Manager: the API the ETD (Emergency Travel Document) web form uses to file applications,
 * spoken on both sides. Source `application` makes Caseway the Case Manager (POST /etd/application); action
 * `submitApplication` delivers a case to a real (or the sandbox) Case Manager at baseUrl + /application.
 */
import { defineAdapter } from 'caseway/core';
import settingsSchema from './configuration-schema.json';
import { sandbox } from './sandbox';
import { submitApplication } from './src/actions';
import { probe } from './src/client';
import type { EtdSettings } from './src/settings';
import { applicationSource } from './src/sources';

export default defineAdapter<EtdSettings>({
  name: 'etd',
  title: 'ETD / IIZUKA Case Manager',
  settingsSchema,
  actions: { submitApplication },
  sources: { application: applicationSource },
  sandbox,
  async checkHealth(ctx) {
    // Inbound-only connections have no peer to reach. Any HTTP answer below 500 means the case manager is up.
    if (!ctx.connection.settings.baseUrl) return;
    const status = await probe(ctx);
    if (status >= 500) throw new Error(`etd: case manager answered HTTP ${status}`);
  },
});
