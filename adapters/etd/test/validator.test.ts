import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createValidator, isRealDate, type FieldError } from '../src/validator';
import type { JsonObject } from '../src/json';
import { edit, SEED_ERRORS, seedBody, validBody } from './support';

const validate = (body: unknown, settings = {}): FieldError[] => createValidator(settings).validate(body);

/** The valid sample with dotted-path edits applied to its etdApp (undefined deletes). */
function appWith(edits: Record<string, unknown>): JsonObject {
  const body = validBody();
  for (const [p, v] of Object.entries(edits)) edit(body, `etdApp.${p}`, v);
  return body;
}

describe('ETD validator: the spec examples', () => {
  test('the seed example request answers the exact error list (required fields left empty, years "x")', () => {
    expect(validate(seedBody())).toEqual(SEED_ERRORS);
  });

  test('the seed fixture (the spec example, copied verbatim with its tabs) is read from inside the repository', () => {
    const fixture = readFileSync(path.join(__dirname, 'fixtures', 'seed-example.json'), 'utf8');
    // The spec's example is indented with tabs and mixed spaces; the copy keeps them (no reformatting).
    expect(fixture).toMatch(/^\{\n\t"etdApp": \{/);
    expect(JSON.parse(fixture)).toEqual(seedBody());
  });

  test('the fully valid sample passes', () => {
    expect(validate(validBody())).toEqual([]);
  });

  test('the spec example error shape: dotted paths, Invalid format and Required together, all at once', () => {
    const errors = validate(appWith({ 'appDetails.birthDate': '02/03/1995', 'appDetails.surname': '' }));
    expect(errors).toEqual([{ 'appDetails.surname': 'Required' }, { 'appDetails.birthDate': 'Invalid format' }]);
  });

  test('a missing field and a field left "" are both Required', () => {
    expect(validate(appWith({ 'appDetails.forenames': undefined, 'appDetails.birthCity': '' }))).toEqual([
      { 'appDetails.forenames': 'Required' },
      { 'appDetails.birthCity': 'Required' },
    ]);
  });

  test('a missing block is one Required for the block', () => {
    expect(validate(appWith({ lostStolenDetails: undefined, journeyDetails: undefined }))).toEqual([
      { lostStolenDetails: 'Required' },
      { journeyDetails: 'Required' },
    ]);
  });

  test('bodies that are not {"etdApp": {...}}', () => {
    expect(validate([])).toEqual([{ etdApp: 'Required' }]);
    expect(validate('x')).toEqual([{ etdApp: 'Required' }]);
    expect(validate({})).toEqual([{ etdApp: 'Required' }]);
    expect(validate({ etdApp: 'x' })).toEqual([{ etdApp: 'Invalid format' }]);
    expect(validate({ ...validBody(), extra: 1 })).toEqual([{ extra: 'Invalid format' }]);
  });
});

describe('ETD validator: formats and maximum lengths', () => {
  test.each([
    ['appDetails.birthDate', '1995-02-29', 'Invalid format'], // not a leap year
    ['appDetails.birthDate', '1995-13-01', 'Invalid format'],
    ['appDetails.birthDate', '1995-3-2', 'Invalid format'],
    ['appDetails.birthDate', '1995-03-021', 'Maximum length exceeded (10)'],
    ['lostStolenDetails.date', '2024-04-31', 'Invalid format'],
    ['appDetails.address.postcode', 'SW1A 1AAXX', 'Maximum length exceeded (9)'],
    ['appDetails.address.postcode', 'SW1A_1AA', 'Invalid format'],
    ['firstTimeApp.countersignature.postcode', '1234567890', 'Maximum length exceeded (9)'],
    ['lostStolenDetails.policeNotification', 'yes', 'Maximum length exceeded (1)'],
    ['lostStolenDetails.policeNotification', 'x', 'Invalid format'],
    ['furtherInformation.registeredApplicant', true, 'Invalid format'],
    ['appDetails.title', 'Lord', 'Invalid format'],
    ['etdReason.reason', 'Forgotten', 'Invalid format'],
    ['appDetails.email', 'not-an-email', 'Invalid format'],
    ['appDetails.contactPhone', 'call me', 'Invalid format'],
    ['passportDetails.docNumber', 'AB-12', 'Invalid format'],
    ['journeyDetails.transportModes', ['Plane', 'Rocket'], 'Invalid format'],
    ['journeyDetails.transportModes', 'Plane', 'Invalid format'],
    ['journeyDetails.transportModes', [], 'Required'],
    ['journeyDetails.transitCountries', ['A', 'B', 'C', 'D', 'E', 'F'], 'Maximum length exceeded (5)'],
    ['journeyDetails.returnJourneyDetails.transitCountries', ['A', 'B', 'C', 'D', 'E', 'F'], 'Maximum length exceeded (5)'],
    ['firstTimeApp.parentDetails.fatherDetails.immigrationStatus', 'Permanent resident', 'Maximum length exceeded (10)'],
    ['firstTimeApp.parentDetails.motherDetails.birthDate', '1962-02-30', 'Invalid format'],
    ['firstTimeApp.countersignature.years', 'x', 'Invalid format'],
    ['firstTimeApp.countersignature.years', -1, 'Invalid format'],
  ])('%s = %j -> %s', (field, value, message) => {
    const errors = validate(appWith({ [field]: value }));
    const at = Array.isArray(value) && field.endsWith('transportModes') && value.length === 2 ? `${field}.1` : field;
    expect(errors).toEqual([{ [at]: message }]);
  });

  test('optional dates and regex fields may be left ""; years may be a number or digits', () => {
    expect(validate(appWith({ 'appDetails.email': '', 'passportDetails.dateOfIssue': '', 'passportDetails.docNumber': '', 'firstTimeApp.countersignature.years': '7' }))).toEqual([]);
    expect(validate(appWith({ 'firstTimeApp.countersignature.years': 7 }))).toEqual([]);
  });

  test('real dates: leap years and month lengths', () => {
    expect(isRealDate('2000-02-29')).toBe(true);
    expect(isRealDate('1900-02-29')).toBe(false);
    expect(isRealDate('2024-02-29')).toBe(true);
    expect(isRealDate('2023-06-31')).toBe(false);
    expect(isRealDate('2023-12-31')).toBe(true);
    expect(isRealDate('0000-01-01')).toBe(false);
  });

  test('the example sends lower-case "stolen" and "car": accepted by default, refused when enums are case-sensitive', () => {
    const body = appWith({ 'etdReason.reason': 'stolen', 'journeyDetails.transportModes': ['car', 'plane'] });
    expect(validate(body)).toEqual([]);
    expect(validate(body, { caseInsensitiveEnums: false })).toEqual([
      { 'etdReason.reason': 'Invalid format' },
      { 'journeyDetails.transportModes.0': 'Invalid format' },
      { 'journeyDetails.transportModes.1': 'Invalid format' },
    ]);
  });

  test('other names: each entry needs forenames and surname', () => {
    expect(validate(appWith({ 'appDetails.other': [{ forenames: 'A', surname: 'B' }, { forenames: '' }] }))).toEqual([
      { 'appDetails.other.1.forenames': 'Required' },
      { 'appDetails.other.1.surname': 'Required' },
    ]);
  });

  test('unknown properties are refused by default and kept when configured', () => {
    const body = appWith({ 'appDetails.nickname': 'Al', 'journeyDetails.returnJourneyDetails.seat': '12A' });
    expect(validate(body)).toEqual([{ 'appDetails.nickname': 'Invalid format' }, { 'journeyDetails.returnJourneyDetails.seat': 'Invalid format' }]);
    expect(validate(body, { unknownFields: 'keep' })).toEqual([]);
  });
});

describe('ETD validator: conditional rules, both sides', () => {
  test("etdReason.other is required if reason == 'Other'", () => {
    expect(validate(appWith({ 'etdReason.reason': 'Other', 'etdReason.other': '' }))).toEqual([{ 'etdReason.other': 'Required' }]);
    expect(validate(appWith({ 'etdReason.reason': 'other', 'etdReason.other': undefined }))).toEqual([{ 'etdReason.other': 'Required' }]);
    expect(validate(appWith({ 'etdReason.reason': 'Other', 'etdReason.other': 'Seized by an employer' }))).toEqual([]);
    expect(validate(appWith({ 'etdReason.reason': 'Expired', 'etdReason.other': undefined }))).toEqual([]);
  });

  test("countryOfIssue and cityOfIssue are required if passportIssuedInUK == 'n' (and under the old name passwordIssuedInUK)", () => {
    expect(validate(appWith({ 'passportDetails.countryOfIssue': '', 'passportDetails.cityOfIssue': undefined }))).toEqual([
      { 'passportDetails.countryOfIssue': 'Required' },
      { 'passportDetails.cityOfIssue': 'Required' },
    ]);
    expect(validate(appWith({ 'passportDetails.passportIssuedInUK': 'y', 'passportDetails.countryOfIssue': '', 'passportDetails.cityOfIssue': undefined }))).toEqual([]);
    const legacy = appWith({ 'passportDetails.passportIssuedInUK': undefined, 'passportDetails.passwordIssuedInUK': 'n', 'passportDetails.countryOfIssue': '' });
    expect(validate(legacy)).toEqual([{ 'passportDetails.countryOfIssue': 'Required' }]);
    const legacyYes = appWith({ 'passportDetails.passportIssuedInUK': undefined, 'passportDetails.passwordIssuedInUK': 'y', 'passportDetails.countryOfIssue': '' });
    expect(validate(legacyYes)).toEqual([]);
  });

  test('passportIssuedInUK (or passwordIssuedInUK) itself is required', () => {
    expect(validate(appWith({ 'passportDetails.passportIssuedInUK': undefined }))).toEqual([{ 'passportDetails.passportIssuedInUK': 'Required' }]);
    expect(validate(appWith({ 'passportDetails.passportIssuedInUK': '' }))).toEqual([{ 'passportDetails.passportIssuedInUK': 'Required' }]);
    expect(validate(appWith({ 'passportDetails.passportIssuedInUK': undefined, 'passportDetails.passwordIssuedInUK': '' }))).toEqual([
      { 'passportDetails.passportIssuedInUK': 'Required' },
    ]);
  });

  test('passportApplicant, when given, needs every field', () => {
    expect(validate(appWith({ 'passportDetails.passportApplicant': { title: 'Mr' } }))).toEqual([
      { 'passportDetails.passportApplicant.forenames': 'Required' },
      { 'passportDetails.passportApplicant.surname': 'Required' },
      { 'passportDetails.passportApplicant.birthDate': 'Required' },
      { 'passportDetails.passportApplicant.birthCity': 'Required' },
      { 'passportDetails.passportApplicant.birthCountry': 'Required' },
      { 'passportDetails.passportApplicant.relationship': 'Required' },
    ]);
    expect(validate(appWith({ 'passportDetails.passportApplicant': undefined }))).toEqual([]);
  });

  test("policeDetails and its fields are required if policeNotification == 'y'", () => {
    expect(validate(appWith({ 'lostStolenDetails.policeDetails': undefined }))).toEqual([{ 'lostStolenDetails.policeDetails': 'Required' }]);
    expect(validate(appWith({ 'lostStolenDetails.policeDetails': { prevReported: 'n' } }))).toEqual([
      { 'lostStolenDetails.policeDetails.reportedDate': 'Required' },
      { 'lostStolenDetails.policeDetails.policeStation': 'Required' },
      { 'lostStolenDetails.policeDetails.policeReportNumber': 'Required' },
    ]);
    expect(validate(appWith({ 'lostStolenDetails.policeNotification': 'n', 'lostStolenDetails.policeDetails': undefined }))).toEqual([]);
    expect(
      validate(appWith({ 'lostStolenDetails.policeNotification': 'n', 'lostStolenDetails.policeDetails': { reportedDate: '', prevReported: '' } })),
    ).toEqual([]);
  });

  test("prevReportedDetails is required if policeNotification == 'y' and prevReported == 'y'", () => {
    expect(validate(appWith({ 'lostStolenDetails.policeDetails.prevReportedDetails': '' }))).toEqual([
      { 'lostStolenDetails.policeDetails.prevReportedDetails': 'Required' },
    ]);
    expect(validate(appWith({ 'lostStolenDetails.policeDetails.prevReported': 'n', 'lostStolenDetails.policeDetails.prevReportedDetails': '' }))).toEqual([]);
    expect(
      validate(
        appWith({
          'lostStolenDetails.policeNotification': 'n',
          'lostStolenDetails.policeDetails.prevReported': 'y',
          'lostStolenDetails.policeDetails.prevReportedDetails': undefined,
        }),
      ),
    ).toEqual([]);
  });

  test("otherTransportMode is required if transportModes includes 'Other'", () => {
    expect(validate(appWith({ 'journeyDetails.otherTransportMode': '' }))).toEqual([{ 'journeyDetails.otherTransportMode': 'Required' }]);
    expect(validate(appWith({ 'journeyDetails.transportModes': ['plane', 'other'], 'journeyDetails.otherTransportMode': undefined }))).toEqual([
      { 'journeyDetails.otherTransportMode': 'Required' },
    ]);
    expect(validate(appWith({ 'journeyDetails.transportModes': ['Plane'], 'journeyDetails.otherTransportMode': undefined }))).toEqual([]);
  });

  test("returnJourneyDetails and its fields are required if returnJourney == 'y'", () => {
    expect(validate(appWith({ 'journeyDetails.returnJourneyDetails': undefined }))).toEqual([{ 'journeyDetails.returnJourneyDetails': 'Required' }]);
    expect(validate(appWith({ 'journeyDetails.returnJourneyDetails': { departDate: '' } }))).toEqual([
      { 'journeyDetails.returnJourneyDetails.departDate': 'Required' },
      { 'journeyDetails.returnJourneyDetails.transitCountries': 'Required' },
      { 'journeyDetails.returnJourneyDetails.arrivalDate': 'Required' },
    ]);
    expect(validate(appWith({ 'journeyDetails.returnJourney': 'n', 'journeyDetails.returnJourneyDetails': undefined }))).toEqual([]);
    expect(validate(appWith({ 'journeyDetails.returnJourney': 'n', 'journeyDetails.returnJourneyDetails': { departDate: '' } }))).toEqual([]);
  });

  test("HMPORefNumber and appDate are required if HMPOPassportApp == 'y'", () => {
    expect(validate(appWith({ 'firstTimeApp.HMPOPassportApp': 'y' }))).toEqual([
      { 'firstTimeApp.HMPORefNumber': 'Required' },
      { 'firstTimeApp.appDate': 'Required' },
    ]);
    expect(validate(appWith({ 'firstTimeApp.HMPOPassportApp': 'y', 'firstTimeApp.HMPORefNumber': 'HMPO1234', 'firstTimeApp.appDate': '2024-04-01' }))).toEqual([]);
    expect(validate(appWith({ 'firstTimeApp.HMPOPassportApp': 'n', 'firstTimeApp.HMPORefNumber': undefined, 'firstTimeApp.appDate': undefined }))).toEqual([]);
  });

  test("applicantInfo and its fields are required if HMPOPassportApp == 'n'", () => {
    expect(validate(appWith({ 'firstTimeApp.applicantInfo': undefined }))).toEqual([{ 'firstTimeApp.applicantInfo': 'Required' }]);
    expect(validate(appWith({ 'firstTimeApp.applicantInfo': { regAsBritish: 'n' } }))).toEqual([
      { 'firstTimeApp.applicantInfo.birthRegistered': 'Required' },
      { 'firstTimeApp.applicantInfo.britishConsulate': 'Required' },
    ]);
    expect(
      validate(appWith({ 'firstTimeApp.HMPOPassportApp': 'y', 'firstTimeApp.HMPORefNumber': 'H1', 'firstTimeApp.appDate': '2024-04-01', 'firstTimeApp.applicantInfo': undefined })),
    ).toEqual([]);
  });

  test("docNumber, placeOfIssue and dateOfIssue are required if HMPOPassportApp == 'n' and regAsBritish == 'y'", () => {
    const missing = { 'firstTimeApp.applicantInfo.docNumber': '', 'firstTimeApp.applicantInfo.placeOfIssue': undefined, 'firstTimeApp.applicantInfo.dateOfIssue': '' };
    expect(validate(appWith(missing))).toEqual([
      { 'firstTimeApp.applicantInfo.docNumber': 'Required' },
      { 'firstTimeApp.applicantInfo.placeOfIssue': 'Required' },
      { 'firstTimeApp.applicantInfo.dateOfIssue': 'Required' },
    ]);
    expect(validate(appWith({ ...missing, 'firstTimeApp.applicantInfo.regAsBritish': 'n' }))).toEqual([]);
    // regAsBritish 'y' alone (HMPOPassportApp 'y', as in the seed example) requires nothing.
    expect(validate(appWith({ ...missing, 'firstTimeApp.HMPOPassportApp': 'y', 'firstTimeApp.HMPORefNumber': 'H1', 'firstTimeApp.appDate': '2024-04-01' }))).toEqual([]);
  });

  test('firstTimeApp is optional, but HMPOPassportApp is required when it is given', () => {
    expect(validate(appWith({ firstTimeApp: undefined }))).toEqual([]);
    expect(validate(appWith({ 'firstTimeApp.HMPOPassportApp': '' }))).toEqual([{ 'firstTimeApp.HMPOPassportApp': 'Required' }]);
  });

  test('representative (2016 revision; no field list in the spec): no field is required, the ones we guessed are checked when given', () => {
    const rep = { title: 'Ms', forenames: 'Rita', surname: 'Example', dateOfBirth: '1990-01-01', cityOfBirth: 'Porto', countryOfBirth: 'Portugal', relationshipToApplicant: 'Sister' };
    expect(validate(appWith({ representative: rep }))).toEqual([]);
    for (const partial of [{}, { surname: 'Example' }, { forenames: '', dateOfBirth: '', title: '' }]) {
      expect(validate(appWith({ representative: partial }))).toEqual([]);
    }
    // The negative: a field we guessed is still typed when it is sent.
    expect(validate(appWith({ representative: { dateOfBirth: '1990-02-30', title: 'Sir', surname: 'X'.repeat(101), cityOfBirth: 7 } }))).toEqual([
      { 'representative.title': 'Invalid format' },
      { 'representative.surname': 'Maximum length exceeded (100)' },
      { 'representative.dateOfBirth': 'Invalid format' },
      { 'representative.cityOfBirth': 'Invalid format' },
    ]);
    expect(validate(appWith({ representative: 'Rita' }))).toEqual([{ representative: 'Invalid format' }]);
  });

  test('representative fields the schema does not declare follow unknownFields: refused by default (the spec message), kept with keep', () => {
    const rep = { surname: 'Example', agentName: 'Rita Agent', agentRef: 42 };
    expect(validate(appWith({ representative: rep }))).toEqual([{ 'representative.agentName': 'Invalid format' }, { 'representative.agentRef': 'Invalid format' }]);
    expect(validate(appWith({ representative: rep }), { unknownFields: 'reject' })).toEqual([{ 'representative.agentName': 'Invalid format' }, { 'representative.agentRef': 'Invalid format' }]);
    expect(validate(appWith({ representative: rep }), { unknownFields: 'keep' })).toEqual([]);
    // keep does not switch the guessed fields' types off.
    expect(validate(appWith({ representative: { ...rep, dateOfBirth: '1990-02-30' } }), { unknownFields: 'keep' })).toEqual([{ 'representative.dateOfBirth': 'Invalid format' }]);
  });
});

describe('ETD validator: tunables for the TBDs', () => {
  test('extra titles and a replaced title list', () => {
    const body = appWith({ 'appDetails.title': 'Rev', 'passportDetails.passportApplicant.title': 'Rev' });
    expect(validate(body)).toEqual([{ 'appDetails.title': 'Invalid format' }, { 'passportDetails.passportApplicant.title': 'Invalid format' }]);
    expect(validate(body, { extraTitles: ['Rev'] })).toEqual([]);
    expect(validate(validBody(), { titles: ['Mr'] })).toEqual([
      { 'appDetails.title': 'Invalid format' },
      { 'passportDetails.passportApplicant.title': 'Invalid format' },
    ]);
  });

  test('maximum lengths by field path', () => {
    const body = appWith({ 'appDetails.forenames': 'A'.repeat(40), 'appDetails.other': [{ forenames: 'B', surname: 'C'.repeat(12) }] });
    expect(validate(body)).toEqual([]);
    expect(validate(body, { maxLengths: { 'appDetails.forenames': 30, 'appDetails.other.surname': 10 } })).toEqual([
      { 'appDetails.forenames': 'Maximum length exceeded (30)' },
      { 'appDetails.other.0.surname': 'Maximum length exceeded (10)' },
    ]);
    expect(validate(appWith({ 'journeyDetails.transitCountries': ['A', 'B', 'C'] }), { maxLengths: { 'journeyDetails.transitCountries': 2 } })).toEqual([
      { 'journeyDetails.transitCountries': 'Maximum length exceeded (2)' },
    ]);
    expect(() => createValidator({ maxLengths: { 'appDetails.nope': 3 } })).toThrow('unknown field "appDetails.nope"');
  });

  test('representativeRequired: a configured field that is missing or "" is Required; the others stay optional', () => {
    const settings = { representativeRequired: ['surname', 'dateOfBirth'] };
    expect(validate(appWith({ representative: {} }), settings)).toEqual([{ 'representative.surname': 'Required' }, { 'representative.dateOfBirth': 'Required' }]);
    expect(validate(appWith({ representative: { surname: '', dateOfBirth: '1990-01-01', forenames: '' } }), settings)).toEqual([{ 'representative.surname': 'Required' }]);
    expect(validate(appWith({ representative: { surname: 'Example', dateOfBirth: '1990-01-01' } }), settings)).toEqual([]);
    // Required inside the block only: an application without a representative needs none.
    expect(validate(validBody(), settings)).toEqual([]);
    // With keep, the form's own names and the configured ones together.
    expect(validate(appWith({ representative: { agentName: 'Rita Agent' } }), { ...settings, unknownFields: 'keep' })).toEqual([
      { 'representative.surname': 'Required' },
      { 'representative.dateOfBirth': 'Required' },
    ]);
    // The negative: only fields the block declares can be required (nothing inherited either).
    for (const name of ['fullName', '__proto__', 'toString']) {
      expect(() => createValidator({ representativeRequired: [name] })).toThrow(`etd validation.representativeRequired: unknown field "${name}"`);
    }
    expect(Object.prototype).not.toHaveProperty('minLength');
  });

  test('regexes for postcode, email, phone and passport number', () => {
    const ukOnly = { patterns: { postcode: '^[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}$' } };
    expect(validate(validBody(), ukOnly)).toEqual([{ 'appDetails.address.postcode': 'Invalid format' }]);
    expect(validate(appWith({ 'appDetails.address.postcode': 'SW112DR' }), ukOnly)).toEqual([]);
    expect(validate(validBody(), { patterns: { passportNumber: '^[0-9]{9}$', email: '^[^@]+@example\\.org$' } })).toEqual([]);
    expect(validate(validBody(), { patterns: { passportNumber: '^[0-9]{8}$' } })).toEqual([{ 'passportDetails.docNumber': 'Invalid format' }]);
    expect(() => createValidator({ patterns: { phone: '([' } })).toThrow('patterns.phone is not a valid regular expression');
  });
});
