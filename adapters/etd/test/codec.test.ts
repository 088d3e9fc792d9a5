import Ajv from 'ajv';
import fc from 'fast-check';
import canonicalSchema from '../../../schemas/canonical-case.schema.json';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { caseToEtdApp, etdAppToCase } from '../src/codec';
import { defineKey, isPlainObject, type JsonObject, type JsonValue } from '../src/json';
import { BASE_SCHEMA, createValidator } from '../src/validator';
import { maskCase } from '../../../src/ops/masking';
import { anyJson, validEtdApp } from './arbitraries';
import { seedBody, validApp } from './support';

const ajv = new Ajv({ allErrors: true, strict: false });
const validateCanonical = ajv.compile(canonicalSchema);
const meta = { connection: 'etd-in', appRefNumber: 'ETD0000000001', eventId: 'ev-1', receivedAt: '2024-05-03T10:00:00.000Z' };

function roundTrip(app: JsonObject): { kase: CanonicalCase; back: JsonObject } {
  const kase = etdAppToCase(app, meta);
  return { kase, back: caseToEtdApp(JSON.parse(JSON.stringify(kase)) as CanonicalCase) };
}

function leafPaths(value: JsonValue, prefix: string[] = []): string[][] {
  if (isPlainObject(value)) return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return [prefix];
}

