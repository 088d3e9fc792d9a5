import axios from 'axios';
import { IcaseworkClient } from '../src/client';
import { IcaseworkApplicationError } from '../src/errors';
import { computeSignature, utcDate } from '../src/signature';
import { settingsFor, startSandbox, testEnv } from './fixtures';
import type { IcaseworkSandbox } from '../sandbox';

// The vendor's worked example (Update external id service).
const KEY = '0c54a5a5855483e04c26de1dc';
const SECRET = '1e4ecd8c836bbd7bc9ae4b5e6';
const EXAMPLE_DATE_MS = Date.parse('2010-01-01T12:00:00Z');

describe('iCasework Key + Signature', () => {
  const env = testEnv();
  let sandbox: IcaseworkSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ keys: [{ key: KEY, secret: SECRET }], firstCaseId: 53342 });
    sandbox.setClockOffsetMs(EXAMPLE_DATE_MS - Date.now());
  });
  afterAll(async () => {
    await sandbox.stop();
    await env.redis.cleanup();
  });

  it('reproduces the vendor worked example', () => {
    expect(computeSignature('53342', '2010-01-01', SECRET)).toBe('44365b38db1a1f36df7f91067b873493');
    expect(utcDate(new Date('2010-01-01T23:59:59.999Z'))).toBe('2010-01-01');
    expect(utcDate(new Date('2010-01-01T23:30:00-02:00'))).toBe('2010-01-02');
  });

  it('signs updateexternalid with the case id exactly as in the example, and the sandbox accepts it', async () => {
    const h = env.harness(settingsFor(sandbox));
    const client = new IcaseworkClient(h.ctx, settingsFor(sandbox), { clock: () => EXAMPLE_DATE_MS });
    const created = await client.createCase({ Type: 'Complaint' });
    expect(created.caseId).toBe('53342');
    // createcase signs date + secret only.
    const createReq = sandbox.requests.find((r) => r.op === 'createcase')!;
    expect(createReq.params.Key).toBe(KEY);
    expect(createReq.params.Signature).toBe(computeSignature('', '2010-01-01', SECRET));

    await client.updateExternalId({ CaseId: '53342', ExternalId: 'hub-1' });
    const req = sandbox.requests.filter((r) => r.op === 'updateexternalid').pop()!;
    expect(req.params.Key).toBe(KEY);
    expect(req.params.Signature).toBe('44365b38db1a1f36df7f91067b873493');
    expect(req.status).toBe(200);
    expect(sandbox.getCase('53342')!.externalId).toBe('hub-1');
  });

  it('the sandbox refuses a wrong signature with HTTP 400 and the application error headers', async () => {
    const res = await axios.post(
      `${sandbox.apiUrl}/updateexternalid`,
      new URLSearchParams({ Key: KEY, Signature: '0'.repeat(32), CaseId: '53342', ExternalId: 'x' }).toString(),
      { validateStatus: () => true, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } },
    );
    expect(res.status).toBe(400);
    expect(res.headers['x-application-error-code']).toBe('10002');
    expect(res.headers['x-application-error-info']).toBe('Invalid signature');
    expect(String(res.headers['content-type'])).toContain('text/html');
    expect(String(res.data)).toContain('An Unexpected Error Occured');
  });

  it('a stale signature (yesterday) is refused as a permanent typed error', async () => {
    const h = env.harness(settingsFor(sandbox));
    const yesterday = EXAMPLE_DATE_MS - 24 * 3600 * 1000;
    const client = new IcaseworkClient(h.ctx, settingsFor(sandbox), { clock: () => yesterday });
    const err = await client.updateExternalId({ CaseId: '53342', ExternalId: 'hub-2' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IcaseworkApplicationError);
    expect((err as IcaseworkApplicationError).applicationErrorCode).toBe('10002');
    expect((err as IcaseworkApplicationError).retryable).toBe(false);
    expect((err as IcaseworkApplicationError).status).toBe(400);
    expect(sandbox.getCase('53342')!.externalId).toBe('hub-1');
  });

  it('the signed parameter per operation is configurable', async () => {
    // A sandbox whose addcasenotes signs date + secret only.
    const other = await startSandbox({ keys: [{ key: 'k2', secret: 's2' }], signedParameters: { addcasenotes: [] } });
    try {
      const base = settingsFor(other);
      const h = env.harness(base);
      const { caseId } = await new IcaseworkClient(h.ctx, base).createCase({ Type: 'Complaint' });
      const defaultClient = new IcaseworkClient(h.ctx, base);
      const refused = await defaultClient.addCaseNotes({ Notes: 'n', CaseId: caseId }).catch((e: unknown) => e);
      expect((refused as IcaseworkApplicationError).applicationErrorCode).toBe('10002');
      const configured = new IcaseworkClient(h.ctx, { ...base, signedParameters: { addcasenotes: [] } });
      await configured.addCaseNotes({ Notes: 'n', CaseId: caseId });
      expect(other.notes(caseId).map((n) => n.text)).toEqual(['n']);
    } finally {
      await other.stop();
    }
  });

  it('addcasenotes by ExternalId signs the ExternalId', async () => {
    const h = env.harness(settingsFor(sandbox));
    const client = new IcaseworkClient(h.ctx, settingsFor(sandbox), { clock: () => EXAMPLE_DATE_MS });
    await client.addCaseNotes({ Notes: 'via external id', ExternalId: 'hub-1' });
    const req = sandbox.requests.filter((r) => r.op === 'addcasenotes').pop()!;
    expect(req.params.Signature).toBe(computeSignature('hub-1', '2010-01-01', SECRET));
    expect(sandbox.notes('53342').map((n) => n.text)).toContain('via external id');
  });
});
