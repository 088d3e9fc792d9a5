/**
 * An X-Application-Error-Info that echoes personal data (a name, an address, a birth date) never ends up in plaintext
 * on the error object (any enumerable property, JSON, message, stack, util.inspect, the log serializer, the safe view)
 * nor in what the hub stores for the failed job (BullMQ failure reason = dead letter, trace). What an operator needs is
 * kept: the code, the names of the parameters the text mentions, its length; the words themselves leave only through
 * sensitiveDetail(), which the hub keeps encrypted (the audited operator page, test/e2e/pii-echo.test.ts).
 * The sandbox does not echo input values in its own refusals, so the echo is planted with failNext headers.
 */
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import axios from 'axios';
import { DetailHasher, safeErrorDetail } from '../../../src/core/errors';
import { serializeError } from '../../../src/core/logger';
import { eventually, type TestHub } from '../../../test/helpers/hub';
import type { IcaseworkSandbox } from '../sandbox';
import { IcaseworkApplicationError } from '../src/errors';
import { adapter, deliveryRequest, sampleCase, sandboxSuite, hubToSandbox, startSandbox } from './fixtures';

const SURNAME = 'Okonkwo-Vantreight';
const STREET = '12 Acacia Avenue';
const BORN = '1977-11-05';
const PLANTED = [SURNAME, 'Okonkwo', 'Vantreight', STREET, 'Acacia', BORN];
/** Mentions two parameters the call sent and one it did not (Customer.NationalInsurance). */
const INFO = `Customer.Surname ${SURNAME} (born ${BORN}) at ${STREET} does not match Customer.DateOfBirth or Customer.NationalInsurance`;
const echo = { status: 400, headers: { 'X-Application-Error-Code': '1007', 'X-Application-Error-Info': INFO }, contentType: 'text/html', body: `<html>${SURNAME}</html>` };

/** Every string reachable through enumerable own properties (nested objects and arrays included). */
function enumerableStrings(value: unknown, seen = new Set<unknown>()): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  return Object.keys(value).flatMap((k) => [k, ...enumerableStrings((value as Record<string, unknown>)[k], seen)]);
}

const leaks = (where: Record<string, string>): string[] =>
  Object.entries(where).flatMap(([name, text]) => PLANTED.filter((p) => text.includes(p)).map((p) => `${p} in ${name}`));

describe('an echoed X-Application-Error-Info', () => {
  const suite = sandboxSuite();

  it('leaves no plaintext on the error; keeps code, parameter names and length, and the words only for sealing', async () => {
    const c = sampleCase({ notes: [] });
    const party = c.parties[1];
    party.person = { ...party.person, surname: SURNAME, birthDate: BORN };
    party.addresses = [{ lines: [STREET], town: 'Lowtown' }];
    suite.sandbox.failNext('createcase', echo);
    const err = (await adapter.actions.createCase
      .deliver(deliveryRequest(c, 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-echo-1', earlierAttempts: 0 }), suite.harness().ctx)
      .catch((e: unknown) => e)) as IcaseworkApplicationError;
    expect(err).toBeInstanceOf(IcaseworkApplicationError);
    // The echo really came back with the request's own values (the sandbox received them).
    expect(suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()?.params['Customer.Surname']).toBe(SURNAME);

    const hasher = new DetailHasher(randomBytes(32));
    expect(
      leaks({
        'enumerable properties': enumerableStrings(err).join('\n'),
        'JSON.stringify(err)': JSON.stringify(err),
        'err.message': err.message,
        'err.stack': err.stack ?? '',
        'util.inspect(err)': inspect(err, { showHidden: true, depth: Infinity }),
        'log serializer': JSON.stringify(serializeError(err)),
        'safe view with the hub key': JSON.stringify(safeErrorDetail(err, hasher)),
      }),
    ).toEqual([]);

    expect(err.applicationErrorCode).toBe('1007');
    expect(err.applicationErrorParameters).toEqual(['Customer.Surname', 'Customer.DateOfBirth']);
    expect(err.applicationErrorInfoLength).toBe(INFO.length);
    expect(safeErrorDetail(err, hasher)).toMatchObject({
      peerCode: '1007',
      peerParameters: 'Customer.Surname,Customer.DateOfBirth',
      peerDetailLength: INFO.length,
      hasPeerDetail: true,
      detailHash: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(err.sensitiveDetail()).toEqual({ peerDetail: INFO });
  });

  it('a refusal with a code and no info: nothing named, no length, nothing to seal', async () => {
    suite.sandbox.failNext('createcase', { status: 400, headers: { 'X-Application-Error-Code': '1008' }, body: 'x' });
    const err = (await adapter.actions.createCase
      .deliver(deliveryRequest(sampleCase({ notes: [] }), 'createCase', { caseType: 'Complaint' }, { hubId: 'hub-echo-2', earlierAttempts: 0 }), suite.harness().ctx)
      .catch((e: unknown) => e)) as IcaseworkApplicationError;
    expect([err.applicationErrorCode, err.applicationErrorParameters, err.applicationErrorInfoLength]).toEqual(['1008', [], undefined]);
    expect(err.sensitiveDetail()).toBeUndefined();
    expect(err.toJSON().hasPeerDetail).toBeUndefined();
  });
});

describe('an echoed X-Application-Error-Info through the hub', () => {
  let sandbox: IcaseworkSandbox;
  let t: TestHub;

  beforeAll(async () => {
    sandbox = await startSandbox();
    t = await hubToSandbox(sandbox, { delivery: '{ attempts: 1 }' });
  });
  afterAll(async () => {
    await t?.stop();
    await sandbox?.stop();
  });

  it("the job's failure reason (dead letter) and the trace hold none of it; the sealed peer error does", async () => {
    sandbox.failNext('createcase', echo);
    const kase = { type: 'complaint', source: { system: 'recorder', id: 'ev-echo' }, parties: [{ roles: ['customer'], person: { surname: SURNAME, birthDate: BORN }, addresses: [{ lines: [STREET] }] }] };
    const hubId = ((await axios.post(`${t.baseUrl}/recorder/inbox`, { eventId: 'ev-echo', case: kase })).data as { results: Array<{ hubId: string }> }).results[0].hubId;
    const dead = await eventually(async () => (await t.hub.deadLetters.list('icw')).find((d) => d.hubId === hubId), 15000, 'the dead letter');
    const trace = (await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`)).data as { trace: Array<{ stage: string; error?: Record<string, unknown> }> };
    expect(leaks({ 'failure reason': dead.failedReason, 'dead letter': JSON.stringify(dead), trace: JSON.stringify(trace) })).toEqual([]);
    expect(dead.failedReason).toBe('icasework: createcase refused with HTTP 400 (X-Application-Error-Code 1007)');
    expect(trace.trace.find((e) => e.stage === 'dead')?.error).toMatchObject({ peerCode: '1007', peerParameters: 'Customer.Surname,Customer.DateOfBirth', peerDetailLength: INFO.length, hasPeerDetail: true });
    // Operators still get the peer's words, from the encrypted store only.
    const sealed = Object.values(await t.hub.runtime.cases.peerErrors(hubId)) as Array<{ peerDetail?: string }>;
    expect(sealed.map((r) => r.peerDetail)).toEqual([INFO]);
  });
});
