/**
 * The sandbox iCasework reads parameters in every request encoding the reference lists (extra-peer-facts.md A0,
 * "Request encodings that work": form body, query auth + form fields, everything in the body, a JSON body with a
 * Bearer token; "A fake should accept query, form and JSON input"), checks the signature the same way whichever
 * encoding carries it, and answers a JSON body it cannot read with its usual 400 + X-Application-Error-* and the HTML
 * error page, creating nothing. Requests are built here by hand (not with the adapter's client), over loopback.
 */
import { createHash, createHmac } from 'node:crypto';
import { silentLogger } from '../../../src/core/logger';
import { IcaseworkSandbox, SANDBOX_ERRORS } from '../sandbox';

const KEY = 'enc-key';
const SECRET = 'enc-secret';

let sandbox: IcaseworkSandbox;

beforeAll(async () => {
  sandbox = await new IcaseworkSandbox({ keys: [{ key: KEY, secret: SECRET, allowedIps: ['127.0.0.1', '::1'] }], log: silentLogger() }).start();
});
afterAll(async () => {
  await sandbox.stop();
});

/** The reference's createcase signature: MD5 hex of the UTC date (YYYY-MM-DD) + secret, no extra parameter. */
function createcaseSignature(secret = SECRET): string {
  const date = new Date(sandbox.now()).toISOString().slice(0, 10);
  return createHash('md5').update(`${date}${secret}`, 'utf8').digest('hex');
}

/** An HS256 JWT-bearer assertion (reference §1.3: iss = key, aud = the token URL, iat = now). */
function assertion(aud: string): string {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const head = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ iss: KEY, aud, iat: Math.floor(sandbox.now() / 1000) })}`;
  return `${head}.${createHmac('sha256', SECRET).update(head).digest('base64url')}`;
}

async function bearerToken(): Promise<string> {
  const url = `${sandbox.apiUrl}/token?db=caseway`;
  const r = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: assertion(url) }).toString(),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { access_token: string }).access_token;
}

const FORM = { 'Content-Type': 'application/x-www-form-urlencoded' } as const;
const formBody = (p: Record<string, string>) => new URLSearchParams(p).toString();
const query = (p: Record<string, string>) => `?${new URLSearchParams(p).toString()}`;

/** The case's own fields (a type-specific one and a customer one) as each encoding sends them. */
const fields = (n: number): Record<string, string> => ({ Type: 'Complaint', Details: `encoding ${n}`, 'Customer.Surname': `Bloggs${n}` });

interface Encoding {
  name: string;
  /** The n of fields(n) the request sends. */
  n: number;
  request: () => Promise<{ url: string; init: RequestInit }>;
}

const encodings: Encoding[] = [
  {
    // HOF code up to the axios migration: request's options.form with everything (firearms after 60a50cf).
    name: '1. everything form-encoded in the POST body',
    n: 1,
    request: async () => ({
      url: `${sandbox.apiUrl}/createcase`,
      init: { method: 'POST', headers: FORM, body: formBody({ Key: KEY, Signature: createcaseSignature(), db: 'caseway', RequestMethod: 'Online form', ...fields(1) }) },
    }),
  },
  {
    // firearms 37b773d: options.qs = {Key, Signature, Type, Format, db, RequestMethod}, options.form = the fields.
    name: '2. auth parameters in the query string, fields in the form body',
    n: 2,
    request: async () => {
      const { Type, ...rest } = fields(2);
      return {
        url: `${sandbox.apiUrl}/createcase${query({ Key: KEY, Signature: createcaseSignature(), Type, Format: 'json', db: 'caseway', RequestMethod: 'Online form' })}`,
        init: { method: 'POST', headers: FORM, body: formBody(rest) },
      };
    },
  },
  {
    // firearms 60a50cf ("they can also go in the body"): the same base parameter set as 37b773d, all in the body.
    // The reference's items 1 and 3 are one encoding (60a50cf is the commit item 1 describes); this one sends
    // firearms' exact set, Format=json included, on the legacy services URL.
    name: '3. everything in the body (firearms 60a50cf), legacy services URL',
    n: 3,
    request: async () => ({
      url: `${sandbox.apiUrl}/services/caseway/createcase`,
      init: { method: 'POST', headers: FORM, body: formBody({ Key: KEY, Signature: createcaseSignature(), Format: 'json', RequestMethod: 'Online form', ...fields(3) }) },
    }),
  },
  {
    // HMCTS Optics: POST with Authorization: Bearer and a JSON body of flat dotted keys, db among them.
    name: '4. a JSON body with a Bearer token',
    n: 4,
    request: async () => ({
      url: `${sandbox.apiUrl}/createcase`,
      init: {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${await bearerToken()}` },
        body: JSON.stringify({ db: 'caseway', Format: 'json', ...fields(4) }),
      },
    }),
  },
  {
    // The same JSON body signed with Key + Signature instead: the signature check reads JSON parameters too.
    name: '4b. a JSON body carrying Key and Signature',
    n: 5,
    request: async () => ({
      url: `${sandbox.apiUrl}/createcase?db=caseway`,
      init: { method: 'POST', headers: { 'Content-Type': 'application/json; charset=utf-8' }, body: JSON.stringify({ Key: KEY, Signature: createcaseSignature(), ...fields(5) }) },
    }),
  },
  {
    // Before 37b773d firearms sent everything as options.qs on a POST: the query alone.
    name: '5. everything in the query string of a POST',
    n: 6,
    request: async () => ({
      url: `${sandbox.apiUrl}/createcase${query({ Key: KEY, Signature: createcaseSignature(), db: 'caseway', ...fields(6) })}`,
      init: { method: 'POST' },
    }),
  },
];

