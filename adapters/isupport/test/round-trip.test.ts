/**
 * Export -> canonical -> import is lossless: for generated iSupport export rows (CaseDetails, MemberDetails,
 * WorkerDetails with every column the export layout defines), the canonical case the export codec builds is encoded by
 * the import codec into ccrt.csv / natural_person.csv cells equal to the exported ones, column by column, and the CSV
 * files written from them read back to the same cells. The contract below names, for every export column, the import
 * column it comes back in; a column added to a layout without a counterpart fails the coverage test.
 */
import fc from 'fast-check';
import { Readable } from 'node:stream';
import canonicalSchema from '../../../schemas/canonical-case.schema.json';
import { createAjv } from '../../../src/core/config/ajv';
import { readCsv } from '../src/csv-reader';
import { neutraliseFormula, toCsv } from '../src/csv-writer';
import { buildCase, type CaseRows, type SectionRow } from '../src/export-codec';
import { encodeImport } from '../src/import-codec';
import { exportPaths, loadCodeLists, loadExportLayout, loadImportLayout } from '../src/layout';
import { CodeTranslator } from '../src/reference-data';
import type { IsupportSettings } from '../src/settings';

const settings = { sftp: { host: 'x', username: 'x', exportDir: '/e', importDir: '/i' }, api: { baseUrl: 'http://x' } } as IsupportSettings;
const exportLayout = loadExportLayout(settings);
const importLayout = loadImportLayout(settings);
const translator = new CodeTranslator(loadCodeLists(settings), null);
const validCase = createAjv().compile(canonicalSchema);

/** Export column -> the import column it comes back in (ccrt.csv for CaseDetails, natural_person.csv for the others). */
const CASE_CONTRACT: Record<string, string> = {
  CASE_ID: 'EXTERNAL_CASE_ID',
  APPLICATION_ID: 'APPLICATION_ID',
  CASE_CATEGORY: 'CASE_CATEGORY',
  CASE_STATUS: 'CASE_STATUS',
  REQUESTING_COUNTRY: 'REQUESTING_COUNTRY',
  REQUESTED_COUNTRY: 'REQUESTED_COUNTRY',
  CASE_OPEN_DATE: 'CASE_OPEN_DATE',
  LAST_UPDATE_DATE: 'LAST_UPDATE_DATE',
  CASE_CLOSE_DATE: 'CASE_CLOSE_DATE',
  RECEIVED_DATE: 'RECEIVED_DATE',
  CASE_DESCRIPTION: 'CASE_DESCRIPTION',
  PAYMENT_FREQUENCY: 'PAYMENT_FREQUENCY',
  MONTHLY_AMOUNT: 'MONTHLY_AMOUNT',
  CURRENCY: 'CURRENCY',
};
const MEMBER_CONTRACT: Record<string, string> = {
  MEMBER_ID: 'EXTERNAL_PERSON_ID',
  MEMBER_ROLE: 'MEMBER_ROLE',
  RELATIONSHIP: 'RELATIONSHIP',
  FIRST_NAME: 'FIRST_NAME',
  LAST_NAME: 'LAST_NAME',
  BIRTH_DATE: 'BIRTH_DATE',
  GENDER: 'GENDER',
  NATIONALITY: 'NATIONALITY',
  LANGUAGE: 'LANGUAGE',
  ADDRESS_LINE1: 'ADDRESS_LINE1',
  ADDRESS_LINE2: 'ADDRESS_LINE2',
  CITY: 'CITY',
  POSTAL_CODE: 'POSTAL_CODE',
  COUNTRY: 'COUNTRY',
  EMAIL: 'EMAIL',
  PHONE: 'PHONE',
};
const WORKER_CONTRACT: Record<string, string> = {
  WORKER_ID: 'EXTERNAL_PERSON_ID',
  WORKER_ROLE: 'WORKER_ROLE',
  FIRST_NAME: 'FIRST_NAME',
  LAST_NAME: 'LAST_NAME',
  OFFICE: 'OFFICE',
  EMAIL: 'EMAIL',
  PHONE: 'PHONE',
};

// Generators. Free text avoids leading/trailing blanks (the export trims) and formula starts (the writer prefixes
// them with ', tested in import-action.test.ts); it does hold commas, quotes, line breaks and non-ASCII.
const textChars = fc.constantFrom(...'abcxyzABCXYZ 019,;"\'()/é ß中\n'.split(''));
const text = (max = 30) =>
  fc
    .array(textChars, { minLength: 1, maxLength: max })
    .map((cs) => cs.join('').trim())
    .filter((s) => s.length > 0 && !/^[=+\-@\t\r]/.test(s));
