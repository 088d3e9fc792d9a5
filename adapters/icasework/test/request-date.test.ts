/**
 * createcase RequestDate (option `requestDate`) and the date the Signature carries. Whether iCasework signs the date
 * part of RequestDate or the day of the call is UNKNOWN (extra-peer-facts.md A0), so the client signs RequestDate's
 * date whenever it sends one. The sandbox checks the second reading only (its own UTC date, sandbox/auth.ts) and has
 * no setting for the first; a peer that signs RequestDate's date is emulated by (a) recomputing the Signature with the
 * sandbox's own expectedSignature at RequestDate's date, and (b) moving the sandbox's clock to RequestDate's day.
 */
import Ajv from 'ajv';
import { expectedSignature } from '../sandbox/auth';
import { SANDBOX_ERRORS, type RecordedRequest } from '../sandbox';
import { IcaseworkClient } from '../src/client';
import { IcaseworkApplicationError } from '../src/errors';
import { computeSignature, utcDate } from '../src/signature';
import { CasewayError } from '../../../src/core/errors';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';
import { adapter, deliveryRequest, sampleCase, sandboxSuite, settingsFor } from './fixtures';

/** sampleCase().receivedAt as sent by requestDate 'received', and a moment on that day for the emulated peer's clock. */
const RECEIVED = '2024-05-06T07:08:09';
const ON_RECEIVED_DAY = Date.parse('2024-05-06T12:00:00Z');

