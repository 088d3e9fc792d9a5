/**
 * The sandbox iCasework pulls document content (extra-peer-facts.md A1: "Pull only: iCasework GETs the URL you pass";
 * URLLoadContent read, as Inferred there, as "fetch the content now"): for DocumentN.URLLoadContent=true it GETs
 * DocumentN.URL before answering createcase / uploaddocuments and records status, byte length and content type, never
 * the content. What a failed fetch answers is UNKNOWN in the reference: by default the call succeeds with the failure
 * recorded ('accept'); with onFailure 'refuse' it is a 400 + X-Application-Error-Code 10014 and nothing is created.
 * The documents are served by a real HTTP server in this file; requests are built by hand, over loopback.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger, silentLogger } from '../../../src/core/logger';
import { closeHttpServer } from '../../../src/core/util';
import { DEFAULT_DOCUMENT_FETCH, IcaseworkSandbox, SANDBOX_ERRORS, documentFetchFromEnv, sandbox as definition } from '../sandbox';

const KEY = 'doc-key';
const SECRET = 'doc-secret';
/** Content that must never show up in a log line. */
const CONTENT = Buffer.from(`%PDF-1.4 CONFIDENTIAL-DOCUMENT-BODY ${'x'.repeat(1000)}`);
const TOKEN = 'keycloak-bearer-0123456789';

let sandbox: IcaseworkSandbox;
let files: Server;
let filesUrl: string;
/** Unanswered requests to /hang, answered by the test once it has seen the sandbox give up. */
const hanging: ServerResponse[] = [];
/** Every GET the document server received: path and query. */
const hits: Array<{ path: string; query: string }> = [];
const logLines: string[] = [];

function serveFile(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://files');
  hits.push({ path: url.pathname, query: url.search });
  if (url.pathname === '/files/order.pdf') res.writeHead(200, { 'Content-Type': 'application/pdf' }).end(CONTENT);
  else if (url.pathname === '/files/moved.pdf') res.writeHead(302, { Location: '/files/order.pdf' }).end();
  else if (url.pathname === '/files/big.bin') res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(Buffer.alloc(64 * 1024, 1));
  else if (url.pathname === '/files/hang') hanging.push(res);
  else res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
}

/** A port nothing listens on: bound, then closed. */
async function closedPortUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return `http://127.0.0.1:${port}/files/order.pdf`;
}

beforeAll(async () => {
  files = createServer(serveFile);
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void logLines.push(line) } });
  sandbox = await new IcaseworkSandbox({ keys: [{ key: KEY, secret: SECRET, allowedIps: ['127.0.0.1', '::1'] }], log }).start();
});
afterAll(async () => {
  await sandbox.stop();
  await closeHttpServer(files);
});
beforeEach(() => {
  sandbox.setDocumentFetch(DEFAULT_DOCUMENT_FETCH);
  hits.length = 0;
});

/** MD5 hex of (signed parameter value) + UTC date + secret (reference §1.2). */
function sign(value = ''): string {
  return createHash('md5').update(`${value}${new Date(sandbox.now()).toISOString().slice(0, 10)}${SECRET}`, 'utf8').digest('hex');
}

async function call(op: 'createcase' | 'uploaddocuments', params: Record<string, string>): Promise<Response> {
  const signature = sign(op === 'uploaddocuments' ? params.CaseId : '');
  return fetch(`${sandbox.apiUrl}/${op}?db=caseway`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ Key: KEY, Signature: signature, ...params }).toString(),
  });
}

const doc = (n: number, url: string, loadContent: boolean): Record<string, string> => ({
  [`Document${n}.Name`]: `doc${n}.pdf`,
  [`Document${n}.MimeType`]: 'application/pdf',
  [`Document${n}.URL`]: url,
  ...(loadContent ? { [`Document${n}.URLLoadContent`]: 'true' } : {}),
});

async function createCase(params: Record<string, string>): Promise<{ status: number; caseId?: string; response: Response }> {
  const response = await call('createcase', { Type: 'Complaint', Format: 'json', ...params });
  if (response.status !== 200) return { status: response.status, response };
  const caseId = ((await response.json()) as { createcaseresponse: { caseid: string } }).createcaseresponse.caseid;
  return { status: 200, caseId, response };
}

