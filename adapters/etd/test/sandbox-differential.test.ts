/**
 * Two independent readings of the IIZUKA spec: the adapter's validator (src/) and the sandbox peer's (sandbox/, written
 * from the spec's tables). Random valid applications are damaged only where the spec fixes the rule (mandation,
 * conditions, dates, y/n, reasons, modes, the fixed maximum lengths); both must then give the same error list.
 * Where the spec is silent or says TBD they may differ (adapters/etd/README.md, "Sandbox and adapter disagreements"),
 * so those inputs are not generated here.
 */
import fc from 'fast-check';
import { createSandboxValidator } from '../sandbox/validate';
import type { JsonObject } from '../src/json';
import { createValidator } from '../src/validator';
import { validEtdApp } from './arbitraries';
import { edit } from './support';

const TEXT = [undefined, '', null, 7];
const DATE = [undefined, '', '2021-02-29', '2020-02-29', '1999-13-01', '1999-1-1', '1999-01-011'];
const YN = [undefined, '', 'y', 'n', 'Y', 'N', 'maybe', 'x'];
const BLOCK = [undefined, null, 7, {}];

const DAMAGE: Array<[string, unknown[]]> = [
  ['appDetails', BLOCK],
  ['appDetails.forenames', TEXT],
  ['appDetails.surname', TEXT],
  ['appDetails.address', BLOCK],
  ['appDetails.address.postcode', [...TEXT, 'SW112DR', 'ABCDEFGHIJ']],
  ['appDetails.address.town', TEXT],
  ['appDetails.birthDate', DATE],
  ['appDetails.birthCity', TEXT],
  ['etdReason.reason', [undefined, '', 'Other', 'other', 'Lost', 'STOLEN', 'Defaced/Damaged', 'x']],
  ['etdReason.other', TEXT],
  ['passportDetails.passportIssuedInUK', YN],
  ['passportDetails.countryOfIssue', TEXT],
  ['passportDetails.cityOfIssue', TEXT],
  ['passportDetails.dateOfIssue', DATE],
  ['passportDetails.passportApplicant', BLOCK],
  ['passportDetails.passportApplicant.relationship', TEXT],
  ['lostStolenDetails', BLOCK],
  ['lostStolenDetails.place', TEXT],
  ['lostStolenDetails.date', DATE],
  ['lostStolenDetails.policeNotification', YN],
  ['lostStolenDetails.policeDetails', BLOCK],
  ['lostStolenDetails.policeDetails.reportedDate', DATE],
  ['lostStolenDetails.policeDetails.prevReported', YN],
  ['lostStolenDetails.policeDetails.prevReportedDetails', TEXT],
  ['journeyDetails.departDate', DATE],
  ['journeyDetails.transitCountries', [undefined, ['a', 'b', 'c', 'd', 'e'], ['a', 'b', 'c', 'd', 'e', 'f']]],
  ['journeyDetails.transportModes', [undefined, ['Other'], ['car', 'Train'], ['PLANE']]],
  ['journeyDetails.otherTransportMode', TEXT],
  ['journeyDetails.returnJourney', YN],
  ['journeyDetails.returnJourneyDetails', BLOCK],
  ['journeyDetails.returnJourneyDetails.transitCountries', [undefined, [], ['a', 'b', 'c', 'd', 'e', 'f']]],
  ['journeyDetails.returnJourneyDetails.arrivalDate', DATE],
  ['furtherInformation', BLOCK],
  ['furtherInformation.registeredApplicant', YN],
  ['firstTimeApp', BLOCK],
  ['firstTimeApp.HMPOPassportApp', YN],
  ['firstTimeApp.HMPORefNumber', TEXT],
  ['firstTimeApp.appDate', DATE],
  ['firstTimeApp.applicantInfo', BLOCK],
  ['firstTimeApp.applicantInfo.regAsBritish', YN],
  ['firstTimeApp.applicantInfo.docNumber', TEXT],
  ['firstTimeApp.applicantInfo.dateOfIssue', DATE],
  ['firstTimeApp.parentDetails.fatherDetails.birthDate', DATE],
  ['firstTimeApp.parentDetails.motherDetails.immigrationStatus', [undefined, '', 'settled', 'indefinite leave']],
  ['firstTimeApp.parentDetails.parentsMarriageDate', DATE],
  ['firstTimeApp.countersignature.postcode', [undefined, '', 'SW112DR', 'ABCDEFGHIJ']],
];

const damaged = fc
  .tuple(validEtdApp, fc.array(fc.constantFrom(...DAMAGE).chain(([p, values]) => fc.constantFrom(...values).map((v) => [p, v] as const)), { minLength: 1, maxLength: 3 }))
  .map(([app, edits]) => {
    const copy = structuredClone(app);
    for (const [p, v] of edits) edit(copy, p, structuredClone(v));
    return { app: copy, edits };
  });

test('where the spec fixes the rule, the adapter and the sandbox give the same errors, in the same order', () => {
  const adapterSide = createValidator({});
  const sandboxSide = createSandboxValidator({ unknownFields: 'reject' });
  let rejected = 0;
  fc.assert(
    fc.property(damaged, ({ app }) => {
      const body: JsonObject = { etdApp: app };
      const expected = adapterSide.validate(body);
      if (expected.length) rejected += 1;
      expect(sandboxSide(body)).toEqual(expected);
    }),
    { numRuns: 600, seed: 20261129 },
  );
  // The damage does reach the rules: most damaged applications are refused.
  expect(rejected).toBeGreaterThan(300);
});
