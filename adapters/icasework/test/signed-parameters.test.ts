/**
 * The adapter signs each operation with the parameter the reference says, checked against a sandbox whose table
 * (sandbox/auth.ts) is written from the reference and never imports the adapter: every operation the adapter calls
 * is accepted, the Signature sent is recomputed here from the reference table, and an adapter that signs a
 * different parameter is refused (10002).
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IcaseworkClient } from '../src/client';
import { IcaseworkApplicationError } from '../src/errors';
import { DEFAULT_SIGNED_PARAMETERS } from '../src/settings';
import type { IcaseworkSandbox } from '../sandbox';
import { REFERENCE_SIGNED_PARAMETERS } from '../sandbox/auth';
import { settingsFor, startSandbox, testEnv } from './fixtures';

type Call = (client: IcaseworkClient<unknown>, caseId: string) => Promise<unknown>;

/** One call per operation (and per identifying parameter) the adapter makes. */
const CALLS: Array<[string, string, Call]> = [
  ['createcase', '', (c) => c.createCase({ Type: 'Complaint', ExternalId: 'hub-sig-1' })],
  ['addcasenotes', 'CaseId', (c, id) => c.addCaseNotes({ Notes: 'n', CaseId: id })],
  ['addcasenotes', 'ExternalId', (c) => c.addCaseNotes({ Notes: 'n', ExternalId: 'hub-sig-1' })],
  ['updateexternalid', 'CaseId', (c, id) => c.updateExternalId({ CaseId: id, ExternalId: 'hub-sig-1' })],
  ['updatecustomer', 'Id', (c) => c.updateCustomer({ Id: 'C-1', Surname: 'X' })],
  ['getcasedetails', 'CaseId', (c, id) => c.getCaseDetails({ CaseId: id })],
  ['getcasedetails', 'ExternalId', (c) => c.getCaseDetails({ ExternalId: 'hub-sig-1' })],
  ['getreport', 'ReportId', (c) => c.getReport('CASEWAY-ALL')],
  ['uploaddocuments', 'CaseId', (c, id) => c.uploadDocuments({ CaseId: id, 'Document1.Name': 'a.pdf', 'Document1.URL': 'https://files.example/a.pdf' })],
  ['getcasedocuments', 'CaseId', (c, id) => c.getCaseDocuments(id)],
  ['updatecase', 'CaseId', (c, id) => c.updateCase({ CaseId: id, Details: 'd' })],
  ['updatecase', 'ExternalId', (c) => c.updateCase({ ExternalId: 'hub-sig-1', Details: 'd' })],
];

/** The signature the reference prescribes, computed here (not with the adapter's code). */
function referenceSignature(op: string, params: Record<string, string>, secret: string, date: string): string {
  const name = REFERENCE_SIGNED_PARAMETERS[op].params.find((p) => params[p]);
  return createHash('md5').update(`${name ? params[name] : ''}${date}${secret}`).digest('hex');
}

/** Both clocks at noon UTC of a fixed day, so the signed date cannot roll over midnight between client and sandbox. */
const NOON = Date.parse('2026-03-10T12:00:00Z');
const clock = () => NOON;

describe('signed parameters: the adapter against the reference', () => {
  const env = testEnv();
  let sandbox: IcaseworkSandbox;
  let caseId: string;

  beforeAll(async () => {
    sandbox = await startSandbox();
    sandbox.setClockOffsetMs(NOON - Date.now());
    caseId = (await new IcaseworkClient(env.harness(settingsFor(sandbox)).ctx, settingsFor(sandbox), { clock }).createCase({ Type: 'Complaint', ExternalId: 'hub-sig-1' })).caseId;
  });
  afterAll(async () => {
    await sandbox.stop();
    await env.redis.cleanup();
  });

  it('the sandbox does not import the adapter (so its table can disagree)', () => {
    const dir = join(__dirname, '..', 'sandbox');
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
      const text = readFileSync(join(dir, file), 'utf8');
      expect([file, /from\s+'\.\.\/src\//.test(text) || /require\(\s*'\.\.\/src\//.test(text)]).toEqual([file, false]);
    }
  });

  it("the adapter's built-in table equals the reference's for every operation the reference names", () => {
    for (const [op, rule] of Object.entries(REFERENCE_SIGNED_PARAMETERS)) expect([op, DEFAULT_SIGNED_PARAMETERS[op]]).toEqual([op, rule.params]);
  });

  it.each(CALLS)('%s by %s: accepted, and signed with the parameter the reference names', async (op, _by, call) => {
    const settings = settingsFor(sandbox);
    const client = new IcaseworkClient(env.harness(settings).ctx, settings, { clock });
    const from = sandbox.requests.length;
    await call(client, caseId);
    const sent = sandbox.requests.slice(from).filter((r) => r.op === op);
    expect(sent).toHaveLength(1);
    expect(sent[0].status).toBe(200);
    const date = '2026-03-10';
    expect(sent[0].params.Signature).toBe(referenceSignature(op, sent[0].params, String(settings.secret), date));
  });

  it.each(CALLS)('the negative, %s by %s: an adapter signing another parameter is refused with 10002', async (op, by, call) => {
    const wrong = by === '' ? ['Type'] : [];
    const settings = { ...settingsFor(sandbox), signedParameters: { [op]: wrong } };
    const client = new IcaseworkClient(env.harness(settings).ctx, settings, { clock });
    const err = await call(client, caseId).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(IcaseworkApplicationError);
    expect((err as IcaseworkApplicationError).applicationErrorCode).toBe('10002');
  });
});