describe('createcase RequestDate and the signed date', () => {
  const suite = sandboxSuite();
  const secret = (): string => String(suite.sandbox.connectionSettings().secret);
  const lastCreate = (): RecordedRequest => suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()!;
  /** What a peer that signs RequestDate's date expects (sandbox's own signing code, RequestDate's day as the date). */
  const signedByRequestDate = (r: RecordedRequest): string =>
    expectedSignature([], r.params, new Date(`${r.params.RequestDate}Z`), secret());
  const deliver = (hubId: string, options: Record<string, unknown>, extensions?: CanonicalCase['extensions']) =>
    adapter.actions.createCase.deliver(
      deliveryRequest(sampleCase({ notes: [], ...(extensions ? { extensions } : {}) }), 'createCase', { caseType: 'Complaint', ...options }, { hubId, earlierAttempts: 0 }),
      suite.harness().ctx,
    );

  it("default 'now': RequestDate is the signed instant, so both readings accept it; receivedAt can travel in a mapped field", async () => {
    const result = await deliver('hub-rd-1', { fields: { Details: 'summary', OriginalReceivedAt: 'receivedAt', RequestDate: 'receivedAt' } });
    expect(result.summary).toMatchObject({ created: true });
    const create = lastCreate();
    // Accepted by the sandbox, which signs its own UTC date (the Home Office reading).
    expect(create.status).toBe(200);
    // Neither the case's received time nor a mapped field sets RequestDate; the option alone does.
    expect(create.params.RequestDate).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/);
    expect([RECEIVED, '2024-05-06T07:08:09.000Z']).not.toContain(create.params.RequestDate);
    // A peer that signs RequestDate's date computes the same Signature.
    expect(create.params.Signature).toBe(signedByRequestDate(create));
    // The received time is kept in a parameter that is not RequestDate when `fields` maps it.
    expect(suite.sandbox.getCase(String(result.summary?.caseid))?.fields.OriginalReceivedAt).toBe('2024-05-06T07:08:09.000Z');
  });

  it('the option takes now, received or omit, nothing else', () => {
    const validate = new Ajv({ strict: false }).compile(adapter.actions.createCase.optionsSchema!);
    for (const v of ['now', 'received', 'omit']) expect([v, validate({ requestDate: v })]).toEqual([v, true]);
    expect(validate({ requestDate: 'yesterday' })).toBe(false);
  });

  it("'omit': no RequestDate (a passthrough one neither), the UTC date of the call is signed, and the sandbox accepts it", async () => {
    const result = await deliver('hub-rd-2', { requestDate: 'omit' }, { icasework: { fields: { RequestDate: '1999-01-01T00:00:00' } } });
    expect(result.summary).toMatchObject({ created: true });
    expect(lastCreate().params.RequestDate).toBeUndefined();
    expect(lastCreate().status).toBe(200);
  });

  it("'received': the received date is sent and signed; refused by a peer signing the day of the call, accepted by one signing RequestDate's date", async () => {
    const err = (await deliver('hub-rd-3', { requestDate: 'received' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
    expect(err).toBeInstanceOf(IcaseworkApplicationError);
    expect([err.applicationErrorCode, err.retryable]).toEqual([SANDBOX_ERRORS.invalidSignature.code, false]);
    const refused = lastCreate();
    expect(refused.params.RequestDate).toBe(RECEIVED);
    expect(refused.params.Signature).toBe(signedByRequestDate(refused));
    suite.sandbox.setClockOffsetMs(ON_RECEIVED_DAY - Date.now());
    try {
      const result = await deliver('hub-rd-4', { requestDate: 'received' });
      expect(result.summary).toMatchObject({ created: true });
      expect(lastCreate().params.RequestDate).toBe(RECEIVED);
    } finally {
      suite.sandbox.setClockOffsetMs(0);
    }
  });

  it('the old behaviour (RequestDate = received time, today signed) is refused by a peer that signs RequestDate\'s date', async () => {
    const s = suite.sandbox.connectionSettings();
    const post = async (): Promise<{ status: number; code: string | null }> => {
      const today = utcDate(new Date());
      const body = new URLSearchParams({ Type: 'Complaint', RequestDate: RECEIVED, Format: 'xml', Key: String(s.key), Signature: computeSignature('', today, secret()) });
      const res = await fetch(`${String(s.baseUrl)}/createcase?db=${String(s.account)}`, { method: 'POST', body });
      await res.text();
      return { status: res.status, code: res.headers.get('X-Application-Error-Code') };
    };
    // A peer that signs the day of the call (the sandbox as it is) accepted it ...
    expect(await post()).toEqual({ status: 200, code: null });
    // ... one that signs RequestDate's date (emulated: the sandbox's day moved to RequestDate's) does not.
    suite.sandbox.setClockOffsetMs(ON_RECEIVED_DAY - Date.now());
    try {
      expect(await post()).toEqual({ status: 400, code: SANDBOX_ERRORS.invalidSignature.code });
    } finally {
      suite.sandbox.setClockOffsetMs(0);
    }
  });

  it('a RequestDate in another shape is refused before sending; operations that list RequestDate sign the instant they send', async () => {
    // A clock just before midnight UTC: RequestDate and the signed date come from the same instant, so they agree.
    const settings = settingsFor(suite.sandbox);
    const client = new IcaseworkClient(suite.harness().ctx, settings, { clock: () => Date.parse('2030-01-01T23:59:59.999Z') });
    const before = suite.sandbox.requests.length;
    const bad = await client.addCaseNotes({ Notes: 'n', CaseId: '1', RequestDate: '2030-01-01' }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(CasewayError);
    expect([(bad as CasewayError).code, (bad as CasewayError).retryable, (bad as CasewayError).context.field]).toEqual(['ICASEWORK_BAD_REQUEST', false, 'RequestDate']);
    expect(suite.sandbox.requests.length).toBe(before);
    // Refused by the sandbox (its day is today, not 2030-01-01), but what was sent is consistent under both readings.
    await client.addCaseNotes({ Notes: 'n', CaseId: '1' }).catch(() => undefined);
    const sent = suite.sandbox.requests[suite.sandbox.requests.length - 1];
    expect(sent.params.RequestDate).toBe('2030-01-01T23:59:59');
    expect(sent.params.Signature).toBe(expectedSignature(['CaseId'], sent.params, new Date('2030-01-01T12:00:00Z'), secret()));
  });
});