describe('ETD codec: etdApp -> canonical case', () => {
  const kase = etdAppToCase(validApp(), meta);
  const party = (role: string) => kase.parties.find((p) => p.roles.includes(role));

  test('case type, reason, source and cross-reference', () => {
    expect(kase.type).toBe('etd-application');
    expect(kase.subtype).toBe('Stolen');
    expect(kase.source).toEqual({ system: 'etd', connection: 'etd-in', id: 'ETD0000000001', eventId: 'ev-1' });
    expect(kase.references).toEqual([{ system: 'etd', connection: 'etd-in', id: 'ETD0000000001', kind: 'appRefNumber' }]);
    expect(kase.receivedAt).toBe(meta.receivedAt);
    expect(validateCanonical(kase)).toBe(true);
  });

  test('the seed example lower-case reason becomes the spec spelling in subtype (the extension keeps it as sent)', () => {
    const seedCase = etdAppToCase(seedBody().etdApp as JsonObject, meta);
    expect(seedCase.subtype).toBe('Stolen');
    expect((seedCase.extensions?.etd.etdReason as JsonObject).reason).toBe('stolen');
  });

  test('the applicant: names, other names, address, birth, contacts and identity documents in standard fields', () => {
    expect(party('applicant')).toEqual({
      roles: ['applicant'],
      person: {
        title: 'Mrs',
        forenames: 'Alice Mary',
        surname: 'Example',
        otherNames: [{ forenames: 'Alice', surname: 'Sample' }],
        birthDate: '1988-02-29',
        birthPlace: { city: 'Leeds', country: 'England' },
        nationality: 'British',
        identityDocuments: [
          { type: 'passport', number: '123456789', issuingCountry: 'Spain', placeOfIssue: 'Madrid', issueDate: '2019-06-15', issuedInUK: false },
          { type: 'bno-hk-id', number: '' },
          { type: 'registration', number: 'R123456', placeOfIssue: 'London', issueDate: '2001-09-03' },
        ],
      },
      addresses: [{ kind: 'residential', lines: ['10 Test Street'], town: 'Lisbon', postcode: '1000-001', country: 'Portugal' }],
      contacts: [
        { kind: 'phone', value: '+351 210 000 000' },
        { kind: 'home-phone', value: '' },
        { kind: 'email', value: 'alice.example@example.org' },
      ],
    });
  });

  test('the application it maps is left as it was (the note and the digest are made from it after)', () => {
    const app = validApp();
    const before = JSON.stringify(app);
    const mapped = etdAppToCase(app, meta);
    expect(JSON.stringify(app)).toBe(before);
    // The extension is a copy, down to the arrays: changing it does not reach the application.
    const ext = mapped.extensions?.etd as JsonObject;
    (ext.journeyDetails as JsonObject).otherTransportMode = 'changed';
    ((app.appDetails as JsonObject).other as JsonObject[]).push({ surname: 'Extra' });
    expect((app.journeyDetails as JsonObject).otherTransportMode).toBe('Ferry');
    expect(mapped.parties[0].person?.otherNames).toEqual([{ forenames: 'Alice', surname: 'Sample' }]);
  });

  test('unknown keys that spell a moved field\'s path another way ("" or a NUL inside a key) stay in the extension', () => {
    const app = validApp();
    defineKey(app, '', { appDetails: { surname: 'Kept' }, passportDetails: {} });
    defineKey(app, 'appDetails\u0000surname', 'Kept too');
    defineKey(app.appDetails as JsonObject, 'address\u0000town', 'And this');
    defineKey(app, 'appDetails\u0000address', {});
    const input = JSON.parse(JSON.stringify(app)) as JsonObject;
    const { kase, back } = roundTrip(input);
    const ext = kase.extensions?.etd as JsonObject;
    expect(ext['']).toEqual({ appDetails: { surname: 'Kept' }, passportDetails: {} });
    expect(ext['appDetails\u0000surname']).toBe('Kept too');
    expect((ext.appDetails as JsonObject)['address\u0000town']).toBe('And this');
    expect(ext['appDetails\u0000address']).toEqual({});
    expect(back).toEqual(input);
  });

  test('passport applicant, father, mother and countersignatory become parties', () => {
    expect(kase.parties.map((p) => p.roles)).toEqual([['applicant'], ['passport-applicant'], ['father', 'parent'], ['mother', 'parent'], ['countersignatory']]);
    expect(party('passport-applicant')?.relationship).toBe('Self');
    expect(party('father')?.person).toMatchObject({ fullName: 'Robert Example', citizenship: 'British', birthPlace: { city: 'York', country: 'England' } });
    expect(party('father')?.person?.identityDocuments?.[0]).toEqual({ type: 'passport', number: '987654321', placeOfIssue: 'London', issueDate: '2015-03-03' });
    expect(party('mother')?.person?.fullName).toBe('Jane Example');
    expect(party('countersignatory')).toMatchObject({
      relationship: 'Family friend',
      person: { fullName: 'Peter Sample', nationality: 'British', profession: 'Teacher' },
      addresses: [{ lines: ['1 Sample Road'], town: 'London', postcode: 'SW1A 1AA', country: 'England' }],
      contacts: [
        { kind: 'email', value: 'peter.sample@example.org' },
        { kind: 'phone', value: '020 7946 0000' },
      ],
    });
  });

  test('a representative (2016 revision) becomes a party', () => {
    const app = validApp();
    app.representative = { title: 'Ms', forenames: 'Rita', surname: 'Example', dateOfBirth: '1990-01-01', cityOfBirth: 'Porto', countryOfBirth: 'Portugal', relationshipToApplicant: 'Sister' };
    const rep = etdAppToCase(app, meta).parties.find((p) => p.roles.includes('representative'));
    expect(rep).toEqual({
      roles: ['representative'],
      person: { title: 'Ms', forenames: 'Rita', surname: 'Example', birthDate: '1990-01-01', birthPlace: { city: 'Porto', country: 'Portugal' } },
      relationship: 'Sister',
    });
  });

  test("a representative block with the form's own field names (kept under unknownFields: keep): text goes to the party, as personal data", () => {
    const app = validApp();
    const block: JsonObject = { surname: 'Example', agentName: 'Zebedee Agentson', agentPhone: '+351 912 000 111', agentRef: 42, office: { town: 'Porto' }, title: 7 };
    app.representative = block;
    const mapped = etdAppToCase(JSON.parse(JSON.stringify(app)) as JsonObject, meta);
    const rep = mapped.parties.find((p) => p.roles.includes('representative'));
    expect(rep).toEqual({ roles: ['representative'], person: { surname: 'Example', attributes: { agentName: 'Zebedee Agentson', agentPhone: '+351 912 000 111' } } });
    expect(validateCanonical(mapped)).toBe(true);
    // Only what is not text stays in the extension, as sent (a declared field holding a non-string too).
    expect((mapped.extensions?.etd as JsonObject).representative).toEqual({ agentRef: 42, office: { town: 'Porto' }, title: 7 });
    // Masked for viewers by its position in the case, like every person field; the extension has no text of it left.
    const masked = JSON.stringify(maskCase(mapped));
    for (const personal of ['Zebedee Agentson', '+351 912 000 111', 'Example']) expect(masked).not.toContain(personal);
    // And back: the block as it came (round trip).
    expect(caseToEtdApp(JSON.parse(JSON.stringify(mapped)) as CanonicalCase).representative).toEqual(block);
    expect(roundTrip(JSON.parse(JSON.stringify(app)) as JsonObject).back).toEqual(app);
    // Any key, "__proto__" and "" included, is an own attribute and comes back as one.
    const odd = JSON.parse('{"etdApp":{"representative":{"__proto__":"Proto Agent","":"Blank Key"}}}') as { etdApp: JsonObject };
    const oddCase = roundTrip(odd.etdApp);
    expect(Object.keys(oddCase.kase.parties.find((p) => p.roles.includes('representative'))?.person?.attributes ?? {})).toEqual(['__proto__', '']);
    expect(JSON.stringify(oddCase.back)).toBe('{"representative":{"__proto__":"Proto Agent","":"Blank Key"}}');
  });

  test('the negative: without a representative block there is no representative party, and attributes of other parties stay theirs', () => {
    expect(kase.parties.some((p) => p.roles.includes('representative'))).toBe(false);
    const other: CanonicalCase = { type: 'etd-application', source: { system: 'x', id: '1' }, parties: [{ roles: ['applicant'], person: { surname: 'Example', attributes: { agentName: 'Not a representative' } } }] };
    expect(caseToEtdApp(other).representative).toBeUndefined();
    expect(JSON.stringify(caseToEtdApp(other))).not.toContain('Not a representative');
  });

  test('everything else stays in extensions.etd, and no moved personal field is left there', () => {
    const ext = kase.extensions?.etd as JsonObject;
    expect(Object.keys(ext)).toEqual(['etdReason', 'passportDetails', 'lostStolenDetails', 'journeyDetails', 'furtherInformation', 'firstTimeApp']);
    expect(ext.passportDetails).toEqual({ passportIssuedInUK: 'n' });
    expect((ext.firstTimeApp as JsonObject).countersignature).toEqual({ years: 12 });
    const text = JSON.stringify(ext);
    for (const personal of ['Alice', 'Example', '1988-02-29', 'alice.example@example.org', '123456789', 'Robert', 'Peter Sample', '10 Test Street']) {
      expect(text).not.toContain(personal);
    }
  });

  test('every field of the spec lands in the case: each leaf of the sample is in the extension or was moved to a party', () => {
    const app = validApp();
    const ext = kase.extensions?.etd as JsonObject;
    const standard = JSON.stringify(kase.parties);
    for (const path of leafPaths(app)) {
      let inExt: JsonValue | undefined = ext;
      for (const key of path) inExt = isPlainObject(inExt) ? inExt[key] : undefined;
      let value: JsonValue | undefined = app;
      for (const key of path) value = isPlainObject(value) ? value[key] : undefined;
      if (inExt === undefined) expect(standard).toContain(JSON.stringify(value));
      else expect(inExt).toEqual(value);
    }
  });
});

