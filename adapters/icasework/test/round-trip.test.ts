/**
 * Round trip: an iCasework case -> canonical -> createcase / updatecase parameters keeps Details, Customer.Id and
 * the case type's own fields (fast-check over generated cases), both on the flat record alone and over loopback
 * (a case opened in the sandbox, read with getcasedetails, polled into canonical and created again through the
 * adapter's createCase: the new case holds the same fields and the same customer).
 */
import fc from 'fast-check';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { caseFromFlat } from '../src/canonical';
import { IcaseworkClient } from '../src/client';
import { createCaseParamsFor, updateCaseParams } from '../src/actions';
import { ISO_639_1 } from '../src/rules';
import { adapter, deliveryRequest, sandboxSuite, settingsFor } from './fixtures';

/** Parameters a type field may not be named (the client, the case's identity, the customer and document blocks). */
const RESERVED = new Set(['Type', 'Key', 'Signature', 'Format', 'db', 'access_token', 'ExternalId', 'CaseId', 'Attribute', 'Value', 'RequestMethod', 'RequestDate', 'Details', 'CSVHeader']);

const CASE_TYPES = ['Complaint', 'Information request', 'CrossBorderRecovery', 'EmergencyTravelDocument', 'Enquiry'];
const fieldName = fc.stringMatching(/^[A-Z][A-Za-z0-9]{0,11}$/).filter((n) => !RESERVED.has(n));
/** Values as XML carries them: no leading/trailing blanks (elements are trimmed), markup characters included. */
const value = fc.stringMatching(/^[A-Za-z0-9](?:[A-Za-z0-9 ,.'"&<>;:\/-]{0,40}[A-Za-z0-9])?$/);
const LANGS = [...ISO_639_1];

interface GeneratedCase {
  type: string;
  details: string;
  fields: Record<string, string>;
  customerRef: string;
  firstName: string;
  surname: string;
  language: string;
}

const generatedCase: fc.Arbitrary<GeneratedCase> = fc.record({
  type: fc.constantFrom(...CASE_TYPES),
  details: value,
  fields: fc.dictionary(fieldName, value, { maxKeys: 6 }),
  customerRef: fc.stringMatching(/^[0-9]{3,8}$/),
  firstName: value,
  surname: value,
  language: fc.constantFrom(...LANGS),
});

/** The flat getcasedetails record iCasework would export for the case (recorded element names). */
function flatOf(g: GeneratedCase, caseId = '487347'): Record<string, string> {
  const group = `CaseDetails${g.type.replace(/[^A-Za-z0-9]/g, '')}`;
  const flat: Record<string, string> = { [`${group}.Details`]: g.details };
  for (const [k, v] of Object.entries(g.fields)) flat[`${group}.${k}`] = v;
  Object.assign(flat, {
    'CaseDetails.CaseId': caseId,
    'CaseDetails.ExternalId': '',
    'CaseDetails.CaseType': g.type,
    'CaseStatus.Status': 'Open',
    'MainParty.Reference': g.customerRef,
    'MainParty.FirstName': g.firstName,
    'MainParty.LastName': g.surname,
    'MainParty.ContactLanguage': g.language,
  });
  return flat;
}

function expectKept(params: Record<string, string | undefined>, g: GeneratedCase): void {
  expect(params.Details).toBe(g.details);
  for (const [k, v] of Object.entries(g.fields)) expect([k, params[k]]).toEqual([k, v]);
}

describe('iCasework round trip', () => {
  it('property: case -> canonical -> createcase parameters keeps Type, Details, Customer.Id, the customer and every type field', () => {
    fc.assert(
      fc.property(generatedCase, (g) => {
        const c = caseFromFlat(flatOf(g), { connection: 'icw' });
        const params = createCaseParamsFor(deliveryRequest(c, 'createCase', {}, { hubId: 'hub-rt' }), {}, 'hub-rt');
        expect(params.Type).toBe(g.type);
        expectKept(params, g);
        expect(params['Customer.Id']).toBe(g.customerRef);
        expect([params['Customer.FirstName'], params['Customer.Surname'], params['Customer.ContactLanguage']]).toEqual([g.firstName, g.surname, g.language]);
        expect(params.ExternalId).toBe('hub-rt');
      }),
      { numRuns: 300 },
    );
  });

  it('property: case -> canonical -> updatecase parameters keeps Details and every type field, and targets the case', () => {
    fc.assert(
      fc.property(generatedCase, (g) => {
        const c = caseFromFlat(flatOf(g), { connection: 'icw' });
        const calls = updateCaseParams(deliveryRequest(c, 'updateCase', {}), { CaseId: '487347' });
        expect(calls).toHaveLength(1);
        expectKept(calls[0], g);
        expect(calls[0].CaseId).toBe('487347');
        expect(Object.keys(calls[0]).sort()).toEqual(['CaseId', 'Details', ...Object.keys(g.fields)].sort());
      }),
      { numRuns: 300 },
    );
  });

  it('the negative: customerIdFromExtension false drops Customer.Id (and the guard against a foreign party id stays)', () => {
    const g: GeneratedCase = { type: 'Complaint', details: 'd', fields: {}, customerRef: '214641', firstName: 'A', surname: 'B', language: 'en' };
    const c: CanonicalCase = caseFromFlat(flatOf(g), { connection: 'icw' });
    expect(createCaseParamsFor(deliveryRequest(c, 'createCase'), { customerIdFromExtension: false })['Customer.Id']).toBeUndefined();
    delete c.parties[0].extensions;
    expect(createCaseParamsFor(deliveryRequest(c, 'createCase'))['Customer.Id']).toBeUndefined();
    expect(createCaseParamsFor(deliveryRequest(c, 'createCase'), { customerIdFromParty: true })['Customer.Id']).toBe('214641');
  });

  describe('over loopback', () => {
    const suite = sandboxSuite({ caseTypes: '*' });

    it('property: a case opened in iCasework, read back and created again through createCase, then updated with updateCase, keeps its fields and customer', async () => {
      let n = 0;
      await fc.assert(
        fc.asyncProperty(generatedCase, async (g) => {
          n++;
          const h = suite.harness();
          // A caseworker opens the case in iCasework.
          const original = suite.sandbox.insertCase({
            Type: g.type,
            Details: g.details,
            ...g.fields,
            'Customer.Id': `C${g.customerRef}-${n}`,
            'Customer.FirstName': g.firstName,
            'Customer.Surname': g.surname,
            'Customer.ContactLanguage': g.language,
          })!;
          const client = new IcaseworkClient(h.ctx, settingsFor(suite.sandbox));
          const [flat] = await client.getCaseDetails({ CaseId: original.caseId });
          const canonical = caseFromFlat(flat, { connection: 'icw' });
          // Back into iCasework as a new case.
          const hubId = `hub-rt-${n}`;
          const created = await adapter.actions.createCase.deliver(deliveryRequest(canonical, 'createCase', {}, { hubId, earlierAttempts: 0 }), h.ctx);
          const copy = suite.sandbox.getCase(created.references![0].id)!;
          expect(copy.type).toBe(g.type);
          expect(copy.fields).toEqual(original.fields);
          expect(copy.customerRef).toBe(original.customerRef);
          // updatecase of the copy with the same canonical case leaves the same fields.
          await adapter.actions.updateCase.deliver(deliveryRequest(canonical, 'updateCase', {}, { hubId, references: created.references! }), h.ctx);
          expect(suite.sandbox.getCase(copy.caseId)!.fields).toEqual(original.fields);
        }),
        { numRuns: 25 },
      );
    });
  });
});
