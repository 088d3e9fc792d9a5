import axios from 'axios';
import { IcaseworkClient } from '../src/client';
import { IcaseworkApplicationError, IcaseworkEmptyReplyError } from '../src/errors';
import { JWT_BEARER_GRANT, signJwtHs256, verifyJwtHs256 } from '../src/oauth';
import type { IcaseworkSandbox } from '../sandbox';
import { adapter, deliveryRequest, sampleCase, settingsFor, startSandbox, testEnv } from './fixtures';

describe('iCasework OAuth2 JWT-bearer', () => {
  const env = testEnv();
  let sandbox: IcaseworkSandbox;

  beforeAll(async () => {
    sandbox = await startSandbox({ tokenLifetimeSeconds: 3600 });
  });
  afterAll(async () => {
    await sandbox.stop();
    await env.redis.cleanup();
  });

  it('signs an HS256 assertion with iss = key and aud = token URL', () => {
    const jwt = signJwtHs256({ iss: 'k', aud: 'https://uat.icasework.com/token?db=x', iat: 1700000000 }, 'secret');
    const claims = verifyJwtHs256(jwt, (iss) => (iss === 'k' ? 'secret' : undefined));
    expect(claims).toEqual({ iss: 'k', aud: 'https://uat.icasework.com/token?db=x', iat: 1700000000 });
    expect(verifyJwtHs256(jwt, () => 'other-secret')).toBeNull();
    expect(JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url').toString())).toEqual({ alg: 'HS256', typ: 'JWT' });
  });

  it('fetches one token, caches it across calls, and sends it as a Bearer header instead of Key/Signature', async () => {
    const settings = settingsFor(sandbox, { authMode: 'oauth2' });
    const h = env.harness(settings);
    const client = new IcaseworkClient(h.ctx, settings);
    const issued = sandbox.tokensIssued;
    const { caseId } = await client.createCase({ Type: 'Complaint' });
    await client.addCaseNotes({ Notes: 'n', CaseId: caseId });
    await client.getCaseDetails({ CaseId: caseId });
    expect(sandbox.tokensIssued - issued).toBe(1);
    expect(client.tokens!.fetched).toBe(1);
    const tokenReq = sandbox.requests.filter((r) => r.op === 'token').pop()!;
    expect(tokenReq.method).toBe('POST');
    expect(tokenReq.params.grant_type).toBe(JWT_BEARER_GRANT);
    expect(tokenReq.params.db).toBe(sandbox.account);
    const claims = verifyJwtHs256(tokenReq.params.assertion, () => settings.secret)!;
    expect(claims.iss).toBe(settings.key);
    expect(claims.aud).toBe(`${sandbox.apiUrl}/token?db=${sandbox.account}`);
    const calls = sandbox.requests.filter((r) => ['createcase', 'addcasenotes', 'getcasedetails'].includes(r.op)).slice(-3);
    for (const r of calls) {
      expect(r.auth).toBe('bearer');
      expect(r.params.Key).toBeUndefined();
      expect(r.params.Signature).toBeUndefined();
      expect(r.status).toBe(200);
    }
  });

  it('refreshes the token before it expires', async () => {
    let now = Date.now();
    const settings = settingsFor(sandbox, { authMode: 'oauth2', tokenRefreshSkewSeconds: 60 });
    const h = env.harness(settings);
    const client = new IcaseworkClient(h.ctx, settings, { clock: () => now });
    const issued = sandbox.tokensIssued;
    await client.createCase({ Type: 'Complaint' });
    now += 3500 * 1000; // 100 s before expiry: still cached
    await client.createCase({ Type: 'Complaint' });
    expect(sandbox.tokensIssued - issued).toBe(1);
    now += 50 * 1000; // 50 s before expiry: inside the refresh window
    sandbox.setClockOffsetMs(now - Date.now()); // the sandbox's clock agrees (iat check)
    try {
      await client.createCase({ Type: 'Complaint' });
    } finally {
      sandbox.setClockOffsetMs(0);
    }
    expect(sandbox.tokensIssued - issued).toBe(2);
    const [first, second] = sandbox.requests.filter((r) => r.op === 'token').slice(-2);
    expect(first.params.assertion).not.toBe(second.params.assertion);
  });

  it('concurrent calls share one token request', async () => {
    const settings = settingsFor(sandbox, { authMode: 'oauth2' });
    const client = new IcaseworkClient(env.harness(settings).ctx, settings);
    const issued = sandbox.tokensIssued;
    await Promise.all([1, 2, 3, 4].map(() => client.createCase({ Type: 'Complaint' })));
    expect(sandbox.tokensIssued - issued).toBe(1);
  });

  it('a token the peer no longer accepts (401) is replaced once and the call succeeds', async () => {
    const settings = settingsFor(sandbox, { authMode: 'oauth2' });
    const client = new IcaseworkClient(env.harness(settings).ctx, settings);
    await client.createCase({ Type: 'Complaint' });
    const issued = sandbox.tokensIssued;
    sandbox.expireTokens();
    const { caseId } = await client.createCase({ Type: 'Complaint' });
    expect(sandbox.getCase(caseId)).toBeDefined();
    expect(sandbox.tokensIssued - issued).toBe(1);
    const last = sandbox.requests.filter((r) => r.op === 'createcase').slice(-2);
    expect(last.map((r) => r.status)).toEqual([401, 200]);
  });

  it('bad credentials: HTTP 400 19002 invalid_grant becomes a permanent typed error', async () => {
    const settings = settingsFor(sandbox, { authMode: 'oauth2', secret: 'wrong-secret' });
    const client = new IcaseworkClient(env.harness(settings).ctx, settings);
    const err = (await client.createCase({ Type: 'Complaint' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
    expect(err).toBeInstanceOf(IcaseworkApplicationError);
    expect(err.applicationErrorCode).toBe('19002');
    expect(err.sensitiveDetail()?.peerDetail).toBe('invalid_grant');
    expect(err.retryable).toBe(false);
  });

  it('wrong db: the token endpoint answers 200 with an empty body, which is an error', async () => {
    const settings = settingsFor(sandbox, { authMode: 'oauth2', account: 'other-db' });
    const client = new IcaseworkClient(env.harness(settings).ctx, settings);
    const err = await client.createCase({ Type: 'Complaint' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IcaseworkEmptyReplyError);
    const res = await axios.post(`${sandbox.apiUrl}/token?db=other-db`, new URLSearchParams({ grant_type: JWT_BEARER_GRANT }).toString(), { validateStatus: () => true });
    expect(res.status).toBe(200);
    expect(res.headers['content-length']).toBe('0');
  });

  it('the token request of a key restricted to another IP is refused', async () => {
    sandbox.addKey({ key: 'oauth-restricted', secret: 'ors', allowedIps: ['192.0.2.1'] });
    const settings = settingsFor(sandbox, { authMode: 'oauth2', keyName: 'oauth-restricted' });
    const client = new IcaseworkClient(env.harness(settings).ctx, settings);
    const err = (await client.createCase({ Type: 'Complaint' }).catch((e: unknown) => e)) as IcaseworkApplicationError;
    expect(err.applicationErrorCode).toBe('10003');
  });

  it('the adapter reuses one token per connection across deliveries', async () => {
    const settings = settingsFor(sandbox, { authMode: 'oauth2' });
    const h = env.harness(settings, undefined, 'icw-oauth-conn');
    const issued = sandbox.tokensIssued;
    await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', notes: false }, { hubId: 'hub-oauth-1' }), h.ctx);
    await adapter.actions.createCase.deliver(deliveryRequest(sampleCase(), 'createCase', { caseType: 'Complaint', notes: false }, { hubId: 'hub-oauth-2' }), h.ctx);
    expect(sandbox.tokensIssued - issued).toBe(1);
  });
});