describe('ETD codec: canonical case -> etdApp', () => {
  test('the sample comes back unchanged, keys in the spec order', () => {
    const { back } = roundTrip(validApp());
    expect(back).toEqual(validApp());
    expect(JSON.stringify(back)).toBe(JSON.stringify(validApp()));
  });

  test('the seed example (invalid, full of "") comes back unchanged too', () => {
    const seed = seedBody().etdApp as JsonObject;
    expect(roundTrip(seed).back).toEqual(seed);
  });

  test('a case from another system: applicant fields, issuedInUK and reason are taken from standard fields', () => {
    const kase: CanonicalCase = {
      type: 'etd-application',
      subtype: 'Lost',
      source: { system: 'icasework', id: '42' },
      parties: [
        {
          roles: ['applicant'],
          person: { title: 'Mr', forenames: 'Bob', surname: 'Example', birthDate: '1970-01-01', identityDocuments: [{ type: 'passport', number: '999999999', issuedInUK: true }] },
          addresses: [{ kind: 'postal', lines: ['Flat 1', '2 Road'], town: 'Paris', postcode: '75001', country: 'France' }],
          contacts: [{ kind: 'mobile', value: '+33 6 00 00 00 00' }],
        },
      ],
    };
    expect(caseToEtdApp(kase)).toEqual({
      appDetails: {
        title: 'Mr',
        forenames: 'Bob',
        surname: 'Example',
        address: { numberAndStreet: 'Flat 1, 2 Road', town: 'Paris', postcode: '75001', country: 'France' },
        birthDate: '1970-01-01',
        contactPhone: '+33 6 00 00 00 00',
      },
      etdReason: { reason: 'Lost' },
      passportDetails: { passportIssuedInUK: 'y', docNumber: '999999999' },
    });
  });
});

