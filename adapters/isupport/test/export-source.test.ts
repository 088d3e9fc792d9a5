/**
 * The export source over each transport (a real OpenSSH server for SFTP, the sandbox's ftp-srv for FTP and FTPS): folders -> canonical cases, folders still being written,
 * a crash part-way through a folder, the ledger across renames, failed folders and rejected cases.
 */
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Emit } from '../../../src/core/adapter';
import { REPORT_FILE, type FolderReport } from '../src/export-folders';
import { exportSource, runExportScan } from '../src/export-source';
import { Ledger } from '../src/ledger';
import type { IsupportSettings } from '../src/settings';
import { copySampleCase, SAMPLE_CASE_ID, sha256File, TRANSPORTS, transportTestEnv } from './helpers/fixtures';

function readReport(folder: string): FolderReport {
  return JSON.parse(readFileSync(path.join(folder, REPORT_FILE), 'utf8')) as FolderReport;
}

const CASE_HEADER = 'CASE_ID,CASE_CATEGORY,CASE_STATUS,REQUESTING_COUNTRY,REQUESTED_COUNTRY,CASE_OPEN_DATE';
const MEMBER_HEADER = 'CASE_ID,MEMBER_ID,MEMBER_ROLE,FIRST_NAME,LAST_NAME,BIRTH_DATE';
const WORKER_HEADER = 'CASE_ID,WORKER_ID,WORKER_ROLE,FIRST_NAME,LAST_NAME';

/** Writes a generated export folder with `cases` cases of 3 members and 1 worker each. */
function writeGenerated(dir: string, cases: number, opts: { shuffleMembers?: boolean } = {}): string[] {
  for (const s of ['CaseDetails', 'MemberDetails', 'WorkerDetails']) mkdirSync(path.join(dir, s), { recursive: true });
  const ids: string[] = [];
  const c = [CASE_HEADER];
  let m: string[] = [];
  const w = [WORKER_HEADER];
  for (let i = 0; i < cases; i++) {
    const id = `US-FR-2016-100_${String(i).padStart(5, '0')}-US`;
    ids.push(id);
    c.push(`${id},EST,OPEN,US,FR,2016-01-${String((i % 28) + 1).padStart(2, '0')}`);
    m.push(`${id},M${i}-1,CRED,Cred${i},Family${i},1980-01-01`, `${id},M${i}-2,DEBT,Debt${i},Family${i},1979-02-02`, `${id},M${i}-3,CHLD,Kid${i},Family${i},2010-03-03`);
    w.push(`${id},W${i},CASE WORKER,Work${i},Er`);
  }
  if (opts.shuffleMembers) m = [...m.filter((_, i) => i % 2 === 1), ...m.filter((_, i) => i % 2 === 0)];
  writeFileSync(path.join(dir, 'CaseDetails', 'CaseDetails.csv'), `${c.join('\r\n')}\r\n`);
  writeFileSync(path.join(dir, 'MemberDetails', 'MemberDetails.csv'), `${[MEMBER_HEADER, ...m].join('\r\n')}\r\n`);
  writeFileSync(path.join(dir, 'WorkerDetails', 'WorkerDetails.csv'), `${w.join('\r\n')}\r\n`);
  return ids;
}

