/**
 * HCCH iSupport: cases exchanged as CSV files on a file server (SFTP, FTP or FTPS), export requests over HTTP, completion notices by e-mail.
 *   actions: importCase, requestCaseData, requestReferenceData
 *   sources: export (poll), notices (webhook)
 */
import { defineAdapter } from 'caseway/core';
import { safeMessage } from 'caseway/core';
import settingsSchema from './configuration-schema.json';
import { isupportSandbox } from './sandbox';
import { exportSource } from './src/export-source';
import { importCaseAction } from './src/import-action';
import { loadCodeLists, loadExportLayout, loadImportLayout } from './src/layout';
import { sendDeadLetterMail } from './src/mailer';
import { noticesSource } from './src/notice-webhook';
import { requestCaseDataAction, requestReferenceDataAction } from './src/request-api';
import { resolveDirs, type IsupportSettings } from './src/settings';
import { withTransport } from './src/file-server';

export default defineAdapter<IsupportSettings>({
  name: 'isupport',
  title: 'HCCH iSupport (cross-border recovery of maintenance obligations)',
  settingsSchema,
  actions: {
    importCase: importCaseAction,
    requestCaseData: requestCaseDataAction,
    requestReferenceData: requestReferenceDataAction,
  },
  sources: {
    export: exportSource,
    notices: noticesSource,
  },
  sandbox: isupportSandbox,
  async checkHealth(ctx) {
    const s = ctx.connection.settings;
    loadExportLayout(s);
    loadImportLayout(s);
    loadCodeLists(s);
    const dirs = resolveDirs(s.sftp);
    await withTransport(ctx, async (sftp) => {
      for (const dir of [dirs.exportDir, dirs.importDir]) {
        if (!(await sftp.exists(dir))) throw new Error(`isupport: folder ${dir} does not exist on the file server`);
      }
    });
  },
  async onDeadLetter(info, ctx) {
    const smtp = ctx.connection.settings.smtp;
    if (!smtp) {
      ctx.log.warn({ hubId: info.hubId, action: info.action }, 'isupport: dead letter not mailed: no smtp settings');
      return;
    }
    try {
      await sendDeadLetterMail(smtp, info, ctx.connection.name);
      ctx.metrics.peerResponse('SMTP dead-letter', 'ok', 0);
    } catch (err) {
      ctx.metrics.peerResponse('SMTP dead-letter', 'error', 0);
      ctx.log.warn({ hubId: info.hubId, error: safeMessage(err) }, 'isupport: dead-letter mail failed');
      throw err;
    }
  },
});
