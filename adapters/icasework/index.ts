/**
 * iCasework (Civica) adapter: REST client (legacy Key + Signature and OAuth2 JWT-bearer), actions createCase, addNote,
 * updateCustomer, linkExternalId, the `report` poll source, and a sandbox iCasework.
 */
import { defineAdapter } from 'caseway/core';
import { closePeerHttp } from 'caseway/core';
import settingsSchema from './configuration-schema.json';
import { sandbox } from './sandbox';
import { actions } from './src/actions';
import { clientFor, dropClient } from './src/client-cache';
import { reportSource } from './src/report-source';
import type { IcaseworkSettings } from './src/settings';

export default defineAdapter<IcaseworkSettings>({
  name: 'icasework',
  title: 'iCasework (Civica)',
  settingsSchema,
  actions,
  sources: { report: reportSource },
  sandbox,
  async checkHealth(ctx) {
    await clientFor(ctx).checkHealth();
  },
  async close(ctx) {
    dropClient(ctx);
    closePeerHttp(ctx);
  },
});