describe.each(TRANSPORTS)('export source over %s', (transport) => {
  const env = transportTestEnv('t', transport);

  function setup(extra: Partial<IsupportSettings> = {}) {
    const { settings, h, dirs } = env.setup(extra);
    return { settings, h, dirs };
  }

  test('reads an export folder with CaseDetails, MemberDetails and WorkerDetails into one canonical case', async () => {
    const { h, dirs } = setup();
    const startedAt = new Date().toISOString();
    const folder = copySampleCase(dirs.exportDir, 'REQ-12142015222710-56471');
    const files = ['CaseDetails/CaseDetails.csv', 'MemberDetails/MemberDetails.csv', 'WorkerDetails/WorkerDetails.csv'];
    const hashes = Object.fromEntries(files.map((f) => [f, sha256File(path.join(folder, f))]));

    const outcome = await exportSource.poll(h.ctx, h.emit, {});
    expect(outcome).toMatchObject({ emitted: 1 });
    expect(h.emitted).toHaveLength(1);
    const { eventId, case: c } = h.emitted[0];
    expect(c.type).toBe('maintenance');
    expect(c.source).toMatchObject({ system: 'isupport', connection: 'isupport', id: SAMPLE_CASE_ID, eventId });
    expect(eventId).toMatch(new RegExp(`^isupport:${SAMPLE_CASE_ID.replace(/[()]/g, '\\$&')}:[0-9a-f]{64}$`));
    expect(c.subtype).toBe('recognition-enforcement');
    expect(c.status).toBe('OPEN');
    expect(c.createdAt).toBe('2015-11-02');
    expect(c.updatedAt).toBe('2015-12-14T22:27:10');
    // The export has no RECEIVED_DATE: receivedAt stays unset (the file's time is exportedAt, not when the case came in).
    expect(c.receivedAt).toBeUndefined();
    expect(typeof c.extensions!.isupport.exportedAt).toBe('string');
    const ext = c.extensions!.isupport;
    expect(ext).toMatchObject({
      requestingCountry: 'US',
      requestedCountry: 'GB-NIR',
      applicationId: 'US-UK(NI)-2015-100_0453-US/RENF-01',
      requestId: 'REQ-12142015222710-56471',
      caseCategory: 'recognition-enforcement',
      caseStatus: 'OPEN',
      maintenance: { frequency: 'MONTHLY', amount: '450.00', currency: 'USD' },
      codes: { CASE_CATEGORY: 'RENF', REQUESTED_COUNTRY: 'UK(NI)' },
    });

    const roles = c.parties.map((p) => p.roles.join('+'));
    expect(roles.sort()).toEqual(['caseworker', 'child', 'child', 'creditor', 'debtor']);
    const creditor = c.parties.find((p) => p.roles.includes('creditor'))!;
    expect(creditor).toMatchObject({
      id: 'M-1001',
      relationship: 'Mother',
      person: { forenames: 'Maria', surname: 'Example', birthDate: '1984-03-12', gender: 'female', nationality: 'US', language: 'en' },
      addresses: [{ kind: 'residential', lines: ['1200 Sample Avenue', 'Apt 4'], town: 'Sacramento', postcode: '95814', country: 'US' }],
    });
    expect(creditor.contacts).toEqual(expect.arrayContaining([{ kind: 'email', value: 'maria.example@example.org' }, { kind: 'phone', value: '+1 916 555 0100' }]));
    expect(creditor.extensions!.isupport).toMatchObject({ section: 'MemberDetails', columns: { SSN_LAST4: '0000' }, codes: { MEMBER_ROLE: 'CRED', GENDER: 'F' } });
    const debtor = c.parties.find((p) => p.roles.includes('debtor'))!;
    expect(debtor.addresses![0]).toMatchObject({ town: 'Belfast', country: 'GB-NIR' });
    expect(debtor.person!.nationality).toBe('GB');
    const children = c.parties.filter((p) => p.roles.includes('child')).map((p) => p.person!.forenames);
    expect(children.sort()).toEqual(['Emma', 'Liam']);
    const worker = c.parties.find((p) => p.roles.includes('caseworker'))!;
    expect(worker).toMatchObject({ id: 'W-77', organisation: { name: 'California Central Authority' }, person: { forenames: 'Pat', surname: 'Caseworker' } });
    expect(worker.extensions!.isupport).toMatchObject({ workerRole: 'CASE WORKER', section: 'WorkerDetails' });

    // Moved to the archive with a report; the ledger holds each file with its size and SHA-256.
    expect(existsSync(folder)).toBe(false);
    const archived = path.join(dirs.archiveDir, 'REQ-12142015222710-56471');
    const report = readReport(archived);
    expect(report).toMatchObject({ outcome: 'processed', kind: 'case', cases: { read: 1, queued: 1, alreadyQueued: 0, rejected: 0 }, mode: 'stream' });
    const ledger = await new Ledger(h.ctx).files();
    expect(ledger).toHaveLength(3);
    for (const f of files) {
      const entry = ledger.find((e) => e.path === path.join(folder, f))!;
      expect(entry).toMatchObject({ sha256: hashes[f], size: readFileSync(path.join(archived, f)).length, outcome: 'processed', folder: 'REQ-12142015222710-56471' });
      expect(entry.readAt >= startedAt).toBe(true);
    }
    // Nothing left to do on the next poll.
    expect(await exportSource.poll(h.ctx, h.emit, {})).toMatchObject({ emitted: 0 });
  });

  test('folders named by case id (seed §5.1 c) and nested REQ-.../<caseId>/ folders are read', async () => {
    const { h, dirs } = setup({ polling: { stableWaitMs: 0 } });
    copySampleCase(dirs.exportDir, SAMPLE_CASE_ID);
    const nested = path.join(dirs.exportDir, 'REQ-01022017101010-10002');
    const a = 'PT-FR-2017-100_0001-PT';
    const b = 'PT-FR-2017-100_0002-PT';
    // Case a: no case id column at all, so the sub-folder's name is the case id; case b: with the column.
    for (const s of ['CaseDetails', 'MemberDetails', 'WorkerDetails']) {
      mkdirSync(path.join(nested, a, s), { recursive: true });
      mkdirSync(path.join(nested, b, s), { recursive: true });
    }
    writeFileSync(path.join(nested, a, 'CaseDetails', 'CaseDetails.csv'), 'CASE_CATEGORY,REQUESTING_COUNTRY,REQUESTED_COUNTRY,RECEIVED_DATE\r\nEST,PT,FR,2017-01-30\r\n');
    writeFileSync(path.join(nested, a, 'MemberDetails', 'MemberDetails.csv'), 'MEMBER_ID,MEMBER_ROLE,LAST_NAME\r\n1,CRED,A\r\n2,DEBT,B\r\n');
    writeFileSync(path.join(nested, a, 'WorkerDetails', 'WorkerDetails.csv'), 'WORKER_ID,LAST_NAME\r\nW1,C\r\n');
    writeFileSync(path.join(nested, b, 'CaseDetails', 'CaseDetails.csv'), `CASE_ID,CASE_CATEGORY,REQUESTING_COUNTRY,REQUESTED_COUNTRY\r\n${b},MOD,PT,FR\r\n`);
    writeFileSync(path.join(nested, b, 'MemberDetails', 'MemberDetails.csv'), `CASE_ID,MEMBER_ID,MEMBER_ROLE,LAST_NAME\r\n${b},1,CRED,D\r\n`);
    writeFileSync(path.join(nested, b, 'WorkerDetails', 'WorkerDetails.csv'), `CASE_ID,WORKER_ID,LAST_NAME\r\n${b},W2,E\r\n`);
    // A nested folder whose one case still lacks a section waits.
    const waiting = path.join(dirs.exportDir, 'REQ-01022017101010-10003');
    for (const s of ['CaseDetails', 'MemberDetails']) mkdirSync(path.join(waiting, 'PT-FR-2017-100_0003-PT', s), { recursive: true });
    writeFileSync(path.join(waiting, 'PT-FR-2017-100_0003-PT', 'CaseDetails', 'c.csv'), 'CASE_CATEGORY\r\nEST\r\n');
    writeFileSync(path.join(waiting, 'PT-FR-2017-100_0003-PT', 'MemberDetails', 'm.csv'), 'MEMBER_ID,MEMBER_ROLE,LAST_NAME\r\n1,CRED,F\r\n');

    const result = await runExportScan(h.ctx, h.emit);
    expect(result.reports.map((r) => [r.folder, r.outcome]).sort()).toEqual([
      ['REQ-01022017101010-10002', 'processed'],
      [SAMPLE_CASE_ID, 'processed'],
    ]);
    expect(result.skipped).toEqual([{ folder: 'REQ-01022017101010-10003', reason: 'no CSV file yet in PT-FR-2017-100_0003-PT/WorkerDetails' }]);
    const byId = new Map(h.emitted.map((e) => [e.case.source.id, e.case]));
    expect([...byId.keys()].sort()).toEqual([a, b, SAMPLE_CASE_ID].sort());
    expect(byId.get(SAMPLE_CASE_ID)!.extensions!.isupport).toMatchObject({ exportFolder: SAMPLE_CASE_ID });
    expect(byId.get(SAMPLE_CASE_ID)!.extensions!.isupport.requestId).toBeUndefined();
    expect(byId.get(a)!).toMatchObject({ subtype: 'establishment', receivedAt: '2017-01-30' });
    expect(byId.get(a)!.extensions!.isupport).toMatchObject({ requestId: 'REQ-01022017101010-10002', exportFolder: `REQ-01022017101010-10002/${a}` });
    expect(byId.get(a)!.parties.map((p) => p.person?.surname).sort()).toEqual(['A', 'B', 'C']);
    expect(byId.get(b)!.parties.map((p) => p.person?.surname).sort()).toEqual(['D', 'E']);
    const report = readReport(path.join(dirs.archiveDir, 'REQ-01022017101010-10002'));
    expect(report.files.map((f) => f.path)).toEqual(expect.arrayContaining([`${a}/CaseDetails/CaseDetails.csv`, `${b}/WorkerDetails/WorkerDetails.csv`]));
    expect(report.cases).toMatchObject({ read: 2, queued: 2 });
  });

  test('leaves folders that are still being written for a later poll', async () => {
    const { h, dirs } = setup({ polling: { stableWaitMs: 1200 } });
    mkdirSync(path.join(dirs.exportDir, 'REQ-EMPTY'));
    const partial = copySampleCase(dirs.exportDir, 'REQ-PARTIAL');
    renameSync(path.join(partial, 'MemberDetails', 'MemberDetails.csv'), path.join(partial, 'MemberDetails', 'MemberDetails.csv.part'));
    const incomplete = copySampleCase(dirs.exportDir, 'REQ-INCOMPLETE');
    renameSync(path.join(incomplete, 'WorkerDetails'), path.join(dirs.exportDir, '..', 'worker-later'));
    const growing = copySampleCase(dirs.exportDir, 'REQ-GROWING');
    const growingFile = path.join(growing, 'MemberDetails', 'MemberDetails.csv');
    const full = readFileSync(growingFile);
    writeFileSync(growingFile, full.subarray(0, 100));

    // The file keeps growing for as long as the scan runs, so it changes between the scan's first listing and the
    // one after its stability wait however slow a loaded machine makes either (no timing is assumed).
    const grower = setInterval(() => appendFileSync(growingFile, ' '), 25);
    const result = await runExportScan(h.ctx, h.emit).finally(() => clearInterval(grower));
    writeFileSync(growingFile, full);
    expect(h.emitted).toHaveLength(0);
    const reasons = Object.fromEntries(result.skipped.map((s) => [s.folder, s.reason]));
    expect(reasons['REQ-EMPTY']).toBe('no files yet');
    expect(reasons['REQ-PARTIAL']).toMatch(/temporary file MemberDetails\/MemberDetails\.csv\.part/);
    expect(reasons['REQ-INCOMPLETE']).toMatch(/WorkerDetails/);
    expect(reasons['REQ-GROWING']).toBe('files still growing');
    for (const f of ['REQ-EMPTY', 'REQ-PARTIAL', 'REQ-INCOMPLETE', 'REQ-GROWING']) expect(existsSync(path.join(dirs.exportDir, f))).toBe(true);

    // Once complete they are read.
    renameSync(path.join(partial, 'MemberDetails', 'MemberDetails.csv.part'), path.join(partial, 'MemberDetails', 'MemberDetails.csv'));
    renameSync(path.join(dirs.exportDir, '..', 'worker-later'), path.join(incomplete, 'WorkerDetails'));
    const second = await runExportScan(h.ctx, h.emit);
    expect(second.reports.map((r) => r.folder).sort()).toEqual(['REQ-GROWING', 'REQ-INCOMPLETE', 'REQ-PARTIAL']);
    // The three copies hold the same files: one is processed, the other two are recognised by the ledger.
    expect(second.reports.filter((r) => r.outcome === 'processed')).toHaveLength(1);
    expect(second.reports.filter((r) => r.outcome === 'duplicate')).toHaveLength(2);
    expect(h.emitted).toHaveLength(1);
    expect(existsSync(path.join(dirs.exportDir, 'REQ-EMPTY'))).toBe(true);
  });

  test('a crash part-way through a folder re-reads it without duplicates', async () => {
    const { h, dirs } = setup({ polling: { stableWaitMs: 0, emitBatchSize: 100 } });
    const ids = writeGenerated(path.join(dirs.exportDir, 'REQ-CRASH'), 250);
    let calls = 0;
    let first = 0;
    const crashingEmit: Emit = async (events) => {
      calls += 1;
      if (calls === 2) throw new Error('worker killed');
      first = events.length;
      return h.emit(events);
    };
    await expect(exportSource.poll(h.ctx, crashingEmit, {})).rejects.toThrow('worker killed');
    // The first batch went through, the second never did. A batch ends at emitBatchRows (default 200) rows: each
    // generated case is 5 rows (case, 3 members, 1 worker), so 40 cases, not emitBatchSize's 100.
    expect(first).toBe(40);
    expect(h.emitted).toHaveLength(first);
    expect(existsSync(path.join(dirs.exportDir, 'REQ-CRASH'))).toBe(true);
    const reading = await new Ledger(h.ctx).files();
    expect(reading.map((f) => f.outcome)).toEqual(['reading', 'reading', 'reading']);

    const result = await runExportScan(h.ctx, h.emit);
    expect(result.reports[0]).toMatchObject({ outcome: 'processed', cases: { read: 250, queued: 250 - first, alreadyQueued: first, rejected: 0 } });
    const sourceIds = h.emitted.map((e) => e.case.source.id);
    expect(sourceIds).toHaveLength(250);
    expect(new Set(sourceIds).size).toBe(250);
    expect([...sourceIds].sort()).toEqual([...ids].sort());
    expect(h.emitted.every((e) => e.case.parties.length === 4)).toBe(true);
    expect((await new Ledger(h.ctx).files()).map((f) => f.outcome)).toEqual(['processed', 'processed', 'processed']);
  });

  test('emit batches end at emitBatchSize cases or emitBatchRows rows, whichever comes first', async () => {
    const batchesOf = async (polling: { emitBatchSize: number; emitBatchRows?: number }, folder: string): Promise<number[]> => {
      const { h, dirs } = setup({ polling: { stableWaitMs: 0, ...polling } });
      writeGenerated(path.join(dirs.exportDir, folder), 23);
      const sizes: number[] = [];
      await exportSource.poll(h.ctx, async (events) => {
        sizes.push(events.length);
        return h.emit(events);
      }, {});
      expect(h.emitted).toHaveLength(23);
      return sizes;
    };
    // 5 rows a case: 12 rows end a batch after 3 cases (15 rows); 1,000 rows leave emitBatchSize to decide.
    expect(await batchesOf({ emitBatchSize: 10, emitBatchRows: 12 }, 'REQ-ROWS')).toEqual([3, 3, 3, 3, 3, 3, 3, 2]);
    expect(await batchesOf({ emitBatchSize: 10, emitBatchRows: 1000 }, 'REQ-CASES')).toEqual([10, 10, 3]);
  });

  test('a processed folder copied back under another name is not processed again', async () => {
    const { h, dirs } = setup({ polling: { stableWaitMs: 0 } });
    copySampleCase(dirs.exportDir, 'REQ-ORIGINAL');
    await runExportScan(h.ctx, h.emit);
    expect(h.emitted).toHaveLength(1);
    cpSync(path.join(dirs.archiveDir, 'REQ-ORIGINAL'), path.join(dirs.exportDir, 'REQ-RENAMED'), { recursive: true });
    const result = await runExportScan(h.ctx, h.emit);
    expect(result.reports[0]).toMatchObject({ folder: 'REQ-RENAMED', outcome: 'duplicate', duplicateOf: 'REQ-ORIGINAL' });
    expect(result.emitted).toBe(0);
    expect(h.emitted).toHaveLength(1);
    expect(existsSync(path.join(dirs.archiveDir, 'REQ-RENAMED'))).toBe(true);
    const ledger = await new Ledger(h.ctx).files();
    expect(ledger.filter((f) => f.outcome === 'duplicate')).toHaveLength(3);
    expect(ledger.filter((f) => f.outcome === 'processed')).toHaveLength(3);
  });

  test('unreadable folders go to failed/ and rejected cases are reported with reasons', async () => {
    const { h, dirs } = setup({ polling: { stableWaitMs: 0 } });
    // No case id column but two cases: cannot be joined.
    const bad = path.join(dirs.exportDir, 'REQ-BAD');
    for (const s of ['CaseDetails', 'MemberDetails', 'WorkerDetails']) mkdirSync(path.join(bad, s), { recursive: true });
    writeFileSync(path.join(bad, 'CaseDetails', 'c.csv'), 'CASE_CATEGORY,CASE_STATUS\r\nEST,OPEN\r\nMOD,OPEN\r\n');
    writeFileSync(path.join(bad, 'MemberDetails', 'm.csv'), 'MEMBER_ID,MEMBER_ROLE\r\nM1,CRED\r\n');
    writeFileSync(path.join(bad, 'WorkerDetails', 'w.csv'), 'WORKER_ID\r\nW1\r\n');
    // Two cases; the second has a member without a role and a malformed row.
    const mixed = path.join(dirs.exportDir, 'REQ-MIXED');
    writeGenerated(mixed, 2);
    appendFileSync(path.join(mixed, 'MemberDetails', 'MemberDetails.csv'), 'US-FR-2016-100_00001-US,M1-4,,Extra,Person,1990-01-01\r\nUS-FR-2016-100_00001-US,M1-5,CHLD\r\n');

    const result = await runExportScan(h.ctx, h.emit);
    const badReport = result.reports.find((r) => r.folder === 'REQ-BAD')!;
    expect(badReport.outcome).toBe('failed');
    expect(badReport.error).toMatch(/CaseDetails\/c\.csv has no case id column and the folder holds 2 cases/);
    expect(readReport(path.join(dirs.failedDir, 'REQ-BAD')).outcome).toBe('failed');

    const mixedReport = readReport(path.join(dirs.archiveDir, 'REQ-MIXED'));
    expect(mixedReport.cases).toEqual({ read: 2, queued: 1, alreadyQueued: 0, rejected: 1 });
    expect(mixedReport.rejected).toHaveLength(1);
    expect(mixedReport.rejected![0].caseId).toBe('US-FR-2016-100_00001-US');
    expect(mixedReport.rejected![0].reasons).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/MemberDetails .* row 7: required column MEMBER_ROLE is empty/),
        expect.stringMatching(/MemberDetails .* row 8: has 3 cells, the header has 6/),
      ]),
    );
    // Reasons name columns and rows, not values.
    expect(JSON.stringify(mixedReport)).not.toMatch(/Extra|Person/);
    expect(h.emitted.map((e) => e.case.source.id)).toEqual(['US-FR-2016-100_00000-US']);
  });

  test('member rows not grouped in CaseDetails order are joined in memory', async () => {
    const { h, dirs } = setup({ polling: { stableWaitMs: 0 } });
    writeGenerated(path.join(dirs.exportDir, 'REQ-SHUFFLED'), 20, { shuffleMembers: true });
    const result = await runExportScan(h.ctx, h.emit);
    expect(result.reports[0]).toMatchObject({ outcome: 'processed', mode: 'buffered', cases: { queued: 20 } });
    for (const e of h.emitted) {
      expect(e.case.parties.map((p) => p.roles[0]).sort()).toEqual(['caseworker', 'child', 'creditor', 'debtor']);
      expect(e.case.parties.every((p) => p.id!.startsWith(`M${Number(e.case.source.id!.slice(15, 20))}-`) || p.roles[0] === 'caseworker')).toBe(true);
    }
    // A limit below the row count makes such a folder unreadable.
    const { h: h2, dirs: dirs2 } = setup({ polling: { stableWaitMs: 0, maxBufferedRows: 10 } });
    writeGenerated(path.join(dirs2.exportDir, 'REQ-SHUFFLED'), 20, { shuffleMembers: true });
    const limited = await runExportScan(h2.ctx, h2.emit);
    expect(limited.reports[0]).toMatchObject({ outcome: 'failed' });
    expect(limited.reports[0].error).toMatch(/maxBufferedRows/);
    expect(readdirSync(dirs2.failedDir)).toEqual(['REQ-SHUFFLED']);
  });
});