const optional = <T extends string>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: '' as T, freq: 3 });
const country = fc.constantFrom('US', 'FR', 'UK', 'UK(NI)', 'UK(SC)', 'US(CA)', 'PT', 'NL', 'DE');
const two = (n: number) => String(n).padStart(2, '0');
const date = fc.record({ y: fc.integer({ min: 1950, max: 2030 }), m: fc.integer({ min: 1, max: 12 }), d: fc.integer({ min: 1, max: 28 }) }).map(({ y, m, d }) => `${y}-${two(m)}-${two(d)}`);
const dateTime = fc
  .tuple(date, fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }))
  .map(([d, h, mi, s]) => `${d} ${two(h)}:${two(mi)}:${two(s)}`);
const id = fc.stringMatching(/^[A-Z]{1,2}-[0-9]{1,6}$/);
const amount = fc.integer({ min: 0, max: 10_000_000 }).map((c) => `${Math.floor(c / 100)}.${two(c % 100)}`);

const caseRowArb = fc.record({
  CASE_ID: fc.tuple(country, country, fc.integer({ min: 2000, max: 2030 }), fc.integer({ min: 1, max: 9999 })).map(([a, b, y, n]) => `${a}-${b}-${y}-100_${String(n).padStart(4, '0')}-${a}`),
  APPLICATION_ID: optional(fc.stringMatching(/^[A-Z]{2}-[A-Z]{2}-20[0-9]{2}-100_[0-9]{4}-[A-Z]{2}\/(REC|ENF|MOD)-0[1-9]$/)),
  CASE_CATEGORY: optional(fc.constantFrom('REC', 'RENF', 'ENF', 'EST', 'MOD')),
  CASE_STATUS: optional(fc.constantFrom('OPEN', 'CLOSED', 'PENDING', 'SUSPENDED')),
  REQUESTING_COUNTRY: country,
  REQUESTED_COUNTRY: country,
  CASE_OPEN_DATE: optional(date),
  LAST_UPDATE_DATE: optional(dateTime),
  CASE_CLOSE_DATE: optional(date),
  RECEIVED_DATE: optional(date),
  CASE_DESCRIPTION: optional(text(80)),
  PAYMENT_FREQUENCY: optional(fc.constantFrom('MONTHLY', 'WEEKLY', 'YEARLY')),
  MONTHLY_AMOUNT: optional(amount),
  CURRENCY: optional(fc.constantFrom('USD', 'EUR', 'GBP')),
});
const memberArb = (role: fc.Arbitrary<string>) =>
  fc.record({
    MEMBER_ID: id,
    MEMBER_ROLE: role,
    RELATIONSHIP: optional(fc.constantFrom('Mother', 'Father', 'Son', 'Daughter', 'Guardian')),
    FIRST_NAME: optional(text()),
    LAST_NAME: text(),
    BIRTH_DATE: optional(date),
    GENDER: optional(fc.constantFrom('M', 'F', 'U')),
    NATIONALITY: optional(country),
    LANGUAGE: optional(fc.constantFrom('en', 'fr', 'pt', 'nl')),
    ADDRESS_LINE1: optional(text()),
    ADDRESS_LINE2: optional(text()),
    CITY: optional(text(20)),
    POSTAL_CODE: optional(fc.stringMatching(/^[A-Z0-9]{2,4} ?[A-Z0-9]{0,3}$/).filter((s) => s.trim() === s)),
    COUNTRY: optional(country),
    EMAIL: optional(fc.emailAddress()),
    PHONE: optional(fc.stringMatching(/^\+[1-9][0-9]{1,3}( [0-9]{2,4}){1,3}$/)),
  });
const workerArb = fc.record({
  WORKER_ID: id,
  WORKER_ROLE: optional(fc.constantFrom('CASE WORKER', 'MANAGER')),
  FIRST_NAME: optional(text()),
  LAST_NAME: text(),
  OFFICE: optional(text()),
  EMAIL: optional(fc.emailAddress()),
  PHONE: optional(fc.stringMatching(/^\+[1-9][0-9]{1,3}( [0-9]{2,4}){1,3}$/)),
});
const exportArb = fc.record({
  caseRow: caseRowArb,
  creditor: memberArb(fc.constant('CRED')),
  others: fc.array(memberArb(fc.constantFrom('CRED', 'DEBT', 'CHLD')), { maxLength: 4 }),
  workers: fc.array(workerArb, { maxLength: 3 }),
});

function sectionRow(file: string, caseId: string, values: Record<string, string>, row: number): SectionRow {
  const withId = { CASE_ID: caseId, ...values };
  return { row, cells: Object.values(withId), extraCells: 0, missingCells: 0, caseId, file, header: Object.keys(withId) };
}

