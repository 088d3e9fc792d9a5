/** Pure mapping rules: referenceIds, canonical -> registration row -> canonical. */
import fc from 'fast-check';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { buildRegistrationRow, diffForUpdate, normaliseLanguage, registrationToCase } from '../src/codec';
import { parseProgram } from '../src/program';
import { deriveReferenceId, isValidReferenceId, knownReferenceId } from '../src/reference-id';
import { resolveSettings } from '../src/settings';

const settings = resolveSettings({
  baseUrl: 'http://127.0.0.1:1/',
  programId: 2,
  username: 'admin@example.org',
  password: 'x',
  programFspConfigurationName: 'ironBank',
  attributeMapping: {
    'person.fullName': 'fullName',
    'person.birthDate': 'dob',
    'person.attributes.house': 'house',
    'contacts.whatsapp': 'whatsappPhoneNumber',
    'address.postcode': 'healthArea',
  },
});

const program = parseProgram({
  languages: ['en', 'nl'],
  programRegistrationAttributes: [
    { name: 'fullName', type: 'text' },
    { name: 'dob', type: 'date' },
    { name: 'house', type: 'dropdown', options: [{ option: 'stark' }, { option: 'greyjoy' }] },
    { name: 'phoneNumber', type: 'tel' },
    { name: 'whatsappPhoneNumber', type: 'tel' },
    { name: 'dragon', type: 'numeric' },
    { name: 'knowsNothing', type: 'boolean' },
    { name: 'healthArea', type: 'text' },
  ],
  paymentAmountMultiplierFormula: '1 + 1 * dragon',
});

describe('referenceIds', () => {
  it('derived ids are valid for 121 (5-200 chars, no $) and deterministic per hub id and program', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 10_000 }), (hubId, programId) => {
        const id = deriveReferenceId(hubId, programId, 'cw-');
        expect(isValidReferenceId(id)).toBe(true);
        expect(deriveReferenceId(hubId, programId, 'cw-')).toBe(id);
        expect(deriveReferenceId(hubId, programId + 1, 'cw-')).not.toBe(id);
      }),
    );
  });

  it('prefers the reference of this connection, then one without connection, then the 121 source id', () => {
    const base: CanonicalCase = { type: 't', source: { system: 'platform121', connection: 'p121', id: 'from-source-1' }, parties: [] };
    expect(knownReferenceId({ case: base, references: [] }, 'p121')).toBe('from-source-1');
    expect(knownReferenceId({ case: base, references: [] }, 'other')).toBeUndefined();
    expect(
      knownReferenceId(
        {
          case: base,
          references: [
            { system: 'platform121', connection: 'other', id: 'other-conn-1' },
            { system: 'platform121', id: 'no-conn-1' },
            { system: 'platform121', connection: 'p121', id: 'mine-1234' },
            { system: 'platform121', connection: 'p121', id: 'bad$id', kind: 'referenceId' },
          ],
        },
        'p121',
      ),
    ).toBe('mine-1234');
    expect(knownReferenceId({ case: { ...base, source: { system: 'icasework' } }, references: [{ system: 'platform121', connection: 'x', id: 'other-conn-1' }] }, 'p121')).toBeUndefined();
  });
});

