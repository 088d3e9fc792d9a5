/**
 * The request tables of the ETD - IIZUKA Case Manager API specification (casemanager-etd-api-specification.md,
 * "Description of API request"), transcribed for the sandbox peer. Written from the spec, never from the adapter, so
 * that the adapter's own validator can be checked against it.
 *
 * Transcription notes (each is the spec's own text, or the reading we took where it is silent):
 * - Field names follow the example request where the table differs (`motherDetails`, not `MotherDetails`; the parents'
 *   text field `citizenShip` beside the block `citizenship`, which the table both calls "citizenship").
 * - `passwordIssuedInUK` (the spec's 2015 name) was renamed `passportIssuedInUK` on 2015-07-03: either is accepted.
 * - Only the spec's fixed maximum lengths are here (dates 10, y/n 1, postcodes 9, immigrationStatus 10, up to 5 transit
 *   countries). The ones it leaves TBD are not enforced unless configured (`maxLengths`).
 * - "required (if first applicant)": the `firstTimeApp` block is sent. "required (if passportApplicant is needed)":
 *   the `passportApplicant` block is sent. Parent details and countersignature: mandation TBD, so optional.
 * - `representative` (2016 revision) is known to exist, but its fields are not in our copy: an object, unchecked.
 */

/** Reads a value of the application by dotted path, lower-cased when it is a string (conditions name lower-case values). */
export type Lookup = (path: string) => unknown;
export type When = (at: Lookup) => boolean;

export type Kind =
  | 'text'
  | 'date' // Date ('yyyy-mm-dd'), max 10
  | 'yn' // Boolean ['y','n'], max 1
  | 'title' // [Mr, Mrs, TBD]
  | 'reason'
  | 'email' // "Email Regex" / "Email" (pattern undefined)
  | 'postcode' // "Postcode Regex" (pattern undefined), max 9
  | 'passport' // "Passport Regex" (pattern undefined)
  | 'phone' // the spec says Text
  | 'number' // Number
  | 'strings' // Array[String]
  | 'modes' // Array['Plane',...]
  | 'block'
  | 'blocks'; // Array[<block>]

export interface Field {
  name: string;
  kind: Kind;
  /** true: required; a function: required when it holds; absent: optional. */
  required?: boolean | When;
  /** The spec's fixed maximum length (for lists: number of items). */
  max?: number;
  fields?: Field[];
  /** A block the spec names without a table in our copy: accepted as it comes, nothing inside checked. */
  open?: boolean;
  /** Another name the same field may arrive under (reported under the name that was sent). */
  alias?: string;
}

export const REASONS = ['Lost', 'Stolen', 'Expired', 'Defaced/Damaged', 'Other'];
export const TRANSPORT_MODES = ['Plane', 'Train', 'Boat', 'Car', 'Coach', 'Other'];
export const SPEC_TITLES = ['Mr', 'Mrs'];

const is = (path: string, value: string): When => (at) => at(path) === value;
const both = (a: When, b: When): When => (at) => a(at) && b(at);
const issuedOutsideUk: When = (at) => at('passportDetails.passportIssuedInUK') === 'n' || at('passportDetails.passwordIssuedInUK') === 'n';
const modesIncludeOther: When = (at) => {
  const modes = at('journeyDetails.transportModes');
  return Array.isArray(modes) && modes.some((m) => typeof m === 'string' && m.toLowerCase() === 'other');
};

const text = (name: string, required?: Field['required']): Field => ({ name, kind: 'text', required });
const date = (name: string, required?: Field['required']): Field => ({ name, kind: 'date', required, max: 10 });
const yn = (name: string, required?: Field['required']): Field => ({ name, kind: 'yn', required, max: 1 });
const block = (name: string, fields: Field[], required?: Field['required']): Field => ({ name, kind: 'block', required, fields });

const police = is('lostStolenDetails.policeNotification', 'y');
const hmpoYes = is('firstTimeApp.HMPOPassportApp', 'y');
const hmpoNo = is('firstTimeApp.HMPOPassportApp', 'n');
const returning = is('journeyDetails.returnJourney', 'y');

const document = (name: string): Field => block(name, [text('docNumber'), text('placeOfIssue'), date('dateOfIssue')]);
const parent = (name: string): Field =>
  block(name, [
    text('fullName'),
    text('birthCountry'),
    text('birthTown'),
    date('birthDate'),
    text('citizenShip'),
    { name: 'immigrationStatus', kind: 'text', max: 10 },
    document('passport'),
    document('citizenship'),
  ]);