function caseIdOf(contentType: string | null, body: string): string {
  if (contentType?.startsWith('application/json')) return (JSON.parse(body) as { createcaseresponse: { caseid: string } }).createcaseresponse.caseid;
  const m = /<caseid>(\d+)<\/caseid>/.exec(body);
  if (!m) throw new Error(`no caseid in ${body}`);
  return m[1];
}

describe('iCasework sandbox: request encodings (extra-peer-facts.md A0)', () => {
  test.each(encodings.map((e, i) => [e.name, i] as const))('%s: createcase is accepted and the case holds the fields', async (_name, i) => {
    const { url, init } = await encodings[i].request();
    const before = sandbox.cases().length;
    const r = await fetch(url, init);
    const text = await r.text();
    expect(r.status).toBe(200);
    const caseId = caseIdOf(r.headers.get('content-type'), text);
    const c = sandbox.getCase(caseId)!;
    const { n } = encodings[i];
    expect(c).toMatchObject({ type: 'Complaint', fields: { Details: `encoding ${n}` } });
    expect(sandbox.customers().find((cu) => cu.ref === c.customerRef)?.fields.Surname).toBe(`Bloggs${n}`);
    expect(sandbox.cases()).toHaveLength(before + 1);
    // The recorded parameters are the query and the body merged, whichever carried what.
    expect(sandbox.requests.at(-1)).toMatchObject({ op: 'createcase', status: 200, params: { Type: 'Complaint', Details: `encoding ${n}`, 'Customer.Surname': `Bloggs${n}` } });
  });

  test('JSON numbers and booleans are read as their text; a JSON body with a wrong signature is refused like a form one', async () => {
    const ok = await fetch(`${sandbox.apiUrl}/createcase?db=caseway`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ Key: KEY, Signature: createcaseSignature(), Type: 'Complaint', Amount: 12, Urgent: true }),
    });
    const caseId = caseIdOf(ok.headers.get('content-type'), await ok.text());
    expect(sandbox.getCase(caseId)!.fields).toMatchObject({ Amount: '12', Urgent: 'true' });

    const before = sandbox.cases().length;
    const forged = await fetch(`${sandbox.apiUrl}/createcase?db=caseway`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ Key: KEY, Signature: createcaseSignature('not-the-secret'), Type: 'Complaint' }),
    });
    expect([forged.status, forged.headers.get('x-application-error-code')]).toEqual([400, SANDBOX_ERRORS.invalidSignature.code]);
    // Signature in the query, the rest in JSON: the same check over the merged parameters.
    const split = await fetch(`${sandbox.apiUrl}/createcase${query({ db: 'caseway', Key: KEY, Signature: createcaseSignature() })}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ Type: 'Complaint', Details: 'split' }),
    });
    expect(split.status).toBe(200);
    expect(sandbox.cases()).toHaveLength(before + 1);
  });

  test('a form body is decoded as a servlet would: + and %XX, UTF-8, the first of a repeated name, a name with brackets as it is', async () => {
    const body = [
      `Key=${KEY}`,
      `Signature=${createcaseSignature()}`,
      'db=caseway',
      'Type=Complaint',
      'Details=O%27Neil+%26+Sons%2B1+%C3%A9t%C3%A9',
      'Customer.Surname=First',
      'Customer.Surname=Second',
      'Reference%5B1%5D=bracketed',
    ].join('&');
    const r = await fetch(`${sandbox.apiUrl}/createcase`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' }, body });
    const text = await r.text();
    expect(r.status).toBe(200);
    const c = sandbox.getCase(caseIdOf(r.headers.get('content-type'), text))!;
    expect(c.fields).toMatchObject({ Details: "O'Neil & Sons+1 été", 'Reference[1]': 'bracketed' });
    expect(sandbox.customers().find((cu) => cu.ref === c.customerRef)?.fields.Surname).toBe('First');
  });

  test.each([
    ['not JSON at all', '{"Type": "Complaint", "Key": ', 'Malformed request body: not valid JSON'],
    ['a JSON array', '[{"Type": "Complaint"}]', 'Malformed request body: the JSON body is not an object'],
    ['a nested object', '{"Type": "Complaint", "Customer": {"Surname": "Bloggs"}}', 'Malformed request body: Customer is not a string, number or boolean'],
    ['a null value', '{"Type": "Complaint", "Details": null}', 'Malformed request body: Details is not a string, number or boolean'],
  ])('a JSON body that is %s: 400 with X-Application-Error-* and the HTML error page, nothing created', async (_what, body, info) => {
    const before = sandbox.cases().length;
    const r = await fetch(`${sandbox.apiUrl}/createcase${query({ db: 'caseway', Key: KEY, Signature: createcaseSignature() })}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body,
    });
    expect([r.status, r.headers.get('x-application-error-code'), r.headers.get('x-application-error-info')]).toEqual([400, SANDBOX_ERRORS.malformedBody.code, info]);
    expect(r.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await r.text()).toContain('An Unexpected Error Occured');
    expect(sandbox.cases()).toHaveLength(before);
  });
});