describe('iCasework sandbox: pulling DocumentN.URL', () => {
  test('createcase: a served document sent with URLLoadContent=true is fetched before the reply and recorded; one without it is not', async () => {
    const fetchesBefore = sandbox.documentFetches.length;
    const served = `${filesUrl}/files/order.pdf?id=7&token=${TOKEN}`;
    const { status, caseId } = await createCase({ ...doc(1, served, true), ...doc(2, `${filesUrl}/files/other.pdf`, false) });
    expect(status).toBe(200);
    // The peer GETs the URL exactly as given (token included), once; the document without URLLoadContent is not fetched.
    expect(hits).toEqual([{ path: '/files/order.pdf', query: `?id=7&token=${TOKEN}` }]);
    const [d1, d2] = sandbox.getCase(caseId!)!.documents;
    const record = { op: 'createcase', document: 1, url: `${filesUrl}/files/order.pdf`, outcome: 'loaded', status: 200, bytes: CONTENT.length, contentType: 'application/pdf', caseId, documentId: d1.id };
    expect(sandbox.documentFetches.slice(fetchesBefore)).toEqual([record]);
    expect(d1.fetched).toEqual({ outcome: 'loaded', status: 200, bytes: CONTENT.length, contentType: 'application/pdf', error: undefined });
    expect(d2.fetched).toBeUndefined();
  });

  test('uploaddocuments: the document is fetched (a redirect followed) and recorded against the case', async () => {
    const { caseId } = await createCase({});
    const fetchesBefore = sandbox.documentFetches.length;
    const r = await call('uploaddocuments', { CaseId: caseId!, Format: 'json', ...doc(1, `${filesUrl}/files/moved.pdf`, true) });
    expect(r.status).toBe(200);
    expect(hits.map((h) => h.path)).toEqual(['/files/moved.pdf', '/files/order.pdf']);
    const [stored] = sandbox.getCase(caseId!)!.documents;
    expect(sandbox.documentFetches.slice(fetchesBefore)).toEqual([
      expect.objectContaining({ op: 'uploaddocuments', document: 1, outcome: 'loaded', status: 200, bytes: CONTENT.length, caseId, documentId: stored.id }),
    ]);
  });

  test('logs say what was fetched (status, bytes, content type) but never the content or the URL query', async () => {
    await createCase(doc(1, `${filesUrl}/files/order.pdf?token=${TOKEN}`, true));
    const fetched = logLines.filter((l) => l.includes('document fetched'));
    expect(fetched.length).toBeGreaterThan(0);
    expect(JSON.parse(fetched.at(-1)!)).toMatchObject({ op: 'createcase', document: 1, url: `${filesUrl}/files/order.pdf`, outcome: 'loaded', status: 200, bytes: CONTENT.length, contentType: 'application/pdf' });
    const all = logLines.join('\n');
    expect(all).not.toContain('CONFIDENTIAL-DOCUMENT-BODY');
    expect(all).not.toContain(TOKEN);
  });

  test("default onFailure 'accept': a 404 or an unreachable URL still creates the case, the failed fetch recorded on the document", async () => {
    const unreachable = await closedPortUrl();
    const fetchesBefore = sandbox.documentFetches.length;
    const { status, caseId } = await createCase({ ...doc(1, `${filesUrl}/files/missing.pdf`, true), ...doc(2, unreachable, true) });
    expect(status).toBe(200);
    const [d1, d2] = sandbox.getCase(caseId!)!.documents;
    expect(sandbox.documentFetches.slice(fetchesBefore)).toEqual([
      expect.objectContaining({ document: 1, outcome: 'failed', status: 404, error: 'HTTP 404', documentId: d1.id }),
      expect.objectContaining({ document: 2, outcome: 'failed', error: 'ECONNREFUSED', documentId: d2.id }),
    ]);
    expect(d1.fetched).toMatchObject({ outcome: 'failed', status: 404 });
    expect(d2.fetched).toMatchObject({ outcome: 'failed', error: 'ECONNREFUSED' });
  });

  test("onFailure 'refuse': a 404 or an unreachable URL is 400 + 10014 naming the field, and nothing is created or attached", async () => {
    sandbox.setDocumentFetch({ onFailure: 'refuse' });
    const casesBefore = sandbox.cases().length;
    const notFound = await createCase({ ...doc(1, `${filesUrl}/files/order.pdf`, true), ...doc(2, `${filesUrl}/files/missing.pdf`, true) });
    expect([notFound.status, notFound.response.headers.get('x-application-error-code'), notFound.response.headers.get('x-application-error-info')]).toEqual([
      400,
      SANDBOX_ERRORS.documentNotRetrieved.code,
      'Document could not be retrieved: Document2.URL',
    ]);
    expect(await notFound.response.text()).toContain('An Unexpected Error Occured');
    expect(sandbox.cases()).toHaveLength(casesBefore);

    // uploaddocuments to an existing case: refused, the case's documents unchanged.
    sandbox.setDocumentFetch({ onFailure: 'accept' });
    const { caseId } = await createCase({});
    sandbox.setDocumentFetch({ onFailure: 'refuse' });
    const unreachable = await closedPortUrl();
    const fetchesBefore = sandbox.documentFetches.length;
    const r = await call('uploaddocuments', { CaseId: caseId!, ...doc(1, unreachable, true) });
    expect([r.status, r.headers.get('x-application-error-code'), r.headers.get('x-application-error-info')]).toEqual([400, '10014', 'Document could not be retrieved: Document1.URL']);
    expect(sandbox.getCase(caseId!)!.documents).toEqual([]);
    // The failed GET is still recorded, with nowhere it went.
    expect(sandbox.documentFetches.slice(fetchesBefore)).toEqual([{ op: 'uploaddocuments', document: 1, url: unreachable, outcome: 'failed', error: 'ECONNREFUSED' }]);
  });

  test('every fetch is bounded: a peer that never answers times out, a body over maxBytes stops there; both count as failed', async () => {
    sandbox.setDocumentFetch({ timeoutMs: 300, maxBytes: 1024, onFailure: 'refuse' });
    const slow = await createCase(doc(1, `${filesUrl}/files/hang`, true));
    expect([slow.status, slow.response.headers.get('x-application-error-info')]).toEqual([400, 'Document could not be retrieved: Document1.URL']);
    expect(sandbox.documentFetches.at(-1)).toMatchObject({ outcome: 'failed', error: 'timeout after 300 ms' });
    for (const res of hanging.splice(0)) res.end();

    const big = await createCase(doc(1, `${filesUrl}/files/big.bin`, true));
    expect(big.status).toBe(400);
    const last = sandbox.documentFetches.at(-1)!;
    expect(last).toMatchObject({ outcome: 'failed', status: 200, error: 'larger than 1024 bytes', contentType: 'application/octet-stream' });
    expect(last.bytes).toBeGreaterThan(1024);
  });

  test("when: 'always' fetches documents sent without URLLoadContent; 'never' fetches none", async () => {
    sandbox.setDocumentFetch({ when: 'always' });
    await createCase(doc(1, `${filesUrl}/files/order.pdf`, false));
    expect(hits.map((h) => h.path)).toEqual(['/files/order.pdf']);
    sandbox.setDocumentFetch({ when: 'never' });
    const fetchesBefore = sandbox.documentFetches.length;
    const { status, caseId } = await createCase(doc(1, `${filesUrl}/files/missing.pdf`, true));
    expect(status).toBe(200);
    expect(hits).toHaveLength(1);
    expect(sandbox.documentFetches).toHaveLength(fetchesBefore);
    expect(sandbox.getCase(caseId!)!.documents[0].fetched).toBeUndefined();
  });

  test('npm start (the SandboxDefinition) takes ICASEWORK_SANDBOX_DOCUMENT_FETCH[_FAILURE]; other values are refused', async () => {
    expect(documentFetchFromEnv({})).toEqual({});
    expect(documentFetchFromEnv({ ICASEWORK_SANDBOX_DOCUMENT_FETCH: 'never', ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE: 'refuse' })).toEqual({ when: 'never', onFailure: 'refuse' });
    expect(() => documentFetchFromEnv({ ICASEWORK_SANDBOX_DOCUMENT_FETCH: 'sometimes' })).toThrow(/load-content, always or never/);
    expect(() => documentFetchFromEnv({ ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE: 'ignore' })).toThrow(/accept or refuse/);

    const saved = process.env.ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE;
    process.env.ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE = 'refuse';
    try {
      const handle = await definition.start({ host: '127.0.0.1', log: silentLogger(), settings: { key: KEY, secret: SECRET }, workDir: '/tmp' });
      try {
        const r = await fetch(`${handle.urls.api}/createcase?db=caseway`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ Key: KEY, Signature: sign(), Type: 'Complaint', ...doc(1, `${filesUrl}/files/missing.pdf`, true) }).toString(),
        });
        expect([r.status, r.headers.get('x-application-error-code')]).toEqual([400, SANDBOX_ERRORS.documentNotRetrieved.code]);
      } finally {
        await handle.stop();
      }
    } finally {
      if (saved === undefined) delete process.env.ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE;
      else process.env.ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE = saved;
    }
  });
});