function rowsOf(table: { header: string[]; rows: string[][] }): Array<Record<string, string>> {
  return table.rows.map((r) => Object.fromEntries(table.header.map((h, i) => [h, r[i]])));
}

async function readBack(buf: Buffer): Promise<Array<Record<string, string>>> {
  const reader = readCsv(Readable.from([buf]));
  const out: Array<Record<string, string>> = [];
  for await (const row of reader.rows) out.push(row.values);
  return out;
}

describe('export -> canonical -> import round trip', () => {
  test('every column of both layouts is covered by the contract', () => {
    const sections = exportLayout.sections;
    expect(sections.CaseDetails.columns.map((c) => c.column).sort()).toEqual(Object.keys(CASE_CONTRACT).sort());
    expect(sections.MemberDetails.columns.map((c) => c.column).sort()).toEqual(Object.keys(MEMBER_CONTRACT).sort());
    expect(sections.WorkerDetails.columns.map((c) => c.column).sort()).toEqual(Object.keys(WORKER_CONTRACT).sort());
    const ccrt = importLayout.files['ccrt.csv'].columns.map((c) => c.column);
    const persons = importLayout.files['natural_person.csv'].columns.map((c) => c.column);
    // Import columns not fed by an export column are the hub's own: where the case came from and its hub id.
    expect(ccrt.filter((c) => !Object.values(CASE_CONTRACT).includes(c)).sort()).toEqual(['HUB_ID', 'SOURCE_SYSTEM']);
    expect(persons.filter((c) => !Object.values(MEMBER_CONTRACT).includes(c) && !Object.values(WORKER_CONTRACT).includes(c)).sort()).toEqual(['EXTERNAL_CASE_ID']);
    // The case category and status are read back from where the export puts them.
    const cat = sections.CaseDetails.columns.find((c) => c.column === 'CASE_CATEGORY')!;
    expect(exportPaths(cat)).toContain(importLayout.files['ccrt.csv'].columns.find((c) => c.column === 'CASE_CATEGORY')!.source);
  });

  test('generated cases come back column for column (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(exportArb, async (gen) => {
        const caseId = gen.caseRow.CASE_ID;
        const { CASE_ID: _id, ...caseValues } = gen.caseRow;
        const members = [gen.creditor, ...gen.others];
        const rows: CaseRows = {
          caseId,
          caseRow: sectionRow('CaseDetails/CaseDetails.csv', caseId, caseValues, 1),
          members: members.map((m, i) => sectionRow('MemberDetails/MemberDetails.csv', caseId, m, i + 1)),
          workers: gen.workers.map((w, i) => sectionRow('WorkerDetails/WorkerDetails.csv', caseId, w, i + 1)),
        };
        const built = buildCase({ layout: exportLayout, translator, connection: 'isupport', folder: 'REQ-1', fingerprint: 'f'.repeat(64), exportedAt: '2030-01-01T00:00:00.000Z' }, rows);
        if (!built.ok) throw new Error(`export rejected a generated case: ${built.reasons.join('; ')}`);
        expect([validCase(built.case), validCase.errors ?? null]).toEqual([true, null]);
        // RECEIVED_DATE is the case's, never the export file's time.
        expect(built.case.receivedAt ?? null).toBe(gen.caseRow.RECEIVED_DATE || null);
        const encoded = encodeImport(built.case, importLayout, translator);
        expect(encoded.problems).toEqual([]);

        const ccrt = rowsOf(encoded.files['ccrt.csv']);
        expect(ccrt).toHaveLength(1);
        for (const [from, to] of Object.entries(CASE_CONTRACT)) {
          const expected = to === 'RECEIVED_DATE' ? gen.caseRow.RECEIVED_DATE || gen.caseRow.CASE_OPEN_DATE : gen.caseRow[from as keyof typeof gen.caseRow];
          expect([to, ccrt[0][to]]).toEqual([to, expected]);
        }
        expect(ccrt[0].SOURCE_SYSTEM).toBe('isupport');

        const persons = rowsOf(encoded.files['natural_person.csv']);
        expect(persons).toHaveLength(members.length + gen.workers.length);
        members.forEach((m, i) => {
          for (const [from, to] of Object.entries(MEMBER_CONTRACT)) expect([i, to, persons[i][to]]).toEqual([i, to, m[from as keyof typeof m]]);
          expect(persons[i]).toMatchObject({ EXTERNAL_CASE_ID: caseId, WORKER_ROLE: '', OFFICE: '' });
        });
        gen.workers.forEach((w, k) => {
          const p = persons[members.length + k];
          for (const [from, to] of Object.entries(WORKER_CONTRACT)) expect([k, to, p[to]]).toEqual([k, to, w[from as keyof typeof w]]);
          expect(p).toMatchObject({ EXTERNAL_CASE_ID: caseId, MEMBER_ROLE: 'WORK' });
        });

        // And the files written from those cells read back to the same cells (a cell that would start a spreadsheet
        // formula, e.g. an e-mail address beginning with "+", carries the writer's leading quote: that is the one
        // documented change).
        for (const name of ['ccrt.csv', 'natural_person.csv'] as const) {
          const t = encoded.files[name];
          const expected = rowsOf(t).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, neutraliseFormula(v)])));
          expect(await readBack(toCsv(t.header, t.rows, { bom: false }))).toEqual(expected);
        }
      }),
      { numRuns: 200 },
    );
  });

  test('a layout sending two columns to clashing paths refuses the case, naming the columns and never the values', () => {
    // LAST_NAME goes to person (a string) and FIRST_NAME under it: the path language overwrites nothing.
    const member = exportLayout.sections.MemberDetails;
    const clashing = {
      ...exportLayout,
      sections: {
        ...exportLayout.sections,
        MemberDetails: {
          ...member,
          columns: member.columns.map((c) => (c.column === 'LAST_NAME' ? { ...c, path: 'person' } : c.column === 'FIRST_NAME' ? { ...c, path: 'person.forenames' } : c)),
        },
      },
    };
    const rows: CaseRows = {
      caseId: 'US-FR-2016-100_0001-US',
      caseRow: sectionRow('CaseDetails/c.csv', 'US-FR-2016-100_0001-US', { REQUESTING_COUNTRY: 'US', REQUESTED_COUNTRY: 'FR', CASE_OPEN_DATE: '2016-01-02' }, 1),
      members: [sectionRow('MemberDetails/m.csv', 'US-FR-2016-100_0001-US', { MEMBER_ID: 'M1', MEMBER_ROLE: 'CRED', LAST_NAME: 'Secretname', FIRST_NAME: 'Hiddenfirst' }, 1)],
      workers: [],
    };
    const cx = { translator, connection: 'isupport', folder: 'REQ-1', fingerprint: 'f' };
    const built = buildCase({ ...cx, layout: clashing }, rows);
    expect(built.ok).toBe(false);
    const reasons = built.ok ? [] : built.reasons;
    expect(reasons).toEqual(['MemberDetails MemberDetails/m.csv row 1: FIRST_NAME cannot be written to person.forenames: another column of the layout put a value on its way']);
    expect(JSON.stringify(reasons)).not.toMatch(/Secretname|Hiddenfirst/);
    // The same rows with the shipped layout build a case (the refusal is the clash, not the data).
    const ok = buildCase({ ...cx, layout: exportLayout }, rows);
    expect(ok.ok && ok.case.parties[0].person).toEqual({ surname: 'Secretname', forenames: 'Hiddenfirst' });
  });

  test('the checks can fail: a case whose RECEIVED_DATE came from the file time would not match', () => {
    const rows: CaseRows = {
      caseId: 'US-FR-2016-100_0001-US',
      caseRow: sectionRow('CaseDetails/c.csv', 'US-FR-2016-100_0001-US', { REQUESTING_COUNTRY: 'US', REQUESTED_COUNTRY: 'FR', CASE_OPEN_DATE: '2016-01-02' }, 1),
      members: [sectionRow('MemberDetails/m.csv', 'US-FR-2016-100_0001-US', { MEMBER_ID: 'M1', MEMBER_ROLE: 'CRED', LAST_NAME: 'A' }, 1)],
      workers: [],
    };
    const built = buildCase({ layout: exportLayout, translator, connection: 'isupport', folder: 'REQ-1', fingerprint: 'f', exportedAt: '2030-01-01T00:00:00.000Z' }, rows);
    if (!built.ok) throw new Error('rejected');
    expect(built.case.receivedAt).toBeUndefined();
    expect(built.case.extensions!.isupport.exportedAt).toBe('2030-01-01T00:00:00.000Z');
    const ccrt = rowsOf(encodeImport(built.case, importLayout, translator).files['ccrt.csv'])[0];
    expect(ccrt.RECEIVED_DATE).toBe('2016-01-02');
    // With the file time as receivedAt (the old behaviour) the contract would see 2030-01-01.
    const old = rowsOf(encodeImport({ ...built.case, receivedAt: '2030-01-01T00:00:00.000Z' }, importLayout, translator).files['ccrt.csv'])[0];
    expect(old.RECEIVED_DATE).not.toBe('2016-01-02');
  });
});