describe('ETD codec: the name passportIssuedInUK goes out under (spec 2015-05-27: passwordIssuedInUK)', () => {
  const issuedKeys = (app: JsonObject): JsonObject => {
    const passport = app.passportDetails as JsonObject;
    return Object.fromEntries(Object.entries(passport).filter(([k]) => k.endsWith('IssuedInUK')));
  };
  const sample = etdAppToCase(validApp(), meta); // sent as passportIssuedInUK: 'n'
  const legacy = etdAppToCase(seedBody().etdApp as JsonObject, meta); // sent as passwordIssuedInUK: 'y'

  test('passwordIssuedInUK: sent under the old name only, whichever name the case came with', () => {
    expect(issuedKeys(caseToEtdApp(sample, { passportIssuedInUKField: 'passwordIssuedInUK' }))).toEqual({ passwordIssuedInUK: 'n' });
    expect(issuedKeys(caseToEtdApp(legacy, { passportIssuedInUKField: 'passwordIssuedInUK' }))).toEqual({ passwordIssuedInUK: 'y' });
  });

  test('passportIssuedInUK (the default of the action): sent under the current name only, whichever name the case came with', () => {
    expect(issuedKeys(caseToEtdApp(sample, { passportIssuedInUKField: 'passportIssuedInUK' }))).toEqual({ passportIssuedInUK: 'n' });
    expect(issuedKeys(caseToEtdApp(legacy, { passportIssuedInUKField: 'passportIssuedInUK' }))).toEqual({ passportIssuedInUK: 'y' });
  });

  test('from issuedInUK of a case from another system, under the chosen name; no option: each case keeps its own name', () => {
    const foreign: CanonicalCase = {
      type: 'etd-application',
      source: { system: 'icasework', id: '42' },
      parties: [{ roles: ['applicant'], person: { identityDocuments: [{ type: 'passport', issuedInUK: true }] } }],
    };
    expect(issuedKeys(caseToEtdApp(foreign, { passportIssuedInUKField: 'passwordIssuedInUK' }))).toEqual({ passwordIssuedInUK: 'y' });
    expect(issuedKeys(caseToEtdApp(foreign))).toEqual({ passportIssuedInUK: 'y' });
    expect(issuedKeys(caseToEtdApp(legacy))).toEqual({ passwordIssuedInUK: 'y' });
    expect(issuedKeys(caseToEtdApp(sample))).toEqual({ passportIssuedInUK: 'n' });
  });

  test('both names in one application: the chosen name keeps its own value and the other is dropped', () => {
    const both = validApp();
    (both.passportDetails as JsonObject).passwordIssuedInUK = 'y';
    const kase = etdAppToCase(both, meta);
    expect(issuedKeys(caseToEtdApp(kase, { passportIssuedInUKField: 'passwordIssuedInUK' }))).toEqual({ passwordIssuedInUK: 'y' });
    expect(issuedKeys(caseToEtdApp(kase, { passportIssuedInUKField: 'passportIssuedInUK' }))).toEqual({ passportIssuedInUK: 'n' });
  });
});

