/**
 * Reference data: a reference-data export folder is loaded into the lookup table, which then validates and translates
 * coded values both ways (export: iSupport code -> canonical, import: canonical -> iSupport code).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ValidationError } from '../../../src/core/errors';
import adapter from '../index';
import { runExportScan } from '../src/export-source';
import { loadCodeLists } from '../src/layout';
import { CodeTranslator, forgetCachedReferenceData, getReferenceData, type ReferenceSnapshot } from '../src/reference-data';
import type { IsupportSettings } from '../src/settings';
import { copySampleReference, deliveryRequest, icaseworkCase, parseCsvText, sftpTestEnv } from './helpers/fixtures';
import { readFileSync } from 'node:fs';

const env = sftpTestEnv('r', { polling: { stableWaitMs: 0 } });

function setup(extra: Partial<IsupportSettings> = {}) {
  const { settings, h, dirs } = env.setup(extra);
  return { settings, h, dirs };
}

describe('reference data', () => {
  test('a reference-data export is loaded into the cached lookup table', async () => {
    const { h, dirs } = setup();
    copySampleReference(dirs.exportDir, 'REQ-01012016000000-20001');
    const result = await runExportScan(h.ctx, h.emit);
    expect(result.reports[0]).toMatchObject({
      kind: 'reference',
      outcome: 'processed',
      referenceTables: { MEMBER_ROLE: 3, WORKER_ROLE: 2, COUNTRY: 9, CASE_CATEGORY: 5, CASE_STATUS: 3, GENDER: 3 },
    });
    expect(h.emitted).toHaveLength(0);
    forgetCachedReferenceData();
    const snapshot = (await getReferenceData(h.ctx))!;
    expect(snapshot.tables.COUNTRY).toContainEqual({ code: 'UK(NI)', description: 'United Kingdom (Northern Ireland)' });
    expect(snapshot.sources.MEMBER_ROLE).toBe('REQ-01012016000000-20001');

    // Import now validates coded values against it: FR and GB (-> UK) exist, DE does not.
    const ok = await adapter.actions.importCase.deliver(deliveryRequest(icaseworkCase(), 'ref-ok'), h.ctx);
    const ccrt = parseCsvText(readFileSync(path.join(dirs.importDir, String(ok.summary!.requestId), 'ccrt.csv'), 'utf8'));
    const col = (name: string) => ccrt[1][ccrt[0].indexOf(name)];
    expect([col('REQUESTING_COUNTRY'), col('REQUESTED_COUNTRY')]).toEqual(['UK', 'FR']);
    const bad = icaseworkCase({ extensions: { isupport: { requestingCountry: 'GB', requestedCountry: 'DE' } } });
    const err = await adapter.actions.importCase.deliver(deliveryRequest(bad, 'ref-bad'), h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).fieldErrors).toEqual([{ 'ccrt.csv.REQUESTED_COUNTRY': 'has no code in reference table COUNTRY' }]);
  });

  test('codes translate through the reference descriptions in both directions', async () => {
    // A code-lists file without maps: iSupport's own role codes are learnt from the reference data.
    const codeListsFile = path.join(env.server().dataDir, 'my-code-lists.json');
    writeFileSync(
      codeListsFile,
      JSON.stringify({ lists: { role: { referenceTable: 'MEMBER_ROLE', fromDescription: true }, country: { referenceTable: 'COUNTRY', map: { 'UK(NI)': 'GB-NIR' } } } }),
    );
    const { h, dirs } = setup({ layouts: { codeLists: codeListsFile } });
    const ref = path.join(dirs.exportDir, 'REQ-REF');
    mkdirSync(ref);
    writeFileSync(path.join(ref, 'MEMBER_ROLE.csv'), 'CODE,DESCRIPTION\r\nC1,Creditor\r\nD1,Debtor\r\nK1,Child\r\n');
    writeFileSync(path.join(ref, 'COUNTRY.csv'), 'CODE,DESCRIPTION\r\nUS,United States\r\nUK(NI),United Kingdom (Northern Ireland)\r\n');
    await runExportScan(h.ctx, h.emit);

    const exp = path.join(dirs.exportDir, 'REQ-CASE');
    for (const s of ['CaseDetails', 'MemberDetails', 'WorkerDetails']) mkdirSync(path.join(exp, s), { recursive: true });
    writeFileSync(path.join(exp, 'CaseDetails', 'c.csv'), 'CASE_ID,REQUESTING_COUNTRY,REQUESTED_COUNTRY\r\nUS-UK(NI)-2020-1-US,US,UK(NI)\r\n');
    writeFileSync(path.join(exp, 'MemberDetails', 'm.csv'), 'CASE_ID,MEMBER_ID,MEMBER_ROLE,LAST_NAME\r\nUS-UK(NI)-2020-1-US,1,C1,A\r\nUS-UK(NI)-2020-1-US,2,D1,B\r\nUS-UK(NI)-2020-1-US,3,K1,C\r\nUS-UK(NI)-2020-1-US,4,ZZ,D\r\n');
    writeFileSync(path.join(exp, 'WorkerDetails', 'w.csv'), 'CASE_ID,WORKER_ID\r\n');
    const result = await runExportScan(h.ctx, h.emit);
    const c = h.emitted[0].case;
    expect(c.parties.map((p) => p.roles[0])).toEqual(['creditor', 'debtor', 'child', 'ZZ']);
    expect(c.extensions!.isupport.requestedCountry).toBe('GB-NIR');
    expect(result.reports[0].warnings).toEqual([expect.stringMatching(/row 4: MEMBER_ROLE has a code that is not in reference table MEMBER_ROLE/)]);

    // And back: canonical values become the reference codes.
    const t = new CodeTranslator(loadCodeLists(h.ctx.connection.settings), await getReferenceData(h.ctx));
    expect(t.fromCanonical('role', 'creditor')).toBe('C1');
    expect(t.fromCanonical('role', 'child')).toBe('K1');
    expect(t.fromCanonical('role', 'D1')).toBe('D1');
    expect(t.fromCanonical('role', 'grandparent')).toBeUndefined();
    expect(t.fromCanonical('country', 'GB-NIR')).toBe('UK(NI)');
    expect(t.fromCanonical('country', 'united states')).toBe('US');
  });

  test('without reference data the code-lists maps alone translate, and nothing is refused', () => {
    const lists = loadCodeLists({ sftp: {} as IsupportSettings['sftp'], api: { baseUrl: 'x' } });
    const t = new CodeTranslator(lists, null);
    expect(t.toCanonical('role', 'CRED')).toEqual({ value: 'creditor', known: true, description: undefined });
    expect(t.fromCanonical('role', 'debtor')).toBe('DEBT');
    expect(t.fromCanonical('country', 'GB')).toBe('UK');
    expect(t.fromCanonical('country', 'DE')).toBe('DE');
    expect(t.toCanonical('caseCategory', 'MOD').value).toBe('modification');
    const withRef = new CodeTranslator(lists, { updatedAt: '', sources: {}, tables: { CASE_CATEGORY: [{ code: 'XY', description: 'Special Procedure' }] } } as ReferenceSnapshot);
    expect(withRef.toCanonical('caseCategory', 'XY')).toEqual({ value: 'special-procedure', known: true, description: 'Special Procedure' });
    expect(withRef.toCanonical('caseCategory', 'MOD')).toMatchObject({ value: 'modification', known: false });
  });
});
