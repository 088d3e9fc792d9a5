/**
 * 121-platform adapter (https://github.com/global-121/121-platform): registrations of one program as canonical
 * cash-assistance cases, plus every other endpoint seed 002 lists (payments, reconciliation, messages, templates,
 * program set-up, users, exports, stats, exchange rates); a sandbox 121-service for tests and demos.
 */
import { defineAdapter, type AdapterContext } from 'caseway/core';
import settingsSchema from './configuration-schema.json';
import { sandbox } from './sandbox';
import { addNote, setStatus, upsertRegistration } from './src/actions';
import { sendMessage, uploadReconciliation } from './src/payment-actions';
import { createProgram, updateRegistrationAttribute, updateUser, upsertFspConfiguration, upsertMessageTemplate } from './src/program-actions';
import { closeRuntime, runtimeFor } from './src/runtime';
import type { Platform121Settings } from './src/settings';
import { eventsSource } from './src/sources/events';
import { exportListSource } from './src/sources/export-list';
import { paperVouchersSource, paymentTransactionsSource } from './src/sources/payment-transactions';
import { registrationsSource } from './src/sources/registrations';
import { exchangeRatesSource, fspConfigurationsSource, paymentsSource, programStatsSource, usersSource } from './src/sources/snapshots';
import { transactionsSource } from './src/sources/transactions';

export type { Platform121Settings } from './src/settings';
export { runtimeFor } from './src/runtime';

export default defineAdapter<Platform121Settings>({
  name: 'platform121',
  title: '121-platform (cash and voucher assistance)',
  settingsSchema,
  actions: {
    upsertRegistration,
    setStatus,
    addNote,
    sendMessage,
    uploadReconciliation,
    createProgram,
    upsertFspConfiguration,
    updateUser,
    updateRegistrationAttribute,
    upsertMessageTemplate,
  },
  sources: {
    events: eventsSource,
    registrations: registrationsSource,
    transactions: transactionsSource,
    payments: paymentsSource,
    paymentTransactions: paymentTransactionsSource,
    paperVouchers: paperVouchersSource,
    programStats: programStatsSource,
    exchangeRates: exchangeRatesSource,
    fspConfigurations: fspConfigurationsSource,
    users: usersSource,
    exportList: exportListSource,
  },
  sandbox,
  async checkHealth(ctx: AdapterContext<Platform121Settings>): Promise<void> {
    const rt = runtimeFor(ctx);
    await rt.client.ensureToken();
    await rt.program.get();
  },
  close: (ctx: AdapterContext<Platform121Settings>) => closeRuntime(ctx),
});