/** etdApp, block by block, in the spec's order. */
export const ETD_APP: Field[] = [
  block(
    'appDetails',
    [
      { name: 'title', kind: 'title', required: true },
      text('forenames', true),
      text('surname', true),
      { name: 'other', kind: 'blocks', fields: [text('forenames', true), text('surname', true)] },
      block('address', [text('numberAndStreet', true), text('town', true), { name: 'postcode', kind: 'postcode', required: true, max: 9 }, text('country', true)], true),
      date('birthDate', true),
      text('birthCity', true),
      text('birthCountry', true),
      { name: 'contactPhone', kind: 'phone', required: true },
      { name: 'homePhone', kind: 'phone' },
      { name: 'email', kind: 'email' },
    ],
    true,
  ),
  // Added in the spec's 2016 revision (its table calls it "behalfApplying"); our copy of the spec has no table for it.
  { name: 'representative', kind: 'block', open: true },
  block('etdReason', [{ name: 'reason', kind: 'reason', required: true }, text('other', is('etdReason.reason', 'other'))], true),
  block(
    'passportDetails',
    [
      { ...yn('passportIssuedInUK', true), alias: 'passwordIssuedInUK' },
      text('countryOfIssue', issuedOutsideUk),
      text('cityOfIssue', issuedOutsideUk),
      { name: 'docNumber', kind: 'passport' },
      date('dateOfIssue'),
      text('nationality'),
      block('passportApplicant', [
        { name: 'title', kind: 'title', required: true },
        text('forenames', true),
        text('surname', true),
        date('birthDate', true),
        text('birthCity', true),
        text('birthCountry', true),
        text('relationship', true),
      ]),
    ],
    true,
  ),
  block(
    'lostStolenDetails',
    [
      text('place', true),
      date('date', true),
      text('country', true),
      text('circumstances', true),
      yn('policeNotification', true),
      block(
        'policeDetails',
        [date('reportedDate', police), text('policeStation', police), text('policeReportNumber', police), yn('prevReported', police), text('prevReportedDetails', both(police, is('lostStolenDetails.policeDetails.prevReported', 'y')))],
        police,
      ),
    ],
    true,
  ),
  block(
    'journeyDetails',
    [
      date('departDate', true),
      date('arrivalDate', true),
      { name: 'transitCountries', kind: 'strings', max: 5 },
      { name: 'transportModes', kind: 'modes', required: true },
      text('otherTransportMode', modesIncludeOther),
      text('destCountry', true),
      text('travelPurpose', true),
      yn('returnJourney', true),
      block('returnJourneyDetails', [date('departDate', returning), { name: 'transitCountries', kind: 'strings', required: returning, max: 5 }, date('arrivalDate', returning)], returning),
    ],
    true,
  ),
  block(
    'furtherInformation',
    [text('BNOHongKongIdCard'), yn('registeredApplicant', true), text('applicationReasons'), text('courtName'), text('countryCourt'), text('otherInfo')],
    true,
  ),
  block('firstTimeApp', [
    yn('HMPOPassportApp', true),
    text('HMPORefNumber', hmpoYes),
    date('appDate', hmpoYes),
    block(
      'applicantInfo',
      [
        yn('birthRegistered', hmpoNo),
        text('britishConsulate', hmpoNo),
        yn('regAsBritish', hmpoNo),
        text('docNumber', both(hmpoNo, is('firstTimeApp.applicantInfo.regAsBritish', 'y'))),
        text('placeOfIssue', both(hmpoNo, is('firstTimeApp.applicantInfo.regAsBritish', 'y'))),
        date('dateOfIssue', both(hmpoNo, is('firstTimeApp.applicantInfo.regAsBritish', 'y'))),
      ],
      hmpoNo,
    ),
    block('parentDetails', [parent('fatherDetails'), parent('motherDetails'), date('parentsMarriageDate'), text('parentsMarriagePlace')]),
    block('countersignature', [
      text('fullName'),
      { name: 'years', kind: 'number' },
      text('country'),
      text('numberAndStreet'),
      text('town'),
      { name: 'postcode', kind: 'postcode', max: 9 },
      { name: 'email', kind: 'email' },
      { name: 'contactphone', kind: 'phone' },
      text('relationship'),
      text('nationality'),
      text('profession'),
    ]),
  ]),
];