describe('ETD codec: round-trip properties', () => {
  const validator = createValidator();

  test('random valid applications pass validation, map to a valid canonical case and come back unchanged', () => {
    fc.assert(
      fc.property(validEtdApp, (app) => {
        expect(validator.validate({ etdApp: app })).toEqual([]);
        const { kase, back } = roundTrip(app);
        expect(validateCanonical(kase)).toBe(true);
        expect(back).toEqual(app);
      }),
      { numRuns: 300 },
    );
  });

  // Every object path of the schema, plus a few unknown places, for the mutation property below.
  const objectPaths: string[][] = [];
  const allPaths: string[][] = [];
  (function walk(node: JsonValue | undefined, at: string[]): void {
    if (!isPlainObject(node)) return;
    if (at.length) allPaths.push(at);
    if (node.type === 'object' || isPlainObject(node.properties)) objectPaths.push(at);
    if (isPlainObject(node.properties)) for (const [k, child] of Object.entries(node.properties)) walk(child, [...at, k]);
  })((BASE_SCHEMA.properties as JsonObject).etdApp, []);

  function setAt(root: JsonObject, path: string[], value: JsonValue | undefined): void {
    let node = root;
    for (const key of path.slice(0, -1)) {
      const next = node[key];
      if (!isPlainObject(next)) node[key] = {};
      node = node[key] as JsonObject;
    }
    if (value === undefined) delete node[path[path.length - 1]];
    else node[path[path.length - 1]] = value;
  }

  test('anything at all, valid or not (odd types, unknown keys, missing blocks), survives the round trip', () => {
    const mutation = fc.oneof(
      fc.tuple(fc.constantFrom(...allPaths), fc.option(anyJson, { nil: undefined })),
      fc.tuple(fc.constantFrom(...objectPaths), fc.string({ maxLength: 8 }), anyJson).map(([p, k, v]) => [[...p, k], v] as [string[], JsonValue]),
    );
    fc.assert(
      fc.property(validEtdApp, fc.array(mutation, { maxLength: 6 }), (app, mutations) => {
        for (const [path, value] of mutations) setAt(app, path, value);
        const input = JSON.parse(JSON.stringify(app)) as JsonObject;
        const { kase, back } = roundTrip(input);
        expect(validateCanonical(kase)).toBe(true);
        expect(back).toEqual(input);
      }),
      { numRuns: 300 },
    );
  });
});

describe('defineKey (the codec and validator rebuild objects with it)', () => {
  it('adds "__proto__" as an own key without changing the prototype, and other keys as plain own properties', () => {
    const out: JsonObject = {};
    defineKey(out, '__proto__', { polluted: true });
    defineKey(out, 'constructor', 'x');
    defineKey(out, 'name', 'y');
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect((out as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.keys(out)).toEqual(['__proto__', 'constructor', 'name']);
    expect(JSON.parse(JSON.stringify(out))).toEqual(JSON.parse('{"__proto__":{"polluted":true},"constructor":"x","name":"y"}'));
    for (const key of Object.keys(out)) expect(Object.getOwnPropertyDescriptor(out, key)).toMatchObject({ enumerable: true, writable: true, configurable: true });
  });
});
