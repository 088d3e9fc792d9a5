/** fast-check arbitraries for valid ETD applications, covering every optional block and conditional branch. */
import fc from 'fast-check';
import type { JsonObject, JsonValue } from '../src/json';

type Arb<T> = fc.Arbitrary<T>;

const text = (max = 40): Arb<string> => fc.string({ minLength: 1, maxLength: Math.min(max, 40) });
/** Optional text: absent, "" or a value. */
const maybe = <T>(arb: Arb<T>): Arb<T | '' | undefined> => fc.oneof(fc.constant(undefined), fc.constant('' as const), arb);
const date = fc
  .date({ min: new Date('1900-01-01T00:00:00Z'), max: new Date('2099-12-31T00:00:00Z'), noInvalidDate: true })
  .map((d) => d.toISOString().slice(0, 10));
const yn = fc.constantFrom('y', 'n', 'Y', 'N');
const isYes = (v: string): boolean => v.toLowerCase() === 'y';
const title = fc.constantFrom('Mr', 'Mrs', 'Miss', 'Ms', 'Mx', 'Dr', 'mr', 'MRS');
const postcode = fc.stringMatching(/^[A-Z0-9]{2,4} ?[A-Z0-9]{1,4}$/);
const email = fc.stringMatching(/^[a-z0-9._-]{1,12}@[a-z0-9-]{1,12}\.[a-z]{2,5}$/);
const phone = fc.stringMatching(/^\+?[0-9]{5,15}$/);
const passportNo = fc.stringMatching(/^[A-Z0-9]{5,20}$/);
const countries = fc.array(text(30), { maxLength: 5 });

/** Drops keys whose value is undefined (absent fields). */
function compact(obj: Record<string, JsonValue | undefined>): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}

const rec = (model: Record<string, Arb<JsonValue | undefined>>): Arb<JsonObject> => fc.record(model).map(compact);

const appDetails = rec({
  title,
  forenames: text(),
  surname: text(),
  other: fc.option(fc.array(rec({ forenames: text(), surname: text() }), { maxLength: 3 }), { nil: undefined }),
  address: rec({ numberAndStreet: text(), town: text(), postcode, country: text() }),
  birthDate: date,
  birthCity: text(),
  birthCountry: text(),
  contactPhone: phone,
  homePhone: maybe(phone),
  email: maybe(email),
});

/** The spec gives no field list: every field we guessed is optional (absent, "" or a value). */
const representative = rec({
  title: maybe(title),
  forenames: maybe(text()),
  surname: maybe(text()),
  dateOfBirth: maybe(date),
  cityOfBirth: maybe(text()),
  countryOfBirth: maybe(text()),
  relationshipToApplicant: maybe(text()),
});

const etdReason = fc.constantFrom('Lost', 'Stolen', 'Expired', 'Defaced/Damaged', 'Other', 'stolen', 'other').chain((reason) =>
  rec({ reason: fc.constant(reason), other: reason.toLowerCase() === 'other' ? text(200) : maybe(text(200)) }),
);

const passportApplicant = rec({ title, forenames: text(), surname: text(), birthDate: date, birthCity: text(), birthCountry: text(), relationship: text() });

const passportDetails = fc.tuple(yn, fc.constantFrom('passportIssuedInUK', 'passwordIssuedInUK')).chain(([issued, key]) =>
  rec({
    [key]: fc.constant(issued),
    countryOfIssue: isYes(issued) ? maybe(text()) : text(),
    cityOfIssue: isYes(issued) ? maybe(text()) : text(),
    docNumber: maybe(passportNo),
    dateOfIssue: maybe(date),
    nationality: maybe(text()),
    passportApplicant: fc.option(passportApplicant, { nil: undefined }),
  }),
);

const policeDetails = (notified: boolean): Arb<JsonObject | undefined> =>
  notified
    ? yn.chain((prev) =>
        rec({
          reportedDate: date,
          policeStation: text(),
          policeReportNumber: text(),
          prevReported: fc.constant(prev),
          prevReportedDetails: isYes(prev) ? text(200) : maybe(text(200)),
        }),
      )
    : fc.option(rec({ reportedDate: maybe(date), policeStation: maybe(text()), prevReported: maybe(yn) }), { nil: undefined });

const lostStolenDetails = yn.chain((notified) =>
  rec({ place: text(), date, country: text(), circumstances: text(300), policeNotification: fc.constant(notified), policeDetails: policeDetails(isYes(notified)) }),
);

