/**
 * 121-platform adapter (https://github.com/global-121/121-platform): registrations of one program as canonical
 * cash-assistance cases. Actions upsertRegistration, setStatus, addNote; sources events, registrations,
 * transactions; a sandbox 121-service for tests and demos.
 */
import { defineAdapter, type AdapterContext } from '../../src/core/adapter';
import settingsSchema from './configuration-schema.json';
import { sandbox } from './sandbox';
import { addNote, setStatus, upsertRegistration } from './src/actions';
import { closeRuntime, runtimeFor } from './src/runtime';
import type { Platform121Settings } from './src/settings';
import { eventsSource } from './src/sources/events';
import { registrationsSource } from './src/sources/registrations';
import { transactionsSource } from './src/sources/transactions';

export type { Platform121Settings } from './src/settings';
export { upsertCases, upsertRows, setStatuses, type BatchCase } from './src/batch';
export { runtimeFor } from './src/runtime';

export default defineAdapter<Platform121Settings>({
  name: 'platform121',
  title: '121-platform (cash and voucher assistance)',
  settingsSchema,
  actions: { upsertRegistration, setStatus, addNote },
  sources: { events: eventsSource, registrations: registrationsSource, transactions: transactionsSource },
  sandbox,
  async checkHealth(ctx: AdapterContext<Platform121Settings>): Promise<void> {
    const rt = runtimeFor(ctx);
    await rt.client.ensureToken();
    await rt.program.get();
  },
  close: (ctx: AdapterContext<Platform121Settings>) => closeRuntime(ctx),
});