describe('canonical -> registration row', () => {
  const c: CanonicalCase = {
    type: 'complaint',
    source: { system: 'icasework', id: '1' },
    parties: [
      { roles: ['caseworker'], person: { fullName: 'Not Me' } },
      {
        roles: ['customer'],
        person: { forenames: 'Arya', surname: 'Stark', birthDate: '2001-04-15', language: 'Dutch', gender: 'female', attributes: { house: 'stark' } },
        contacts: [
          { kind: 'email', value: 'arya@example.org' },
          { kind: 'mobile', value: '+31 (0)6-1234 5678' },
          { kind: 'whatsapp', value: '+31 6 8765 4321' },
        ],
        addresses: [{ postcode: '1234 AB', town: 'Winterfell' }],
      },
    ],
    extensions: { platform121: { attributes: { dragon: '2', knowsNothing: 'yes', paymentAmountMultiplier: 3, unknownThing: 'x' } } },
  };

  it('maps the beneficiary-like party, converts values to the attribute types and leaves unknown keys out', () => {
    const { row, dropped } = buildRegistrationRow(c, 'ref-00001', settings, program);
    expect(row).toEqual({
      referenceId: 'ref-00001',
      programFspConfigurationName: 'ironBank',
      fullName: 'Arya Stark',
      dob: '15-04-2001',
      house: 'stark',
      whatsappPhoneNumber: '31687654321',
      phoneNumber: '31612345678',
      preferredLanguage: 'nl',
      healthArea: '1234 AB',
      dragon: 2,
      knowsNothing: true,
    });
    expect(dropped.sort()).toEqual(['paymentAmountMultiplier', 'unknownThing']);
  });

  it('an unknown language is dropped, not sent', () => {
    const other = structuredClone(c);
    (other.parties[1].person as { language: string }).language = 'tlh';
    const { row, dropped } = buildRegistrationRow(other, 'ref-00002', settings, program);
    expect(row.preferredLanguage).toBeUndefined();
    expect(dropped).toContain('preferredLanguage');
    expect(normaliseLanguage('en-GB', ['en', 'nl'])).toBe('en');
    expect(normaliseLanguage('English', ['en', 'nl'])).toBe('en');
  });

  it('diffForUpdate sends only changed values and never the FSP unless asked', () => {
    const current = { id: 1, referenceId: 'r', status: 'new', fullName: 'Arya Stark', dob: '15-04-2001', dragon: '2', programFspConfigurationName: 'gringotts' };
    const data = diffForUpdate({ referenceId: 'r', fullName: 'Arya Stark', dob: '16-04-2001', dragon: 2, programFspConfigurationName: 'ironBank' }, current, false);
    expect(data).toEqual({ dob: '16-04-2001' });
    expect(diffForUpdate({ referenceId: 'r', programFspConfigurationName: 'ironBank' }, current, true)).toEqual({ programFspConfigurationName: 'ironBank' });
  });
});

describe('registration -> canonical', () => {
  it('puts mapped attributes back on their paths and the rest under person.attributes / extensions', () => {
    const c = registrationToCase(
      {
        id: 12,
        referenceId: 'ref-12345',
        status: 'included',
        programId: 2,
        registrationProgramId: 4,
        fspName: 'Excel',
        programFspConfigurationName: 'ironBank',
        programFspConfigurationLabel: { en: 'Iron Bank' },
        preferredLanguage: 'nl',
        paymentAmountMultiplier: 3,
        created: '2026-01-01T00:00:00.000Z',
        name: 'Arya Stark',
        fullName: 'Arya Stark',
        dob: '15-04-2001',
        house: 'stark',
        phoneNumber: '31612345678',
        whatsappPhoneNumber: '31687654321',
        healthArea: '1234 AB',
        dragon: '2',
      },
      { connection: 'p121', settings, program },
    );
    expect(c.parties[0]).toEqual({
      id: 'ref-12345',
      roles: ['beneficiary'],
      person: { fullName: 'Arya Stark', birthDate: '2001-04-15', language: 'nl', attributes: { house: 'stark', dragon: '2' } },
      contacts: [
        { kind: 'phone', value: '31612345678', preferred: true },
        { kind: 'whatsapp', value: '31687654321' },
      ],
      addresses: [{ postcode: '1234 AB' }],
      preferences: { language: 'nl' },
    });
    expect(c.extensions?.platform121).toEqual({
      programId: 2,
      registrationId: 12,
      registrationProgramId: 4,
      fspName: 'Excel',
      programFspConfigurationName: 'ironBank',
      programFspConfigurationLabel: { en: 'Iron Bank' },
      paymentAmountMultiplier: 3,
      created: '2026-01-01T00:00:00.000Z',
      attributes: {
        fullName: 'Arya Stark',
        dob: '15-04-2001',
        house: 'stark',
        phoneNumber: '31612345678',
        whatsappPhoneNumber: '31687654321',
        healthArea: '1234 AB',
        dragon: '2',
      },
    });
    expect(c.status).toBe('included');
  });
});