const modes = fc.uniqueArray(fc.constantFrom('Plane', 'Train', 'Boat', 'Car', 'Coach', 'Other', 'car', 'plane', 'other'), {
  minLength: 1,
  maxLength: 4,
  selector: (m) => m.toLowerCase(),
});

const journeyDetails = fc.tuple(modes, yn).chain(([transportModes, ret]) => {
  const hasOther = transportModes.some((m) => m.toLowerCase() === 'other');
  return rec({
    departDate: date,
    arrivalDate: date,
    transitCountries: fc.option(countries, { nil: undefined }),
    transportModes: fc.constant(transportModes),
    otherTransportMode: hasOther ? text() : maybe(text()),
    destCountry: text(),
    travelPurpose: text(200),
    returnJourney: fc.constant(ret),
    returnJourneyDetails: isYes(ret)
      ? rec({ departDate: date, transitCountries: countries, arrivalDate: date })
      : fc.option(rec({ departDate: maybe(date), transitCountries: fc.option(countries, { nil: undefined }), arrivalDate: maybe(date) }), { nil: undefined }),
  });
});

const furtherInformation = rec({
  BNOHongKongIdCard: maybe(text(20)),
  registeredApplicant: yn,
  applicationReasons: maybe(text(200)),
  courtName: maybe(text()),
  countryCourt: maybe(text()),
  otherInfo: maybe(text(200)),
});

const docRecord = rec({ docNumber: maybe(text(30)), placeOfIssue: maybe(text()), dateOfIssue: maybe(date) });
const parent = rec({
  fullName: maybe(text()),
  birthCountry: maybe(text()),
  birthTown: maybe(text()),
  birthDate: maybe(date),
  citizenShip: maybe(text()),
  immigrationStatus: maybe(text(10)),
  passport: fc.option(docRecord, { nil: undefined }),
  citizenship: fc.option(docRecord, { nil: undefined }),
});
const parentDetails = rec({
  fatherDetails: fc.option(parent, { nil: undefined }),
  motherDetails: fc.option(parent, { nil: undefined }),
  parentsMarriageDate: maybe(date),
  parentsMarriagePlace: maybe(text()),
});
const countersignature = rec({
  fullName: maybe(text()),
  years: fc.oneof(fc.constant(undefined), fc.integer({ min: 0, max: 150 }), fc.integer({ min: 0, max: 150 }).map(String), fc.constant('')),
  country: maybe(text()),
  numberAndStreet: maybe(text()),
  town: maybe(text()),
  postcode: maybe(postcode),
  email: maybe(email),
  contactphone: maybe(phone),
  relationship: maybe(text()),
  nationality: maybe(text()),
  profession: maybe(text()),
});

const applicantInfo = (required: boolean): Arb<JsonObject | undefined> =>
  required
    ? yn.chain((reg) =>
        rec({
          birthRegistered: yn,
          britishConsulate: text(),
          regAsBritish: fc.constant(reg),
          docNumber: isYes(reg) ? text(30) : maybe(text(30)),
          placeOfIssue: isYes(reg) ? text() : maybe(text()),
          dateOfIssue: isYes(reg) ? date : maybe(date),
        }),
      )
    : fc.option(rec({ birthRegistered: maybe(yn), regAsBritish: maybe(yn), docNumber: maybe(text(30)) }), { nil: undefined });

const firstTimeApp = yn.chain((hmpo) =>
  rec({
    HMPOPassportApp: fc.constant(hmpo),
    HMPORefNumber: isYes(hmpo) ? text(30) : maybe(text(30)),
    appDate: isYes(hmpo) ? date : maybe(date),
    applicantInfo: applicantInfo(!isYes(hmpo)),
    parentDetails: fc.option(parentDetails, { nil: undefined }),
    countersignature: fc.option(countersignature, { nil: undefined }),
  }),
);

/** A random application that the spec's rules accept. */
export const validEtdApp: Arb<JsonObject> = rec({
  appDetails,
  representative: fc.option(representative, { nil: undefined }),
  etdReason,
  passportDetails,
  lostStolenDetails,
  journeyDetails,
  furtherInformation,
  firstTimeApp: fc.option(firstTimeApp, { nil: undefined }),
});

/** Any JSON value, as it would arrive after JSON.parse (so no -0). */
export const anyJson: Arb<JsonValue> = fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.parse(JSON.stringify(v)) as JsonValue);
