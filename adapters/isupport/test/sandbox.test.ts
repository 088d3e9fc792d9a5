/**
 * The whole loop against the embedded sandbox, over real loopback HTTP, SFTP and SMTP: export requests, export
 * folders, both notice e-mails with their exact texts, the import scheduler, the notices webhook and dead letters.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import axios from 'axios';
import express from 'express';
import { createAjv } from '../../../src/core/config/ajv';
import { silentLogger } from '../../../src/core/logger';
import { testRedis } from '../../../test/helpers/redis';
import adapter from '../index';
import { isupportSandbox, startIsupportSandbox, type IsupportSandbox } from '../sandbox';
import { runExportScan } from '../src/export-source';
import { importApplication, noticesSource } from '../src/notice-webhook';
import { exportNoticeText, importNoticeText, parseExportNotice, parseImportNotice } from '../src/notices';
import { getReferenceData } from '../src/reference-data';
import type { IsupportSettings } from '../src/settings';
import { eventually } from '../../../test/helpers/hub';
import { encodeSegment } from '../src/request-api';

// The waits below are safety nets for conditions (a mail, a scheduler run), sized for a machine under full CPU load:
// 5 s was once not enough for the import scheduler's mail on a loaded run.
jest.setTimeout(90000);
const MAIL_MS = 30000;
import { deliveryRequest, harnessFor, icaseworkCase, SAMPLE_CASE_ID } from './helpers/fixtures';

const redisEnv = testRedis();
let sandbox: IsupportSandbox;
let workDir: string;
let settings: IsupportSettings;

beforeAll(async () => {
  workDir = mkdtempSync(path.join(os.tmpdir(), 'cw-isupport-sbx-'));
  sandbox = await startIsupportSandbox({ host: '127.0.0.1', port: 0, log: silentLogger(), settings: {}, workDir, seed: false, exportDelayMs: 100, writeStepMs: 50, schedulerIntervalMs: 100 });
  settings = { ...(sandbox.settings as unknown as IsupportSettings), polling: { stableWaitMs: 200 }, referenceDataRefreshMs: 0 };
});
afterAll(async () => {
  await sandbox?.stop();
  rmSync(workDir, { recursive: true, force: true });
  await redisEnv.cleanup();
});

let n = 0;
function harness() {
  n += 1;
  return harnessFor(settings, redisEnv.redis, `${redisEnv.prefix}${n}:`);
}

const lines = (text: string) => text.split('\n');

describe('iSupport sandbox', () => {
  test('its settings are valid connection settings', () => {
    const validate = createAjv().compile(adapter.settingsSchema);
    expect(validate(sandbox.settings)).toBe(true);
    expect(sandbox.urls.api).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  test('requestCaseData is acknowledged; the export folder and the export notice follow, and the source reads the case', async () => {
    const h = harness();
    const req = deliveryRequest(
      { type: 'maintenance', source: { system: 'hub' }, parties: [] },
      'req-case-1',
      'requestCaseData',
    );
    req.references = [{ system: 'isupport', id: SAMPLE_CASE_ID, kind: 'caseId' }];
    const startedSecond = Math.floor(Date.now() / 1000) * 1000;
    const result = await adapter.actions.requestCaseData.deliver(req, h.ctx);
    const requestId = String(result.summary!.requestId);
    expect(requestId).toMatch(/^REQ-\d{14}-\d+$/);
    expect(result).toEqual({
      references: [{ system: 'isupport', connection: 'isupport', id: requestId, kind: 'exportRequestId' }],
      summary: { caseId: SAMPLE_CASE_ID, acknowledged: true, status: 200, requestId },
    });
    const call = sandbox.apiCalls().find((c) => c.requestId === requestId)!;
    expect(call.caseId).toBe(SAMPLE_CASE_ID);
    // The URL as the seed writes it: http://hostname:9091/requestCaseData/US-UK(NI)-2015-100_0453-US
    expect(call.path).toBe('/requestCaseData/US-UK(NI)-2015-100_0453-US');

    const mail = await sandbox.waitForMail((m) => m.text.includes(requestId), MAIL_MS);
    const location = `/iSupport/Api/Export/${requestId}`;
    const notice = parseExportNotice(mail.text)!;
    expect(notice).toMatchObject({ requestId, location, supportEmail: 'isupport-batch-admin@protechsolutions.com' });
    expect(mail.text).toBe(exportNoticeText({ requestId, completedOn: notice.completedOn, location, supportEmail: 'isupport-batch-admin@protechsolutions.com' }));
    expect(lines(mail.text)).toEqual([
      'Dear All,',
      '',
      `Your export request ( ${requestId} ) has been successfully completed on`,
      expect.stringMatching(/^(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} \d{2} \d{2}:\d{2}:\d{2} C[SD]T \d{4}$/),
      '',
      `FTP File Location : ${location}`,
      '',
      'Please reach out to isupport-batch-admin@protechsolutions.com if you have any issues.',
      '',
      'Thank you.',
      '',
      'Regards,',
      'ISupport Batch Admin',
      '',
    ]);
    // Printed to the second, and not before the request was made.
    expect(Date.parse(notice.completedAt!)).toBeGreaterThanOrEqual(startedSecond);
    expect(mail).toMatchObject({ subject: 'Request Status', envelopeFrom: 'no-reply@protechsolutions.com', envelopeTo: ['helpdesk@protechsoft.com'] });

    const scan = await runExportScan(h.ctx, h.emit);
    expect(scan.reports.map((r) => [r.folder, r.outcome])).toEqual([[requestId, 'processed']]);
    expect(h.emitted).toHaveLength(1);
    expect(h.emitted[0].case.source.id).toBe(SAMPLE_CASE_ID);
    expect(h.emitted[0].case.extensions!.isupport.requestId).toBe(requestId);
    expect(h.emitted[0].case.parties.filter((p) => p.roles.includes('child'))).toHaveLength(2);
    expect(await sandbox.files('/iSupport/Api/Archive')).toContain(`/iSupport/Api/Archive/${requestId}/MemberDetails/MemberDetails.csv`);
  });

  test('an unknown case id is acknowledged but nothing is exported', async () => {
    const h = harness();
    const req = deliveryRequest({ type: 'maintenance', source: { system: 'isupport', id: 'XX-YY-2000-1-XX' }, parties: [] }, 'req-unknown', 'requestCaseData');
    const result = await adapter.actions.requestCaseData.deliver(req, h.ctx);
    await sandbox.idle(); // every export under way has finished; none was started for this id
    expect(sandbox.apiCalls().find((c) => c.requestId === result.summary!.requestId)).toMatchObject({ caseId: 'XX-YY-2000-1-XX', exported: false });
    expect(await sandbox.files(`/iSupport/Api/Export/${String(result.summary!.requestId)}`)).toEqual([]);
    // A case without any iSupport id cannot be requested at all.
    await expect(
      adapter.actions.requestCaseData.deliver(deliveryRequest({ type: 'maintenance', source: { system: 'icasework', id: '1' }, parties: [] }, 'req-none', 'requestCaseData'), h.ctx),
    ).rejects.toMatchObject({ retryable: false });
  });

  test('importCase: the scheduler picks up the complete folder, imports it and sends the import notice', async () => {
    const h = harness();
    const c = icaseworkCase();
    c.parties.push({ roles: ['debtor'], person: { surname: 'Debtor' } }, { roles: ['child'], person: { forenames: 'Kid', surname: 'Applicant' } });
    const result = await adapter.actions.importCase.deliver(deliveryRequest(c, 'imp-1'), h.ctx);
    const requestId = String(result.summary!.requestId);
    const mail = await sandbox.waitForMail((m) => m.text.includes(requestId), MAIL_MS);
    const imported = sandbox.imported().find((i) => i.requestId === requestId)!;
    expect(imported.applicationId).toMatch(/^UK-FR-\d{4}-100_\d+-UK\/APP-01$/);
    expect(imported.ccrt).toEqual([expect.objectContaining({ EXTERNAL_CASE_ID: 'ICW-20240117-0042', REQUESTING_COUNTRY: 'UK', REQUESTED_COUNTRY: 'FR' })]);
    expect(imported.naturalPersons.map((p) => p.MEMBER_ROLE)).toEqual(['CRED', 'DEBT', 'CHLD']);

    const notice = parseImportNotice(mail.text)!;
    expect(notice).toMatchObject({ requestId, applicationId: imported.applicationId, supportEmail: 'isupport-admin@protechsolutions.com' });
    expect(mail.text).toBe(importNoticeText({ requestId, completedOn: notice.completedOn, applicationId: imported.applicationId, supportEmail: 'isupport-admin@protechsolutions.com' }));
    expect(lines(mail.text)).toEqual([
      'Dear All,',
      '',
      expect.stringMatching(new RegExp(`^Your import request \\( ${requestId} \\) has been successfully completed on [A-Z][a-z]{2} [A-Z][a-z]{2} \\d{2} \\d{2}:\\d{2}:\\d{2} C[SD]T \\d{4}$`)),
      '',
      `ISupport Application ID : ${imported.applicationId}`,
      '',
      'Please reach out to isupport-admin@protechsolutions.com if you have any issues.',
      '',
      'Thank you.',
      '',
      'Regards,',
      'ISupport Batch Admin',
      '',
    ]);
    expect(await sandbox.files('/iSupport/Api/Import')).toEqual([]);
    expect(await sandbox.files('/iSupport/Api/Imported')).toContain(`/iSupport/Api/Imported/${requestId}/ccrt.csv`);
  });

  test('the scheduler leaves incomplete import folders alone', async () => {
    const { promises: fs } = await import('node:fs');
    const base = sandbox.real('/iSupport/Api/Import');
    await fs.mkdir(path.join(base, 'REQ-HALF'));
    await fs.writeFile(path.join(base, 'REQ-HALF', 'ccrt.csv'), 'EXTERNAL_CASE_ID\r\nX\r\n');
    await fs.mkdir(path.join(base, 'REQ-TEMP'));
    await fs.writeFile(path.join(base, 'REQ-TEMP', 'ccrt.csv'), 'EXTERNAL_CASE_ID\r\nX\r\n');
    await fs.writeFile(path.join(base, 'REQ-TEMP', 'natural_person.csv.part'), 'EXTERNAL_CASE_ID\r\n');
    // Two scheduler runs that started after the folders were there.
    const runs = sandbox.schedulerRuns();
    await eventually(async () => sandbox.schedulerRuns() >= runs + 2, MAIL_MS, 'two import scheduler runs');
    await sandbox.idle();
    expect(sandbox.imported().map((i) => i.requestId)).not.toEqual(expect.arrayContaining(['REQ-HALF']));
    expect(sandbox.imported().some((i) => i.requestId === 'REQ-TEMP')).toBe(false);
    await fs.rename(path.join(base, 'REQ-TEMP', 'natural_person.csv.part'), path.join(base, 'REQ-TEMP', 'natural_person.csv'));
    await fs.writeFile(path.join(base, 'REQ-TEMP', 'natural_person.csv'), 'EXTERNAL_CASE_ID,MEMBER_ROLE\r\nX,CRED\r\n');
    await sandbox.waitForMail((m) => m.text.includes('( REQ-TEMP )'), MAIL_MS);
    expect(sandbox.imported().some((i) => i.requestId === 'REQ-HALF')).toBe(false);
    await fs.rm(path.join(base, 'REQ-HALF'), { recursive: true });
  });

  test('requestReferenceData loads the reference tables once the export arrives', async () => {
    const h = harness();
    const ack = await adapter.actions.requestReferenceData.deliver(deliveryRequest({ type: 'x', source: { system: 'hub' }, parties: [] }, 'ref-1', 'requestReferenceData'), h.ctx);
    const requestId = String(ack.summary!.requestId);
    expect(sandbox.apiCalls().find((c) => c.requestId === requestId)!.path).toBe('/requestReferenceData/');
    await sandbox.waitForMail((m) => m.text.includes(requestId), MAIL_MS);
    const scan = await runExportScan(h.ctx, h.emit);
    expect(scan.reports.find((r) => r.folder === requestId)).toMatchObject({ kind: 'reference', outcome: 'processed' });
    expect((await getReferenceData(h.ctx))!.tables.MEMBER_ROLE.map((e) => e.code)).toEqual(['CRED', 'DEBT', 'CHLD']);
  });

  test('notices webhook: an export notice makes its folder be read now; an import notice records the application id', async () => {
    const h = harness();
    const caseId = 'PT-FR-2017-100_0001-PT';
    sandbox.addExportCase(caseId, {
      CaseDetails: `CASE_ID,CASE_CATEGORY,REQUESTING_COUNTRY,REQUESTED_COUNTRY\r\n${caseId},EST,PT,FR\r\n`,
      MemberDetails: `CASE_ID,MEMBER_ID,MEMBER_ROLE,LAST_NAME\r\n${caseId},1,CRED,A\r\n${caseId},2,DEBT,B\r\n`,
      WorkerDetails: `CASE_ID,WORKER_ID,LAST_NAME\r\n${caseId},W1,C\r\n`,
    });
    const app = express();
    const router = express.Router();
    noticesSource.mount(router, h.ctx, h.emit, { token: 's3cret' });
    app.use(router);
    const server: Server = await new Promise((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/isupport/isupport/notices`;
    try {
      const ack = await adapter.actions.requestCaseData.deliver(
        deliveryRequest({ type: 'maintenance', source: { system: 'isupport', id: caseId }, parties: [] }, 'req-hook', 'requestCaseData'),
        h.ctx,
      );
      const requestId = String(ack.summary!.requestId);
      const mail = await sandbox.waitForMail((m) => m.text.includes(requestId), MAIL_MS);
      const denied = await axios.post(url, mail.raw, { headers: { 'content-type': 'message/rfc822' }, validateStatus: () => true });
      expect(denied.status).toBe(401);
      const res = await axios.post(url, mail.raw, { headers: { 'content-type': 'message/rfc822', authorization: 'Bearer s3cret' }, validateStatus: () => true });
      expect(res.status).toBe(200);
      expect(res.data).toMatchObject({ kind: 'export', requestId, folder: requestId, outcome: 'processed', cases: { read: 1, queued: 1 } });
      expect(h.emitted.map((e) => e.case.source.id)).toEqual([caseId]);

      // An import notice for a request folder this hub did not write: recorded, linked to no case.
      const importText = importNoticeText({ requestId: 'REQ-CW-ABC', completedOn: 'Wed Jun 29 14:04:01 CDT 2016', applicationId: 'US(CA)-FR-2016-100_1264-US(CA)/MOD-01', supportEmail: 'x@example.org' });
      const imp = await axios.post(url, importText, { headers: { 'content-type': 'text/plain', authorization: 'Bearer s3cret' } });
      expect(imp.data).toEqual({ kind: 'import', requestId: 'REQ-CW-ABC', applicationId: 'US(CA)-FR-2016-100_1264-US(CA)/MOD-01', hubId: null });
      expect(await importApplication(h.ctx, 'REQ-CW-ABC')).toMatchObject({ applicationId: 'US(CA)-FR-2016-100_1264-US(CA)/MOD-01', completedAt: '2016-06-29T19:04:01.000Z' });
      expect(h.emitted).toHaveLength(1);

      // importCase wrote this request folder for hub case hub-test-1: its notice links the application id to it.
      const c = icaseworkCase();
      const written = await adapter.actions.importCase.deliver(deliveryRequest(c, 'imp-link-1'), h.ctx);
      const importRequest = String(written.summary!.requestId);
      const importMail = await sandbox.waitForMail((m) => m.text.includes(`( ${importRequest} )`), MAIL_MS);
      const applicationId = sandbox.imported().find((i) => i.requestId === importRequest)!.applicationId;
      const linked = await axios.post(url, importMail.raw, { headers: { 'content-type': 'message/rfc822', authorization: 'Bearer s3cret' } });
      expect(linked.data).toEqual({ kind: 'import', requestId: importRequest, applicationId, hubId: 'hub-2' });
      const link = h.emitted[1];
      expect(link.case.hubId).toBe('hub-test-1');
      expect(link.case.references).toEqual([
        { system: 'isupport', connection: 'isupport', id: applicationId, kind: 'applicationId' },
        { system: 'isupport', connection: 'isupport', id: importRequest, kind: 'requestId' },
      ]);
      expect(link.case.extensions!.isupport).toMatchObject({ notice: 'import', requestId: importRequest, applicationId });
      // The same notice again is the same event (the hub drops it).
      await axios.post(url, importMail.raw, { headers: { 'content-type': 'message/rfc822', authorization: 'Bearer s3cret' } });
      expect(h.emitted).toHaveLength(2);
      // requestCaseData later finds the iSupport case id in the application id reference.
      const again = await adapter.actions.requestCaseData.deliver({ ...deliveryRequest(c, 'req-after-import', 'requestCaseData'), references: link.case.references! }, h.ctx);
      expect(again.summary).toMatchObject({ caseId: applicationId.split('/')[0] });

      // A location that tries to leave the export folder is reduced to a plain folder name.
      const evil = await axios.post(
        url,
        exportNoticeText({ requestId: 'REQ-1', completedOn: 'Mon Dec 14 22:30:19 CST 2015', location: '/iSupport/Api/Export/../../../etc', supportEmail: 'x@example.org' }),
        { headers: { 'content-type': 'text/plain', authorization: 'Bearer s3cret' }, validateStatus: () => true },
      );
      expect(evil.status).toBe(202);
      expect(evil.data).toMatchObject({ folder: 'etc', outcome: 'pending' });
      const junk = await axios.post(url, 'hello', { headers: { 'content-type': 'text/plain', authorization: 'Bearer s3cret' }, validateStatus: () => true });
      expect(junk.status).toBe(422);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  test('a delivery landing in dead letters is mailed to the support address without personal data', async () => {
    const h = harness();
    await adapter.onDeadLetter!(
      {
        route: 'icasework-to-isupport',
        hubId: 'hub-123',
        action: 'importCase',
        deliveryId: 'dlv-9',
        error: { message: 'isupport: importCase: 1 required or coded field(s) missing or invalid: ccrt.csv.REQUESTED_COUNTRY', code: 'VALIDATION', retryable: false },
      },
      h.ctx,
    );
    const mail = await sandbox.waitForMail((m) => m.text.includes('hub-123'), MAIL_MS);
    expect(mail.envelopeTo).toEqual(['isupport-admin@protechsolutions.com']);
    expect(mail.subject).toBe('Request Status - Caseway dead letter (importCase)');
    expect(lines(mail.text)).toEqual(
      expect.arrayContaining(['Route : icasework-to-isupport', 'Hub ID : hub-123', 'Action : importCase', 'Delivery ID : dlv-9', 'Error code : VALIDATION', 'Error : isupport: importCase: 1 required or coded field(s) missing or invalid: ccrt.csv.REQUESTED_COUNTRY']),
    );
  });

  test('the case id goes into the URL as the spec writes it, or fully escaped when configured', () => {
    expect(encodeSegment('US-UK(NI)-2015-100_0453-US')).toBe('US-UK(NI)-2015-100_0453-US');
    expect(encodeSegment('US-UK(NI)-2015-100_0453-US', 'strict')).toBe('US-UK%28NI%29-2015-100_0453-US');
    // Whatever the escaping, an id stays one path segment.
    expect(encodeSegment('US(CA)-FR-2016-100_1264-US(CA)/MOD-01')).toBe('US(CA)-FR-2016-100_1264-US(CA)%2FMOD-01');
    expect(encodeSegment('a b?c#d%e')).toBe('a%20b%3Fc%23d%25e');
  });

  test('with api.caseIdEscaping strict the parentheses are percent-encoded on the wire', async () => {
    n += 1;
    const h = harnessFor({ ...settings, api: { ...settings.api, caseIdEscaping: 'strict' } }, redisEnv.redis, `${redisEnv.prefix}${n}:`);
    const req = deliveryRequest({ type: 'maintenance', source: { system: 'isupport', id: 'XX-UK(NI)-2000-1-XX' }, parties: [] }, 'req-strict', 'requestCaseData');
    const result = await adapter.actions.requestCaseData.deliver(req, h.ctx);
    expect(sandbox.apiCalls().find((c) => c.requestId === result.summary!.requestId)!.path).toBe('/requestCaseData/XX-UK%28NI%29-2000-1-XX');
  });

  test.each(['caseId', 'nested'] as const)('exports written into %s folders are read from the notice and by the poll', async (naming) => {
    const h = harness();
    const caseId = `NL-FR-2018-100_000${naming === 'caseId' ? 1 : 2}-NL`;
    sandbox.addExportCase(caseId, {
      CaseDetails: `CASE_ID,CASE_CATEGORY,REQUESTING_COUNTRY,REQUESTED_COUNTRY\r\n${caseId},EST,NL,FR\r\n`,
      MemberDetails: `CASE_ID,MEMBER_ID,MEMBER_ROLE,LAST_NAME\r\n${caseId},1,CRED,A\r\n`,
      WorkerDetails: `CASE_ID,WORKER_ID,LAST_NAME\r\n${caseId},W1,C\r\n`,
    });
    sandbox.setExportFolders(naming);
    try {
      const ack = await adapter.actions.requestCaseData.deliver(deliveryRequest({ type: 'maintenance', source: { system: 'isupport', id: caseId }, parties: [] }, `req-${naming}`, 'requestCaseData'), h.ctx);
      const requestId = String(ack.summary!.requestId);
      const mail = await sandbox.waitForMail((m) => m.text.includes(requestId), MAIL_MS);
      const location = parseExportNotice(mail.text)!.location;
      expect(location).toBe(`/iSupport/Api/Export/${naming === 'caseId' ? caseId : requestId}`);
      const files = await sandbox.files(location);
      expect(files).toContain(naming === 'caseId' ? `${location}/CaseDetails/CaseDetails.csv` : `${location}/${caseId}/CaseDetails/CaseDetails.csv`);
      const scan = await runExportScan(h.ctx, h.emit);
      expect(scan.reports.map((r) => [r.folder, r.outcome])).toEqual([[path.posix.basename(location), 'processed']]);
      expect(h.emitted.map((e) => e.case.source.id)).toEqual([caseId]);
    } finally {
      sandbox.setExportFolders('request');
    }
  });

  test.each(['ftp', 'ftps'] as const)('the sandbox serves the same tree over %s: export and import run through it', async (transport) => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-isupport-sbx-ftp-'));
    const handle = await startIsupportSandbox({ host: '127.0.0.1', port: 0, log: silentLogger(), settings: { transport }, workDir: dir, seed: true, exportDelayMs: 50, writeStepMs: 20, schedulerIntervalMs: 100 });
    try {
      const s = { ...(handle.settings as unknown as IsupportSettings), polling: { stableWaitMs: 0 }, referenceDataRefreshMs: 0 };
      expect(s.transport).toBe(transport);
      expect(createAjv().compile(adapter.settingsSchema)(handle.settings)).toBe(true);
      if (transport === 'ftps') expect(s.sftp.tls?.ca).toMatch(/BEGIN CERTIFICATE/);
      n += 1;
      const h = harnessFor(s, redisEnv.redis, `${redisEnv.prefix}${n}:`);
      await expect(adapter.checkHealth!(h.ctx)).resolves.toBeUndefined();
      const scan = await runExportScan(h.ctx, h.emit);
      expect(scan.reports.map((r) => `${r.kind}:${r.outcome}`).sort()).toEqual(['case:processed', 'reference:processed']);
      expect(h.emitted.map((e) => e.case.source.id)).toEqual([SAMPLE_CASE_ID]);
      const written = await adapter.actions.importCase.deliver(deliveryRequest(icaseworkCase(), `imp-${transport}`), h.ctx);
      const requestId = String(written.summary!.requestId);
      await handle.waitForMail((m) => m.text.includes(`( ${requestId} )`), MAIL_MS);
      expect(handle.imported().map((i) => i.requestId)).toEqual([requestId]);
      if (transport === 'ftps') {
        // The certificate is checked: without trusting it the connection is refused.
        const { tls: _tls, ...untrusted } = s.sftp;
        n += 1;
        const bad = harnessFor({ ...s, sftp: untrusted }, redisEnv.redis, `${redisEnv.prefix}${n}:`);
        await expect(runExportScan(bad.ctx, bad.emit)).rejects.toMatchObject({ context: expect.objectContaining({ transport: 'ftps', operation: 'connect' }) });
      }
      // A wrong password is an authentication failure, not retried.
      n += 1;
      const wrong = harnessFor({ ...s, sftp: { ...s.sftp, password: 'wrong' } }, redisEnv.redis, `${redisEnv.prefix}${n}:`);
      await expect(runExportScan(wrong.ctx, wrong.emit)).rejects.toMatchObject({ retryable: false, code: 'PEER_AUTH' });
    } finally {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the sandbox definition seeds the sample exports for the demo', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-isupport-sbx2-'));
    const handle = await isupportSandbox.start({ host: '127.0.0.1', port: 0, log: silentLogger(), settings: { sftp: { username: 'demo', password: 'demo-pass' } }, workDir: dir });
    try {
      expect(handle.settings).toMatchObject({ sftp: { username: 'demo', password: 'demo-pass' } });
      const s = { ...(handle.settings as unknown as IsupportSettings), polling: { stableWaitMs: 0 }, referenceDataRefreshMs: 0 };
      n += 1;
      const h = harnessFor(s, redisEnv.redis, `${redisEnv.prefix}${n}:`);
      const scan = await runExportScan(h.ctx, h.emit);
      expect(scan.reports.map((r) => `${r.kind}:${r.outcome}`).sort()).toEqual(['case:processed', 'reference:processed']);
      expect(h.emitted.map((e) => e.case.source.id)).toEqual([SAMPLE_CASE_ID]);
      expect(h.emitted[0].case.parties.find((p) => p.roles.includes('creditor'))!.extensions!.isupport).toMatchObject({ codes: { MEMBER_ROLE: 'CRED' } });
      await expect(adapter.checkHealth!(h.ctx)).resolves.toBeUndefined();
    } finally {
      await handle.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
