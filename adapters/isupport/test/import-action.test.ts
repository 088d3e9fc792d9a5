/**
 * importCase over each transport (a real OpenSSH server for SFTP, the sandbox's ftp-srv server for FTP and FTPS): the two files with their exact names and the default layout, written
 * atomically; retries; a custom layout file; missing required fields; CSV injection; path traversal.
 */
import { watch, chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../../src/core/errors';
import adapter from '../index';
import { neutraliseFormula, toCsv } from '../src/csv-writer';
import { loadImportLayout } from '../src/layout';
import { requestFolderName, safeJoin, safeSegment } from '../src/naming';
import type { IsupportSettings } from '../src/settings';
import { eventually } from '../../../test/helpers/hub';
import { withTransport } from '../src/file-server';
import { deliveryRequest, icaseworkCase, parseCsvText, REPO, TRANSPORTS, transportTestEnv } from './helpers/fixtures';

const importCase = adapter.actions.importCase;

function rowsOf(file: string): Array<Record<string, string>> {
  const [header, ...rows] = parseCsvText(readFileSync(file, 'utf8').replace(/^\uFEFF/, ''));
  return rows.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i]])));
}

describe.each(TRANSPORTS)('importCase over %s', (transport) => {
  const env = transportTestEnv('i', transport);

  function setup(extra: Partial<IsupportSettings> = {}) {
    const { settings, h, dirs } = env.setup(extra);
    return { settings, h, importDir: dirs.importDir };
  }

  test('writes ccrt.csv and natural_person.csv with the default layout into a request folder, atomically', async () => {
    const { h, importDir } = setup();
    const deliveryId = 'route-a:target-1:event-42';
    const folderName = requestFolderName(deliveryId);
    const folder = path.join(importDir, folderName);
    // Watch the request folder: a final name must only ever appear by rename, never be written in place.
    mkdirSync(folder);
    const events: Array<{ type: string; name: string }> = [];
    const watcher = watch(folder, (type, name) => events.push({ type, name: String(name) }));

    const c = icaseworkCase();
    c.parties.push(
      { roles: ['debtor'], person: { forenames: 'Dan', surname: 'Debtor', gender: 'male' }, addresses: [{ country: 'FR' }] },
      { roles: ['child'], person: { forenames: 'Cleo', surname: 'Applicant', birthDate: '2015-06-01' } },
      { roles: ['customer'], person: { surname: 'Not A Member' } },
    );
    const result = await importCase.deliver(deliveryRequest(c, deliveryId), h.ctx);
    // File-system events arrive asynchronously: wait until both renames into place were seen.
    await eventually(async () => ['ccrt.csv', 'natural_person.csv'].every((n) => events.some((e) => e.name === n && e.type === 'rename')), 10000, 'the renames');
    watcher.close();

    expect(result).toEqual({
      references: [{ system: 'isupport', connection: 'isupport', id: folderName, kind: 'requestId' }],
      summary: { requestId: folderName, files: 2, members: 3, alreadyUploaded: false },
    });
    expect(folderName).toMatch(/^REQ-CW-[0-9A-F]{20}$/);
    expect(readdirSync(importDir)).toEqual([folderName]);
    expect(readdirSync(folder).sort()).toEqual(['ccrt.csv', 'natural_person.csv']);

    const layout = loadImportLayout(h.ctx.connection.settings);
    const ccrtText = readFileSync(path.join(folder, 'ccrt.csv'), 'utf8');
    expect(ccrtText.startsWith('\uFEFF')).toBe(false);
    expect(ccrtText.endsWith('\r\n')).toBe(true);
    expect(parseCsvText(ccrtText)[0]).toEqual(layout.files['ccrt.csv'].columns.map((col) => col.column));
    expect(rowsOf(path.join(folder, 'ccrt.csv'))).toEqual([
      {
        EXTERNAL_CASE_ID: 'ICW-20240117-0042',
        SOURCE_SYSTEM: 'icasework',
        APPLICATION_ID: '',
        CASE_CATEGORY: '',
        CASE_STATUS: '',
        REQUESTING_COUNTRY: 'UK',
        REQUESTED_COUNTRY: 'FR',
        RECEIVED_DATE: '2024-01-17',
        CASE_OPEN_DATE: '',
        LAST_UPDATE_DATE: '',
        CASE_CLOSE_DATE: '',
        CASE_DESCRIPTION: 'Cross-border recovery of child maintenance',
        PAYMENT_FREQUENCY: '',
        MONTHLY_AMOUNT: '',
        CURRENCY: '',
        HUB_ID: '',
      },
    ]);
    const members = rowsOf(path.join(folder, 'natural_person.csv'));
    expect(members.map((m) => [m.MEMBER_ROLE, m.LAST_NAME, m.EXTERNAL_CASE_ID])).toEqual([
      ['CRED', 'Applicant', 'ICW-20240117-0042'],
      ['DEBT', 'Debtor', 'ICW-20240117-0042'],
      ['CHLD', 'Applicant', 'ICW-20240117-0042'],
    ]);
    expect(members[0]).toMatchObject({ FIRST_NAME: 'Ann', BIRTH_DATE: '1985-02-03', CITY: 'Leeds', COUNTRY: 'UK', EMAIL: 'ann.applicant@example.org', EXTERNAL_PERSON_ID: 'CUST-7' });
    expect(members[1]).toMatchObject({ GENDER: 'M', COUNTRY: 'FR' });

    const finals = events.filter((e) => e.name === 'ccrt.csv' || e.name === 'natural_person.csv');
    expect(finals.length).toBeGreaterThanOrEqual(2);
    expect(finals.every((e) => e.type === 'rename')).toBe(true);
    expect(events.some((e) => e.name === 'ccrt.csv.part' && e.type === 'change')).toBe(true);
    // natural_person.csv is renamed into place before ccrt.csv.
    const order = events.filter((e) => e.type === 'rename' && !e.name.endsWith('.part')).map((e) => e.name);
    expect(order.indexOf('natural_person.csv')).toBeLessThan(order.indexOf('ccrt.csv'));
  });

  test('a retry of the same delivery finds the same folder instead of creating a second one', async () => {
    const { h, importDir } = setup();
    const req = deliveryRequest(icaseworkCase(), 'route-a:target-1:event-7');
    const first = await importCase.deliver(req, h.ctx);
    const folder = path.join(importDir, String(first.summary!.requestId));
    const mtime = statSync(path.join(folder, 'ccrt.csv')).mtimeMs;
    const again = await importCase.deliver({ ...req, attempt: 2 }, h.ctx);
    expect(again.summary).toMatchObject({ requestId: first.summary!.requestId, alreadyUploaded: true });
    // Crash after the upload but before the hub recorded it: state lost, folder complete -> detected, not rewritten.
    await h.ctx.state.del(`import:${first.summary!.requestId}`);
    const third = await importCase.deliver({ ...req, attempt: 3 }, h.ctx);
    expect(third.summary).toMatchObject({ alreadyUploaded: true });
    expect(readdirSync(importDir)).toEqual([first.summary!.requestId]);
    expect(statSync(path.join(folder, 'ccrt.csv')).mtimeMs).toBe(mtime);

    // Crash mid-upload: a half-written temporary file is replaced and the folder completed.
    const req2 = deliveryRequest(icaseworkCase(), 'route-a:target-1:event-8');
    const folder2 = path.join(importDir, requestFolderName(req2.deliveryId));
    mkdirSync(folder2);
    writeFileSync(path.join(folder2, 'ccrt.csv.part'), 'EXTERNAL_CASE_ID,SOU');
    await importCase.deliver(req2, h.ctx);
    expect(readdirSync(folder2).sort()).toEqual(['ccrt.csv', 'natural_person.csv']);
    expect(rowsOf(path.join(folder2, 'ccrt.csv'))[0].EXTERNAL_CASE_ID).toBe('ICW-20240117-0042');
  });

  test('a connection can point at its own layout file', async () => {
    const layoutFile = path.join(env.dataDir(), 'my-import-layout.json');
    writeFileSync(
      layoutFile,
      JSON.stringify({
        dateFormat: 'dd/MM/yyyy',
        files: {
          'ccrt.csv': {
            scope: 'case',
            columns: [
              { column: 'CaseRef', source: 'source.id', required: true },
              { column: 'Origin', value: 'CASEWAY' },
              { column: 'From', source: 'extensions.isupport.requestingCountry', codeList: 'country' },
            ],
          },
          'natural_person.csv': {
            scope: 'party',
            roles: ['creditor'],
            columns: [
              { column: 'CaseRef', source: '$case.source.id' },
              { column: 'Role', source: '$role' },
              { column: 'Born', source: 'person.birthDate', format: 'date' },
              { column: 'Name', source: ['person.fullName', 'person.surname'] },
            ],
          },
        },
      }),
    );
    const { h, importDir } = setup({ layouts: { import: layoutFile } });
    const res = await importCase.deliver(deliveryRequest(icaseworkCase(), 'custom-layout-1'), h.ctx);
    const folder = path.join(importDir, String(res.summary!.requestId));
    expect(parseCsvText(readFileSync(path.join(folder, 'ccrt.csv'), 'utf8'))).toEqual([
      ['CaseRef', 'Origin', 'From'],
      ['ICW-20240117-0042', 'CASEWAY', 'UK'],
    ]);
    expect(parseCsvText(readFileSync(path.join(folder, 'natural_person.csv'), 'utf8'))).toEqual([
      ['CaseRef', 'Role', 'Born', 'Name'],
      ['ICW-20240117-0042', 'creditor', '03/02/1985', 'Applicant'],
    ]);
  });

  test('missing required fields fail permanently with the list of fields, and nothing is written', async () => {
    const { h, importDir } = setup();
    const c = icaseworkCase({ extensions: { isupport: { requestingCountry: 'GB' } } });
    c.parties = [{ roles: ['debtor'], person: { forenames: 'Only' } }];
    const err = await importCase.deliver(deliveryRequest(c, 'missing-1'), h.ctx).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect(v.retryable).toBe(false);
    expect(v.context.missingFields).toEqual(['ccrt.csv.REQUESTED_COUNTRY', 'natural_person.csv[1].LAST_NAME', 'natural_person.csv.creditor']);
    expect(v.message).toContain('ccrt.csv.REQUESTED_COUNTRY, natural_person.csv[1].LAST_NAME, natural_person.csv.creditor');
    expect(v.fieldErrors).toContainEqual({ 'natural_person.csv[1].LAST_NAME': 'is required but empty (from person.surname | person.fullName | organisation.name)' });
    expect(v.message).not.toContain('Only');
    expect(readdirSync(importDir)).toEqual([]);
  });

  test('cells that start like formulas are neutralised and quoting follows RFC 4180; BOM on request', async () => {
    const { h, importDir } = setup({ bom: true });
    const c = icaseworkCase({ summary: 'Line one\r\nsays "hi", then =1+1' });
    c.parties[0].person = { forenames: '=HYPERLINK("http://x.example","click")', surname: '+SUM(A1:A2)' };
    c.parties[0].addresses = [{ lines: ['@cmd', '\tTabbed'], town: '-2+3', postcode: '-12.50', country: 'GB' }];
    c.parties[0].contacts = [{ kind: 'phone', value: '\rcarriage' }];
    const res = await importCase.deliver(deliveryRequest(c, 'inject-1'), h.ctx);
    const file = path.join(importDir, String(res.summary!.requestId), 'natural_person.csv');
    const raw = readFileSync(file);
    expect([...raw.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const row = rowsOf(file)[0];
    expect(row.FIRST_NAME).toBe('\'=HYPERLINK("http://x.example","click")');
    expect(row.LAST_NAME).toBe("'+SUM(A1:A2)");
    expect(row.ADDRESS_LINE1).toBe("'@cmd");
    expect(row.ADDRESS_LINE2).toBe("'\tTabbed");
    expect(row.CITY).toBe("'-2+3");
    expect(row.POSTAL_CODE).toBe('-12.50');
    expect(row.PHONE).toBe("'\rcarriage");
    const text = raw.toString('utf8');
    expect(text).toContain('"\'=HYPERLINK(""http://x.example"",""click"")"');
    const ccrt = rowsOf(path.join(importDir, String(res.summary!.requestId), 'ccrt.csv'))[0];
    expect(ccrt.CASE_DESCRIPTION).toBe('Line one\r\nsays "hi", then =1+1');
  });

  test('names derived from ids cannot leave their folder', async () => {
    expect(safeSegment('../../etc/passwd')).toBe('____etc_passwd');
    for (const id of ['../../etc/passwd', '..', '.', '', '/abs/path', 'a/../../b', 'x\\..\\y', 'ok\u0000nul', '.hidden']) {
      const seg = safeSegment(id);
      expect(seg).not.toMatch(/[/\\\0]/);
      expect(seg).not.toMatch(/\.\./);
      expect(seg.startsWith('.')).toBe(false);
      expect(seg.length).toBeGreaterThan(0);
      expect(safeJoin('/base/import', seg).startsWith('/base/import/')).toBe(true);
    }
    expect(safeSegment('US-UK(NI)-2015-100_0453-US')).toBe('US-UK(NI)-2015-100_0453-US');
    expect(safeSegment('US(CA)-FR-2016-100_1264-US(CA)/MOD-01')).toBe('US(CA)-FR-2016-100_1264-US(CA)_MOD-01');
    expect(() => safeJoin('/base', '..')).toThrow(/refused/);
    expect(() => safeJoin('/base', 'a/../../etc')).toThrow(/refused/);
    expect(requestFolderName('../../../etc/passwd', 'REQ-CW-')).toMatch(/^REQ-CW-[0-9A-F]{20}$/);
    expect(requestFolderName('../../x', '../')).not.toContain('/');

    // A case whose ids try to climb out still lands in one request folder inside the import folder.
    const { h, importDir } = setup();
    const c = icaseworkCase({ source: { system: 'icasework', id: '../../../../tmp/evil' } });
    c.parties[0].id = '../../x';
    const res = await importCase.deliver(deliveryRequest(c, '../../../../tmp/evil-delivery'), h.ctx);
    expect(readdirSync(importDir)).toEqual([res.summary!.requestId]);
    expect(existsSync('/tmp/evil')).toBe(false);
    expect(rowsOf(path.join(importDir, String(res.summary!.requestId), 'ccrt.csv'))[0].EXTERNAL_CASE_ID).toBe('../../../../tmp/evil');
  });

  test('written files have mode 0600 by default, or the configured fileMode, read back over the transport', async () => {
    const { h, importDir } = setup();
    const req = deliveryRequest(icaseworkCase(), 'mode-1');
    // A leftover temporary file of a crashed attempt, world-readable and writable: it must not keep its mode.
    const folder = path.join(importDir, requestFolderName(req.deliveryId));
    mkdirSync(folder);
    writeFileSync(path.join(folder, 'ccrt.csv.part'), 'EXTERNAL_CASE_ID', { mode: 0o666 });
    chmodSync(path.join(folder, 'ccrt.csv.part'), 0o666);
    await importCase.deliver(req, h.ctx);
    for (const name of ['ccrt.csv', 'natural_person.csv']) {
      const file = path.join(folder, name);
      // The stat the server itself answers (SFTP stat over OpenSSH; FTP: the LIST line), and the file on disk.
      expect(await withTransport(h.ctx, (t) => t.mode(file))).toBe(0o600);
      expect(statSync(file).mode & 0o777).toBe(0o600);
    }
    const { h: h2, importDir: importDir2 } = setup({ fileMode: '0640' });
    const res = await importCase.deliver(deliveryRequest(icaseworkCase(), 'mode-2'), h2.ctx);
    expect(statSync(path.join(importDir2, String(res.summary!.requestId), 'ccrt.csv')).mode & 0o777).toBe(0o640);
  });

  test('with a staging folder the request folder appears in the import folder in one rename', async () => {
    const staging = path.join(env.dataDir(), `staging-${env.count() + 1}`);
    mkdirSync(staging);
    const { h, importDir } = setup({ sftp: { stagingDir: staging } as IsupportSettings['sftp'] });
    const events: string[] = [];
    const watcher = watch(importDir, (type, name) => events.push(`${type}:${String(name)}`));
    const res = await importCase.deliver(deliveryRequest(icaseworkCase(), 'staged-1'), h.ctx);
    await eventually(async () => events.length > 0, 10000, 'the rename into the import folder');
    watcher.close();
    expect(events).toEqual([`rename:${res.summary!.requestId}`]);
    expect(readdirSync(path.join(importDir, String(res.summary!.requestId))).sort()).toEqual(['ccrt.csv', 'natural_person.csv']);
    expect(readdirSync(staging)).toEqual([]);
  });
});

describe('csv writer', () => {
  test('quotes and neutralises exactly the cells that need it', () => {
    expect(neutraliseFormula('=1+1')).toBe("'=1+1");
    expect(neutraliseFormula('plain')).toBe('plain');
    expect(neutraliseFormula('-5')).toBe('-5');
    expect(neutraliseFormula('-5 + cmd')).toBe("'-5 + cmd");
    // Phone numbers stay as they are; anything with a letter, reference or call after the + does not.
    expect(neutraliseFormula('+44 28 9000 0000')).toBe('+44 28 9000 0000');
    expect(neutraliseFormula('+1 (916) 555-0100')).toBe('+1 (916) 555-0100');
    expect(neutraliseFormula('+1 916 A1')).toBe("'+1 916 A1");
    expect(neutraliseFormula('+cmd|/C calc')).toBe("'+cmd|/C calc");
    expect(neutraliseFormula('+1+SUM(A1)')).toBe("'+1+SUM(A1)");
    const file = (rows: Array<Array<string | null | undefined>>) => toCsv(['A', 'B'], rows).toString('utf8');
    expect(file([['a,b', 'say "x"']])).toBe('A,B\r\n"a,b","say ""x"""\r\n');
    expect(file([['l1\nl2', undefined]])).toBe('A,B\r\n"l1\nl2",\r\n');
    expect(file([['plain', null]])).toBe('A,B\r\nplain,\r\n');
    // A neutralised cell is quoted as well; plain numbers and phone numbers are left as they are.
    expect(file([['1', '=2']])).toBe(`A,B\r\n1,"'=2"\r\n`);
    expect(file([['-5', '+44 28 9000 0000']])).toBe('A,B\r\n-5,+44 28 9000 0000\r\n');
    expect(file([])).toBe('A,B\r\n');
    expect([...toCsv(['A'], [], { bom: true }).subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
  });

  test('the default layout files in config/isupport are valid', () => {
    const layout = loadImportLayout({ sftp: {} as IsupportSettings['sftp'], api: { baseUrl: 'x' } });
    expect(Object.keys(layout.files)).toEqual(['ccrt.csv', 'natural_person.csv']);
    expect(existsSync(path.join(REPO, 'config', 'isupport', 'export-layout.json'))).toBe(true);
  });
});
