/**
 * A sandbox iCasework on loopback: two listeners (the API host and the separate reports host), answering the
 * legacy /services/{account}/{op}, the current /{op} and the UAT /{op}?db={account} URL shapes.
 *
 * Faithful to the recorded behaviour: Key + Signature checked against today's UTC date (a wrong or stale signature is
 * refused), per-key IP allowlists, OAuth2 JWT-bearer /token, lower-case <createcaseresponse><caseid>, flat dotted
 * <Cases><Case>, the empty <Cases />, back-to-back JSON objects, HTTP 400 + X-Application-Error-* + HTML error page,
 * HTML 400 without headers for an unknown Type / case, and a 200 with an empty body for a wrong db.
 * Parameters come from the query string, a form body or a flat JSON body (extra-peer-facts.md A0: "A fake should accept
 * query, form and JSON input"). Document content is pull-only (A1): with DocumentN.URLLoadContent=true the sandbox GETs
 * DocumentN.URL before answering and records what came back (status, bytes, content type; never the content).
 * What the real service answers for a bad key/signature/IP or an expired bearer token is UNKNOWN; the choices are
 * listed in SANDBOX_ERRORS and the README.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQueryString } from 'node:querystring';
import express, { type NextFunction, type Request, type Response } from 'express';
import { closeHttpServer, normaliseIp, TimerSet, type Logger } from 'caseway/core';
import { JWT_BEARER_GRANT_TYPE, REFERENCE_SIGNED_PARAMETERS, expectedSignature, verifyAssertion } from './auth';
import { casesCsv, casesJsonBackToBack, casesXml, documentsJson, documentsXml, sendEmpty, sendErrorPage, sendJson, sendXml, simpleXml } from './replies';
import { abbreviation, flattenCase, localDateTime, type SandboxCase, type SandboxCustomer, type SandboxDocument, type SandboxNote } from './store';

/** The sandbox's (invented, documented) answers where the real service's are UNKNOWN. */
export const SANDBOX_ERRORS = {
  missingAuth: { status: 400, code: '10000', info: 'Missing Key or Signature' },
  invalidKey: { status: 400, code: '10001', info: 'Invalid key' },
  invalidSignature: { status: 400, code: '10002', info: 'Invalid signature' },
  ipDenied: { status: 400, code: '10003', info: 'Access denied from this network address' },
  missingParameter: { status: 400, code: '10010', info: 'Missing required parameter' },
  invalidMethod: { status: 400, code: '11000', info: 'Invalid HTTP method' }, // recorded (atlassian updatecase)
  unsupportedGrant: { status: 400, code: '19001', info: 'unsupported_grant_type' },
  invalidGrant: { status: 400, code: '19002', info: 'invalid_grant' }, // recorded (token fixture)
  invalidToken: { status: 401, code: '19003', info: 'invalid_token' },
  tooLong: { status: 400, code: '10011', info: 'Parameter too long' },
  invalidLanguage: { status: 400, code: '10012', info: 'Invalid ContactLanguage' },
  malformedBody: { status: 400, code: '10013', info: 'Malformed request body' },
  documentNotRetrieved: { status: 400, code: '10014', info: 'Document could not be retrieved' },
} as const;

/** ISO 639-1 codes withdrawn from the standard (ICU still names them). */
const WITHDRAWN_639_1 = new Set(['in', 'iw', 'ji', 'jw', 'mo', 'sh']);
const languageNames = new Intl.DisplayNames(['en'], { type: 'language', fallback: 'code' });

/** "The ISO 639 two letter code for the customer's preferred contact language" (seed): checked with ICU's names. */
export function isIso6391(code: string): boolean {
  return /^[a-z]{2}$/.test(code) && !WITHDRAWN_639_1.has(code) && languageNames.of(code) !== code;
}

export const DEFAULT_SANDBOX_CASE_TYPES = ['Complaint', 'Compliment', 'Enquiry', 'Information request', 'EmergencyTravelDocument', 'CrossBorderRecovery', 'CrossBorderMaintenance', 'CashAssistanceFollowUp'];
export const DEFAULT_REPORT_ID = 'CASEWAY-ALL';

export interface SandboxKey {
  key: string;
  secret: string;
  /** Requests with this key are accepted only from these addresses (exact match); absent/empty = any address. */
  allowedIps?: string[];
}

export interface SandboxReport {
  /** Case types the report covers; absent = every case. */
  caseTypes?: string[];
  /** Columns to export (flat names); absent = every field of the case with its notes. */
  columns?: string[];
}

export interface Fault {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  contentType?: string;
  /** Wait this long first; without status/body the request is then handled normally. */
  delayMs?: number;
  /** How many requests the fault applies to (default 1). */
  times?: number;
  /** Handle the request normally (the case is created, the note added), then drop the connection unanswered: a lost reply. */
  dropReply?: boolean;
}

export interface RecordedRequest {
  op: string;
  method: string;
  host: 'api' | 'reports';
  style: 'legacy' | 'subdomain' | 'db';
  path: string;
  params: Record<string, string>;
  ip: string;
  auth: 'signature' | 'bearer' | 'none';
  status?: number;
  at: string;
}

/**
 * How the sandbox pulls DocumentN.URL (extra-peer-facts.md A1: "Pull only: iCasework GETs the URL you pass";
 * URLLoadContent appears only in client code and is read there, as Inferred, as "fetch the content now").
 */
export interface DocumentFetchOptions {
  /**
   * Which documents are fetched: 'load-content' (default) those sent with DocumentN.URLLoadContent=true, before the
   * reply; 'always' every document with a URL; 'never' none (the URL is only kept).
   */
  when?: 'load-content' | 'always' | 'never';
  /**
   * The answer when a fetch fails (HTTP status not 2xx, unreachable, timeout, too large): UNKNOWN in the reference.
   * 'accept' (default): the call succeeds and the document is kept with the failed fetch recorded (the legacy doc has
   * "a callback will try to retrieve the document", i.e. retrieval apart from the reply). 'refuse': HTTP 400
   * X-Application-Error-Code 10014 "Document could not be retrieved: DocumentN.URL", and nothing is created or attached.
   */
  onFailure?: 'accept' | 'refuse';
  /** Bound on one fetch, connection to last byte (default 5000 ms). */
  timeoutMs?: number;
  /** Largest body read (default 10 MiB); a larger one stops there and counts as a failed fetch. */
  maxBytes?: number;
}

/** One GET of a DocumentN.URL by the sandbox: what came back, never the content. */
export interface DocumentFetch {
  op: string;
  /** N of DocumentN. */
  document: number;
  /** The URL without its query string or fragment (clients put tokens there, e.g. firearms' &token=). */
  url: string;
  outcome: 'loaded' | 'failed';
  status?: number;
  /** Bytes of the body read (up to maxBytes + one chunk when it was too large). */
  bytes?: number;
  contentType?: string;
  /** Why it failed: `HTTP 404`, a network code (ECONNREFUSED, ENOTFOUND), `timeout after N ms`, `larger than N bytes`. */
  error?: string;
  /** Where the document went; absent when the call was refused. */
  caseId?: string;
  documentId?: string;
}

export const DEFAULT_DOCUMENT_FETCH: Required<DocumentFetchOptions> = { when: 'load-content', onFailure: 'accept', timeoutMs: 5000, maxBytes: 10 * 1024 * 1024 };

export interface IcaseworkSandboxOptions {
  host?: string;
  port?: number;
  /** Port of the reports host (default any free port). */
  reportsPort?: number;
  account?: string;
  keys?: SandboxKey[];
  /** Accepted createcase Type values; '*' accepts any. */
  caseTypes?: string[] | '*';
  /** Per operation, overrides of the reference's signed parameters (sandbox/auth.ts). */
  signedParameters?: Record<string, string[]>;
  tokenLifetimeSeconds?: number;
  reports?: Record<string, SandboxReport>;
  firstCaseId?: number;
  /** Pulling DocumentN.URL (see DocumentFetchOptions; defaults DEFAULT_DOCUMENT_FETCH). */
  documentFetch?: DocumentFetchOptions;
  log?: Logger;
}

const WRITE_OPS = new Set(['createcase', 'addcasenotes', 'updateexternalid', 'updatecustomer', 'uploaddocuments', 'updatecase']);
const READ_OPS = new Set(['getcasedetails', 'getreport', 'getcasedocuments']);
/** Documented lengths of the DocumentN.* parameters (legacy REST page): Name and MimeType Character(100), URL Character(500). */
export const DOCUMENT_LIMITS = { Name: 100, MimeType: 100, URL: 500 } as const;
const CUSTOMER_FIELD_NAMES = new Set([
  'Id', 'Title', 'FirstName', 'Surname', 'Organisation', 'Address', 'Town', 'County', 'Country', 'Postcode', 'Email', 'Phone',
  'Mobile', 'ContactMethod', 'ContactTime', 'ContactLanguage', 'ContactConsent', 'Category', 'Gender', 'EthnicOrigin',
  'Sexuality', 'Faith', 'DateOfBirth', 'AgeGroup', 'Disability1', 'Disability2', 'Disability3', 'Disability4', 'Disability5',
  'Disability6', 'Disability7', 'Disability8', 'Disability9', 'City', 'State', 'ZIPCode', 'AlternativeId1', 'AlternativeId2',
]);
// ExternalId is a documented createcase parameter ("An external identifier for the created case"; not unique).
const CONTROL_PARAMS = new Set(['Key', 'Signature', 'Format', 'db', 'access_token', 'CSVHeader', 'Type', 'RequestMethod', 'RequestDate', 'ExternalId']);

/**
 * The call's parameters: the query string, then the body over it (form-encoded, or a JSON object whose values are
 * strings, numbers or booleans, e.g. HMCTS's flat dotted keys). `problem` says why a JSON body cannot be read as
 * parameters (not an object, a nested value).
 */
function paramsOf(req: Request): { params: Record<string, string>; problem?: string } {
  const out: Record<string, string> = {};
  const add = (src: unknown) => {
    if (!src || typeof src !== 'object') return;
    for (const [k, v] of Object.entries(src as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = v;
      else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
    }
  };
  add(req.query);
  const body: unknown = req.body;
  if (body !== undefined && req.is('application/json')) {
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return { params: out, problem: 'the JSON body is not an object' };
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      if (typeof v === 'string') out[k] = v;
      else if (typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
      else return { params: out, problem: `${k} is not a string, number or boolean` };
    }
  } else add(body);
  return { params: out };
}

/**
 * A form-encoded body as flat parameters, a repeated name as an array of its values (how paramsOf reads them):
 * iCasework's parameter names are flat (`Customer.Surname`, `Document1.URL`), so Node's querystring reads them as a
 * servlet would, with no bracket syntax, as body-parser's urlencoded parser (qs, with depth 0) did; qs was the largest
 * share of this peer's CPU under the benchmark's load.
 */
function formBody(limit: string): (req: Request, res: Response, next: NextFunction) => void {
  const text = express.text({ type: 'application/x-www-form-urlencoded', limit });
  return (req, res, next) => {
    text(req, res, (err?: unknown) => {
      if (err) return next(err);
      if (typeof req.body === 'string') req.body = parseQueryString(req.body, undefined, undefined, { maxKeys: 0 });
      next();
    });
  };
}

/** A DocumentN.* group as given, before it is stored. */
interface GivenDocument {
  n: number;
  doc: Omit<SandboxDocument, 'id'>;
  fetch?: DocumentFetch;
}

/** The URL as recorded and logged: origin and path only. */
function withoutQuery(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/** Why a fetch threw: the network code when there is one (undici puts it on the cause), else the error's name. */
function fetchErrorOf(err: unknown): string {
  // Duck-typed: the error may come from another realm (e.g. under a test runner's VM), where instanceof fails.
  const e = (typeof err === 'object' && err !== null ? err : {}) as { name?: unknown; cause?: unknown };
  const cause = (typeof e.cause === 'object' && e.cause !== null ? e.cause : {}) as { code?: unknown };
  if (typeof cause.code === 'string') return cause.code;
  return typeof e.name === 'string' ? e.name : 'fetch failed';
}

interface Token {
  key: string;
  expiresAt: number;
}

export class IcaseworkSandbox {
  readonly account: string;
  private readonly keys = new Map<string, SandboxKey>();
  private readonly caseTypes: string[] | '*';
  private readonly signedParameters: Record<string, string[]>;
  tokenLifetimeSeconds: number;
  private readonly reports = new Map<string, SandboxReport>();
  private readonly store = new Map<string, SandboxCase>();
  private readonly customerStore = new Map<string, SandboxCustomer>();
  private readonly tokens = new Map<string, Token>();
  private readonly faults = new Map<string, Fault[]>();
  /** Pending fault delays: stop() clears them, so a stopped sandbox leaves nothing that keeps the process alive. */
  private readonly timers = new TimerSet();
  private nextCaseId: number;
  private nextCustomerRef = 214641;
  private nextNoteId = 1;
  private nextDocumentId = 225851;
  private documentFetch: Required<DocumentFetchOptions>;
  /** Aborts the document fetches in flight when the sandbox stops. */
  private fetchesAbort = new AbortController();
  private clockOffsetMs = 0;
  private apiServer?: Server;
  private reportsServer?: Server;
  /** Every request received, in order (tests assert on parameters). */
  readonly requests: RecordedRequest[] = [];
  /** Every GET of a DocumentN.URL, in order (status, bytes, content type; never the content). */
  readonly documentFetches: DocumentFetch[] = [];
  tokensIssued = 0;
  apiUrl = '';
  reportsUrl = '';

  constructor(private readonly options: IcaseworkSandboxOptions = {}) {
    this.account = options.account ?? 'caseway';
    for (const k of options.keys ?? [{ key: 'caseway-sandbox-key', secret: 'caseway-sandbox-secret', allowedIps: ['127.0.0.1', '::1'] }]) {
      this.keys.set(k.key, k);
    }
    this.caseTypes = options.caseTypes ?? DEFAULT_SANDBOX_CASE_TYPES;
    const table: Record<string, string[]> = {};
    for (const [op, rule] of Object.entries(REFERENCE_SIGNED_PARAMETERS)) table[op] = [...rule.params];
    this.signedParameters = { ...table, ...(options.signedParameters ?? {}) };
    this.tokenLifetimeSeconds = options.tokenLifetimeSeconds ?? 3600;
    for (const [id, r] of Object.entries(options.reports ?? { [DEFAULT_REPORT_ID]: {} })) this.reports.set(id, r);
    this.nextCaseId = options.firstCaseId ?? 500001;
    this.documentFetch = { ...DEFAULT_DOCUMENT_FETCH, ...(options.documentFetch ?? {}) };
  }

  // ------------------------------------------------------------ lifecycle

  async start(): Promise<this> {
    this.fetchesAbort = new AbortController();
    const host = this.options.host ?? '127.0.0.1';
    this.apiServer = await this.listen(this.app('api'), host, this.options.port ?? 0);
    this.reportsServer = await this.listen(this.app('reports'), host, this.options.reportsPort ?? 0);
    const urlHost = host.includes(':') ? `[${host}]` : host;
    this.apiUrl = `http://${urlHost}:${(this.apiServer.address() as AddressInfo).port}`;
    this.reportsUrl = `http://${urlHost}:${(this.reportsServer.address() as AddressInfo).port}`;
    return this;
  }

  private listen(app: express.Express, host: string, port: number): Promise<Server> {
    return new Promise((resolve, reject) => {
      const server = app.listen(port, host, (err?: Error) => (err ? reject(err) : resolve(server)));
      server.on('error', reject);
    });
  }

  async stop(): Promise<void> {
    // A request still held by a fault delay is never answered (its connection is closed below).
    this.timers.clear();
    this.fetchesAbort.abort();
    const close = async (s?: Server) => (s ? closeHttpServer(s) : undefined);
    await Promise.all([close(this.apiServer), close(this.reportsServer)]);
  }

  /** Connection settings that reach this sandbox (first key unless another is named). */
  connectionSettings(opts: { key?: string; urlStyle?: 'legacy' | 'subdomain' | 'db'; authMode?: 'signature' | 'oauth2' } = {}): Record<string, unknown> {
    const key = this.keys.get(opts.key ?? [...this.keys.keys()][0])!;
    const urlStyle = opts.urlStyle ?? 'db';
    return {
      urlStyle,
      baseUrl: this.apiUrl,
      // The legacy services path serves getreport on the same host; the current shapes use the reports host.
      ...(urlStyle === 'legacy' ? {} : { reportsBaseUrl: this.reportsUrl }),
      account: this.account,
      key: key.key,
      secret: key.secret,
      authMode: opts.authMode ?? 'signature',
    };
  }

  // ------------------------------------------------------------ inspection and control (tests, demo)

  now(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /** Moves the sandbox's clock (e.g. +1 day to make today's signatures stale). */
  setClockOffsetMs(ms: number): void {
    this.clockOffsetMs = ms;
  }

  addKey(key: SandboxKey): void {
    this.keys.set(key.key, key);
  }

  setReport(id: string, report: SandboxReport): void {
    this.reports.set(id, report);
  }

  /** Changes how DocumentN.URL is pulled from now on (unset fields keep their current values). */
  setDocumentFetch(options: DocumentFetchOptions): void {
    this.documentFetch = { ...this.documentFetch, ...options };
  }

  /** The document-fetch settings in force. */
  documentFetchSettings(): Required<DocumentFetchOptions> {
    return { ...this.documentFetch };
  }

  /** The next `times` requests for `op` ('token' included) get this fault. */
  failNext(op: string, fault: Fault): void {
    const list = this.faults.get(op) ?? [];
    for (let i = 0; i < (fault.times ?? 1); i++) list.push(fault);
    this.faults.set(op, list);
  }

  /** Makes every issued bearer token invalid (as if it expired at the peer). */
  expireTokens(): void {
    this.tokens.clear();
  }

  cases(): SandboxCase[] {
    return [...this.store.values()].map((c) => structuredClone(c));
  }

  getCase(caseId: string): SandboxCase | undefined {
    const c = this.store.get(caseId);
    return c ? structuredClone(c) : undefined;
  }

  notes(caseId: string): SandboxNote[] {
    return structuredClone(this.store.get(caseId)?.notes ?? []);
  }

  customers(): SandboxCustomer[] {
    return [...this.customerStore.values()].map((c) => structuredClone(c));
  }

  /** A caseworker adds a note inside iCasework (not through the API). */
  addCaseworkerNote(caseId: string, text: string, opts: { author?: string; type?: string; selfServiceAccess?: boolean } = {}): SandboxNote {
    const c = this.store.get(caseId);
    if (!c) throw new Error(`sandbox: no case ${caseId}`);
    const note: SandboxNote = {
      id: `N${this.nextNoteId++}`,
      text,
      type: opts.type ?? 'Case note',
      createdBy: opts.author ?? 'Case Worker',
      dateCreated: localDateTime(this.now()),
      selfServiceAccess: opts.selfServiceAccess ?? false,
    };
    c.notes.push(note);
    c.lastUpdated = localDateTime(this.now());
    return structuredClone(note);
  }

  /** A caseworker changes a case's status (or closes it). */
  updateCase(caseId: string, change: { status?: string; stage?: string; closed?: boolean }): void {
    const c = this.store.get(caseId);
    if (!c) throw new Error(`sandbox: no case ${caseId}`);
    if (change.status) c.status = change.status;
    if (change.stage) c.stage = change.stage;
    if (change.closed) c.dateClosed = localDateTime(this.now()).slice(0, 10);
    c.lastUpdated = localDateTime(this.now());
  }

  /** The flat record getcasedetails exports for a case. */
  flatCase(caseId: string): Record<string, string> {
    const c = this.store.get(caseId);
    if (!c) throw new Error(`sandbox: no case ${caseId}`);
    return Object.fromEntries(flattenCase(c, c.customerRef ? this.customerStore.get(c.customerRef) : undefined));
  }

  // ------------------------------------------------------------ HTTP

  private app(hostKind: 'api' | 'reports'): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('trust proxy', false);
    app.use(formBody('2mb'));
    // A JSON body (Content-Type: application/json), as HMCTS's Optics client sends createcase (extra-peer-facts.md A0).
    app.use(express.json({ limit: '2mb' }));
    const handler = (style: RecordedRequest['style'] | 'path') => async (req: Request, res: Response, next: NextFunction) => {
      try {
        await this.handle(hostKind, style, req, res);
      } catch (err) {
        next(err);
      }
    };
    if (hostKind === 'api') this.mountControl(app);
    // The download URL getcasedocuments gives (recorded shape servlets.getImg?ref=D…): redirects to the document's source URL.
    if (hostKind === 'api') app.get('/servlet/servlets.getImg', (req: Request, res: Response) => this.getImg(req, res));
    app.all('/services/:account/:op', handler('legacy'));
    app.all('/:op', handler('path'));
    app.use((req: Request, res: Response) => sendErrorPage(res, 404));
    app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
      // A body that is not JSON although it says so: the usual application-error answer (or JSON on the control API).
      if ((err as { type?: unknown } | null)?.type === 'entity.parse.failed' && !res.headersSent) {
        if (req.path.startsWith('/_sandbox/')) res.status(400).json({ error: 'malformed JSON' });
        else this.appError(res, { ...SANDBOX_ERRORS.malformedBody, info: `${SANDBOX_ERRORS.malformedBody.info}: not valid JSON` });
        return;
      }
      this.options.log?.error({ err: (err as Error)?.name }, 'icasework sandbox fault');
      if (!res.headersSent) sendErrorPage(res, 500);
    });
    return app;
  }

  /**
   * Sandbox-only control endpoints (not part of iCasework) for demo scripts: list cases, add a caseworker note,
   * change a status. Loopback only, like the sandbox itself.
   */
  private mountControl(app: express.Express): void {
    const control = express.Router();
    control.use(express.json({ limit: '100kb' }));
    control.get('/cases', (_req: Request, res: Response) => {
      res.json(this.cases());
    });
    control.get('/cases/:caseId', (req: Request, res: Response) => {
      const c = this.getCase(String(req.params.caseId));
      if (!c) res.status(404).json({ error: 'no such case' });
      else res.json({ ...c, flat: this.flatCase(c.caseId) });
    });
    // A caseworker opening a case in the iCasework UI: the same parameters as createcase (Type, Customer.*, fields).
    control.post('/cases', (req: Request, res: Response) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const params = Object.fromEntries(Object.entries(body).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      const c = this.insertCase({ RequestMethod: 'Caseworker', ...params });
      if (!c) res.status(400).json({ error: 'Type is missing or not a configured case type' });
      else res.status(201).json(c);
    });
    control.post('/cases/:caseId/notes', (req: Request, res: Response) => {
      const body = (req.body ?? {}) as { text?: unknown; author?: unknown; type?: unknown; selfServiceAccess?: unknown };
      if (typeof body.text !== 'string' || body.text === '') {
        res.status(400).json({ error: 'text is required' });
        return;
      }
      try {
        const note = this.addCaseworkerNote(String(req.params.caseId), body.text, {
          author: typeof body.author === 'string' ? body.author : undefined,
          type: typeof body.type === 'string' ? body.type : undefined,
          selfServiceAccess: body.selfServiceAccess === true,
        });
        res.status(201).json(note);
      } catch {
        res.status(404).json({ error: 'no such case' });
      }
    });
    control.post('/cases/:caseId/status', (req: Request, res: Response) => {
      const body = (req.body ?? {}) as { status?: unknown; closed?: unknown };
      try {
        this.updateCase(String(req.params.caseId), { status: typeof body.status === 'string' ? body.status : undefined, closed: body.closed === true });
        res.status(204).end();
      } catch {
        res.status(404).json({ error: 'no such case' });
      }
    });
    control.get('/customers', (_req: Request, res: Response) => {
      res.json(this.customers());
    });
    app.use('/_sandbox', control);
  }

  private async handle(hostKind: 'api' | 'reports', routeStyle: RecordedRequest['style'] | 'path', req: Request, res: Response): Promise<void> {
    const op = String(req.params.op).toLowerCase();
    const { params, problem } = paramsOf(req);
    const style: RecordedRequest['style'] = routeStyle === 'legacy' ? 'legacy' : params.db !== undefined ? 'db' : 'subdomain';
    const record: RecordedRequest = {
      op,
      method: req.method,
      host: hostKind,
      style,
      path: req.path,
      params,
      ip: normaliseIp(req.socket.remoteAddress),
      auth: 'none',
      at: new Date(this.now()).toISOString(),
    };
    this.requests.push(record);
    res.on('finish', () => {
      record.status = res.statusCode;
    });
    if (problem) return this.appError(res, { ...SANDBOX_ERRORS.malformedBody, info: `${SANDBOX_ERRORS.malformedBody.info}: ${problem}` });

    const faults = this.faults.get(op);
    const fault = faults?.shift();
    if (fault?.dropReply) {
      // Do the work, but when the reply is about to go out, drop the connection instead.
      const socket = req.socket;
      res.end = function dropped(): Response {
        socket.destroy();
        return res;
      };
      await this.dispatch(hostKind, routeStyle, style, op, params, req, res, record);
      return;
    }
    if (fault) {
      if (fault.delayMs) await this.timers.sleep(fault.delayMs);
      if (fault.status !== undefined || fault.body !== undefined) {
        res.status(fault.status ?? 200);
        for (const [k, v] of Object.entries(fault.headers ?? {})) res.set(k, v);
        if (fault.contentType) res.set('Content-Type', fault.contentType);
        res.send(fault.body ?? '');
        return;
      }
      if (res.destroyed || req.socket.destroyed) return;
    }
    await this.dispatch(hostKind, routeStyle, style, op, params, req, res, record);
  }

  private async dispatch(
    hostKind: 'api' | 'reports',
    routeStyle: RecordedRequest['style'] | 'path',
    style: RecordedRequest['style'],
    op: string,
    params: Record<string, string>,
    req: Request,
    res: Response,
    record: RecordedRequest,
  ): Promise<void> {
    // Which account: the URL's (legacy), the db parameter (UAT), else the host's own (subdomain).
    if (routeStyle === 'legacy' && req.params.account !== this.account) return sendErrorPage(res, 400);
    if (style === 'db' && params.db !== this.account) return sendEmpty(res);

    if (op === 'token') return this.token(req, res, params, record);
    const known = WRITE_OPS.has(op) || READ_OPS.has(op);
    // getreport lives on the reports host in the current generations; the legacy services path serves everything.
    const onRightHost = routeStyle === 'legacy' || (op === 'getreport' ? hostKind === 'reports' : hostKind === 'api');
    if (!known || !onRightHost) return sendErrorPage(res, 400);

    const methodOk = WRITE_OPS.has(op) ? req.method === 'POST' || (routeStyle === 'legacy' && req.method === 'GET') : req.method === 'GET' || req.method === 'POST';
    if (!methodOk) return this.appError(res, SANDBOX_ERRORS.invalidMethod);

    if (!this.authenticate(op, req, res, params, record)) return;

    switch (op) {
      case 'createcase':
        return this.createCase(res, params, op);
      case 'addcasenotes':
        return this.addCaseNotes(res, params);
      case 'updateexternalid':
        return this.updateExternalId(res, params);
      case 'updatecustomer':
        return this.updateCustomer(res, params);
      case 'getcasedetails':
        return this.getCaseDetails(res, params);
      case 'getreport':
        return this.getReport(res, params);
      case 'uploaddocuments':
        return this.uploadDocuments(res, params, op);
      case 'getcasedocuments':
        return this.getCaseDocuments(res, params);
      case 'updatecase':
        return this.updateCaseOp(res, params);
    }
  }

  private appError(res: Response, e: { status: number; code: string; info: string }, extra: Record<string, string> = {}): void {
    sendErrorPage(res, e.status, e.code, e.info, extra);
  }

  private ipAllowed(key: SandboxKey, ip: string): boolean {
    if (!key.allowedIps || key.allowedIps.length === 0) return true;
    return key.allowedIps.map(normaliseIp).includes(ip);
  }

  /** Key + Signature or a bearer token; answers the refusal itself and returns false when not authenticated. */
  private authenticate(op: string, req: Request, res: Response, params: Record<string, string>, record: RecordedRequest): boolean {
    const authHeader = req.get('authorization');
    const bearer = authHeader?.match(/^Bearer\s+(.+)$/i)?.[1] ?? params.access_token;
    if (bearer) {
      record.auth = 'bearer';
      const t = this.tokens.get(bearer);
      if (!t || t.expiresAt <= this.now()) {
        this.appError(res, SANDBOX_ERRORS.invalidToken, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
        return false;
      }
      const key = this.keys.get(t.key);
      if (!key || !this.ipAllowed(key, record.ip)) {
        this.appError(res, SANDBOX_ERRORS.ipDenied);
        return false;
      }
      return true;
    }
    record.auth = 'signature';
    if (!params.Key || !params.Signature) {
      this.appError(res, SANDBOX_ERRORS.missingAuth);
      return false;
    }
    const key = this.keys.get(params.Key);
    if (!key) {
      this.appError(res, SANDBOX_ERRORS.invalidKey);
      return false;
    }
    if (!this.ipAllowed(key, record.ip)) {
      this.appError(res, SANDBOX_ERRORS.ipDenied);
      return false;
    }
    const expected = expectedSignature(this.signedParameters[op] ?? [], params, new Date(this.now()), key.secret);
    if (params.Signature.toLowerCase() !== expected) {
      this.appError(res, SANDBOX_ERRORS.invalidSignature);
      return false;
    }
    return true;
  }

  private token(req: Request, res: Response, params: Record<string, string>, record: RecordedRequest): void {
    record.auth = 'bearer';
    if (req.method !== 'POST') return this.appError(res, SANDBOX_ERRORS.invalidMethod);
    if (params.grant_type !== JWT_BEARER_GRANT_TYPE) return this.appError(res, SANDBOX_ERRORS.unsupportedGrant);
    const claims = params.assertion ? verifyAssertion(params.assertion, (iss) => this.keys.get(iss)?.secret) : null;
    const nowS = Math.floor(this.now() / 1000);
    const aud = `${req.protocol}://${req.get('host')}${req.originalUrl}`;
    const claimsOk =
      claims !== null &&
      claims.aud === aud &&
      typeof claims.iat === 'number' &&
      Math.abs(claims.iat - nowS) <= 300 &&
      (claims.exp === undefined || (typeof claims.exp === 'number' && claims.exp > nowS));
    if (!claimsOk) return this.appError(res, SANDBOX_ERRORS.invalidGrant);
    const key = this.keys.get(claims.iss)!;
    if (!this.ipAllowed(key, record.ip)) return this.appError(res, SANDBOX_ERRORS.ipDenied);
    const accessToken = randomBytes(24).toString('hex');
    this.tokens.set(accessToken, { key: key.key, expiresAt: this.now() + this.tokenLifetimeSeconds * 1000 });
    this.tokensIssued++;
    sendJson(res, `{\n "access_token" : "${accessToken}",\n "token_type" : "Bearer",\n "expires_in" : ${this.tokenLifetimeSeconds}\n}\n`);
  }

  private reply(res: Response, params: Record<string, string>, root: string, fields: Record<string, string>): void {
    if ((params.Format ?? 'xml').toLowerCase() === 'json') sendJson(res, JSON.stringify({ [root]: fields }));
    else sendXml(res, simpleXml(root, fields));
  }

  private missing(res: Response, name: string): void {
    this.appError(res, { ...SANDBOX_ERRORS.missingParameter, info: `${SANDBOX_ERRORS.missingParameter.info}: ${name}` });
  }

  private findCase(params: Record<string, string>): SandboxCase | undefined {
    if (params.CaseId) return this.store.get(params.CaseId);
    if (params.ExternalId) return [...this.store.values()].filter((c) => c.externalId === params.ExternalId).pop();
    return undefined;
  }

  private upsertCustomer(ref: string | undefined, fields: Record<string, string>): SandboxCustomer {
    const id = ref ?? String(this.nextCustomerRef++);
    const existing = this.customerStore.get(id);
    const customer: SandboxCustomer = existing ?? { ref: id, fields: {} };
    for (const [k, v] of Object.entries(fields)) if (k !== 'Id') customer.fields[k] = v;
    this.customerStore.set(id, customer);
    return customer;
  }

  /** The sandbox's checks of documented parameter formats; answers the refusal and returns false when one fails. */
  private paramsValid(res: Response, p: Record<string, string>): boolean {
    for (const [k, v] of Object.entries(p)) {
      const doc = /^Document\d+\.(Name|MimeType|URL)$/.exec(k);
      const limit = doc ? (doc[1] === 'URL' ? DOCUMENT_LIMITS.URL : doc[1] === 'Name' ? DOCUMENT_LIMITS.Name : DOCUMENT_LIMITS.MimeType) : Infinity;
      if (v.length > limit) {
        this.appError(res, { ...SANDBOX_ERRORS.tooLong, info: `${SANDBOX_ERRORS.tooLong.info}: ${k}` });
        return false;
      }
      if ((k === 'Customer.ContactLanguage' || k === 'ContactLanguage') && !isIso6391(v)) {
        this.appError(res, SANDBOX_ERRORS.invalidLanguage);
        return false;
      }
    }
    return true;
  }

  /** DocumentN.Name/.MimeType/.URL/.URLPublic/.URLLoadContent, in N order. */
  private documentsGiven(p: Record<string, string>): GivenDocument[] {
    const documents = new Map<number, Omit<SandboxDocument, 'id'>>();
    for (const [k, v] of Object.entries(p)) {
      const doc = /^Document(\d+)\.(Name|MimeType|URL|URLPublic|URLLoadContent)$/.exec(k);
      if (!doc) continue;
      const n = Number(doc[1]);
      const d = documents.get(n) ?? { name: '' };
      if (doc[2] === 'Name') d.name = v;
      if (doc[2] === 'MimeType') d.mimeType = v;
      if (doc[2] === 'URL') d.url = v;
      if (doc[2] === 'URLPublic') d.urlPublic = v;
      if (doc[2] === 'URLLoadContent') d.urlLoadContent = v;
      documents.set(n, d);
    }
    return [...documents.entries()].sort((a, b) => a[0] - b[0]).map(([n, doc]) => ({ n, doc }));
  }

  /** Gives the documents their D ids and date; links their fetch records to where they went. */
  private storeDocuments(given: GivenDocument[], caseId: string): SandboxDocument[] {
    const date = localDateTime(this.now());
    return given.map(({ doc, fetch }) => {
      const d: SandboxDocument = { ...doc, id: `D${this.nextDocumentId++}`, category: 'General upload', source: 'Document', documentDate: date };
      if (fetch) {
        fetch.caseId = caseId;
        fetch.documentId = d.id;
        d.fetched = { outcome: fetch.outcome, status: fetch.status, bytes: fetch.bytes, contentType: fetch.contentType, error: fetch.error };
      }
      return d;
    });
  }

  /**
   * Pulls the documents that are to be fetched now (DocumentFetchOptions.when), one after another, each bounded by
   * timeoutMs and maxBytes. Returns the first that failed, if any.
   */
  private async pullDocuments(op: string, given: GivenDocument[]): Promise<GivenDocument | undefined> {
    const { when } = this.documentFetch;
    let firstFailed: GivenDocument | undefined;
    for (const g of given) {
      if (!g.doc.url || when === 'never' || (when === 'load-content' && !/^true$/i.test(g.doc.urlLoadContent ?? ''))) continue;
      g.fetch = await this.pull(op, g.n, g.doc.url);
      if (g.fetch.outcome === 'failed') firstFailed ??= g;
    }
    return firstFailed;
  }

  /** One GET of a document URL: status, length and content type recorded and logged; the content is read and dropped. */
  private async pull(op: string, n: number, href: string): Promise<DocumentFetch> {
    const { timeoutMs, maxBytes } = this.documentFetch;
    let url: URL | undefined;
    try {
      url = new URL(href);
    } catch {
      url = undefined;
    }
    const record: DocumentFetch = { op, document: n, url: url ? withoutQuery(url) : '(not a URL)', outcome: 'failed' };
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) record.error = 'not an http(s) URL';
    else {
      const timeout = AbortSignal.timeout(timeoutMs);
      try {
        const reply = await fetch(url, { redirect: 'follow', signal: AbortSignal.any([timeout, this.fetchesAbort.signal]) });
        record.status = reply.status;
        const contentType = reply.headers.get('content-type');
        if (contentType !== null) record.contentType = contentType;
        let bytes = 0;
        let tooLarge = false;
        if (reply.body) {
          const reader = reply.body.getReader();
          for (;;) {
            const chunk = await reader.read();
            if (chunk.done) break;
            bytes += chunk.value.byteLength;
            if (bytes > maxBytes) {
              tooLarge = true;
              await reader.cancel();
              break;
            }
          }
        }
        record.bytes = bytes;
        if (tooLarge) record.error = `larger than ${maxBytes} bytes`;
        else if (!reply.ok) record.error = `HTTP ${reply.status}`;
        else record.outcome = 'loaded';
      } catch (err) {
        record.error = timeout.aborted ? `timeout after ${timeoutMs} ms` : this.fetchesAbort.signal.aborted ? 'sandbox stopped' : fetchErrorOf(err);
      }
    }
    this.documentFetches.push(record);
    const { url: shown, outcome, status, bytes, contentType, error } = record;
    this.options.log?.info({ op, document: n, url: shown, outcome, status, bytes, contentType, error }, 'icasework sandbox: document fetched');
    return record;
  }

  /** The refusal for a failed fetch when onFailure is 'refuse'; false when the call may go on. */
  private refusedForFetch(res: Response, failed: GivenDocument | undefined): boolean {
    if (!failed || this.documentFetch.onFailure !== 'refuse') return false;
    const e = SANDBOX_ERRORS.documentNotRetrieved;
    this.appError(res, { ...e, info: `${e.info}: Document${failed.n}.URL` });
    return true;
  }

  private typeAccepted(type: string | undefined): type is string {
    return !!type && (this.caseTypes === '*' || this.caseTypes.includes(type));
  }

  private async createCase(res: Response, p: Record<string, string>, op: string): Promise<void> {
    if (!this.paramsValid(res, p)) return;
    if (!this.typeAccepted(p.Type)) return sendErrorPage(res, 400);
    const given = this.documentsGiven(p);
    if (this.refusedForFetch(res, await this.pullDocuments(op, given))) return;
    const c = this.insertCaseWith(p, given);
    if (!c) return sendErrorPage(res, 400);
    this.reply(res, p, 'createcaseresponse', { caseid: c.caseId, team: c.team });
  }

  /** A case as createcase (or a caseworker in the iCasework UI) makes it; null when the Type is not configured. */
  insertCase(p: Record<string, string>): SandboxCase | null {
    return this.insertCaseWith(p, this.documentsGiven(p));
  }

  private insertCaseWith(p: Record<string, string>, documents: GivenDocument[]): SandboxCase | null {
    const type = p.Type;
    if (!this.typeAccepted(type)) return null;
    const customerFields: Record<string, string> = {};
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(p)) {
      if (k.startsWith('Customer.')) {
        const name = k.slice('Customer.'.length);
        if (CUSTOMER_FIELD_NAMES.has(name)) customerFields[name] = v;
        continue;
      }
      if (/^Document\d+\./.test(k)) continue;
      if (!CONTROL_PARAMS.has(k)) fields[k] = v;
    }
    let customerRef: string | undefined;
    if (Object.keys(customerFields).length) customerRef = this.upsertCustomer(customerFields.Id, customerFields).ref;
    const caseId = String(this.nextCaseId++);
    const now = this.now();
    const abbr = abbreviation(type);
    const received = p.RequestDate && /^\d{4}-\d{2}-\d{2}/.test(p.RequestDate) ? p.RequestDate.slice(0, 10) : localDateTime(now).slice(0, 10);
    const c: SandboxCase = {
      caseId,
      externalId: p.ExternalId ?? '',
      type,
      label: `${abbr} - ${caseId}`,
      status: 'Open',
      stage: 'Stage 1',
      team: `INBOX${abbr}`,
      requestMethod: p.RequestMethod ?? 'Web Service',
      dateReceived: received,
      timeCreated: localDateTime(now),
      lastUpdated: localDateTime(now),
      dateClosed: '',
      customerRef,
      fields,
      documents: this.storeDocuments(documents, caseId),
      notes: [],
    };
    this.store.set(caseId, c);
    return c;
  }

  private addCaseNotes(res: Response, p: Record<string, string>): void {
    if (!p.Notes) return this.missing(res, 'Notes');
    if (!p.CaseId && !p.ExternalId) return this.missing(res, 'CaseId');
    const c = this.findCase(p);
    if (!c) return sendErrorPage(res, 400);
    const now = this.now();
    c.notes.push({
      id: `N${this.nextNoteId++}`,
      text: p.Notes,
      type: p.Type ?? 'Note',
      createdBy: 'Web Service',
      dateCreated: localDateTime(now),
      selfServiceAccess: /^true$/i.test(p.SelfServiceAccess ?? ''),
    });
    c.lastUpdated = localDateTime(now);
    this.reply(res, p, 'addcasenotesresponse', { caseid: c.caseId });
  }

  private updateExternalId(res: Response, p: Record<string, string>): void {
    if (!p.CaseId) return this.missing(res, 'CaseId');
    if (!p.ExternalId) return this.missing(res, 'ExternalId');
    const c = this.store.get(p.CaseId);
    if (!c) return sendErrorPage(res, 400);
    c.externalId = p.ExternalId;
    c.lastUpdated = localDateTime(this.now());
    this.reply(res, p, 'updateexternalidresponse', { caseid: c.caseId, externalid: c.externalId });
  }

  /** uploaddocuments (firearms): CaseId and Document1..N.*; the reply root is uploaddocumentsresponse (caseid inferred). */
  private async uploadDocuments(res: Response, p: Record<string, string>, op: string): Promise<void> {
    if (!p.CaseId) return this.missing(res, 'CaseId');
    const c = this.store.get(p.CaseId);
    if (!c) return sendErrorPage(res, 400);
    if (!this.paramsValid(res, p)) return;
    const given = this.documentsGiven(p);
    if (given.length === 0 || given.some((g) => !g.doc.url)) return this.missing(res, 'Document1.URL');
    if (this.refusedForFetch(res, await this.pullDocuments(op, given))) return;
    c.documents.push(...this.storeDocuments(given, c.caseId));
    c.lastUpdated = localDateTime(this.now());
    this.reply(res, p, 'uploaddocumentsresponse', { caseid: c.caseId });
  }

  /** getcasedocuments (recorded): <Documents><Document Id Name Category Type Source DocumentDate>url</Document>; unknown case → 200 <Documents />. */
  private getCaseDocuments(res: Response, p: Record<string, string>): void {
    if (!p.CaseId) return this.missing(res, 'CaseId');
    const c = this.store.get(p.CaseId);
    // Recorded: the URL embeds an access_token (and an opaque db value).
    const token = randomBytes(12).toString('hex');
    const docs = (c?.documents ?? []).map((d) => ({ ...d, downloadUrl: `${this.apiUrl}/servlet/servlets.getImg?ref=${d.id}&bin=Y&auth=0&db=${encodeURIComponent(Buffer.from(this.account).toString('base64'))}&access_token=${token}` }));
    if ((p.Format ?? 'xml').toLowerCase() === 'json') return sendJson(res, documentsJson(docs));
    sendXml(res, documentsXml(docs));
  }

  /** The document's download: a redirect to the URL it was uploaded from (the sandbox keeps no content). */
  private getImg(req: Request, res: Response): void {
    const ref = typeof req.query.ref === 'string' ? req.query.ref : '';
    const doc = [...this.store.values()].flatMap((c) => c.documents).find((d) => d.id === ref);
    if (!doc?.url) return sendErrorPage(res, 404);
    res.redirect(302, doc.url);
  }

  /**
   * updatecase (atlassian page): CaseId or ExternalId; Attribute + Value, or attribute names sent directly as
   * parameters ("The API can be extended to update additional case attributes"). Reply <updatecaseattributeresponse><caseid>.
   */
  private updateCaseOp(res: Response, p: Record<string, string>): void {
    if (!p.CaseId && !p.ExternalId) return this.missing(res, 'CaseId');
    const c = this.findCase(p);
    if (!c) return sendErrorPage(res, 400);
    const changes: Record<string, string> = {};
    if (p.Attribute !== undefined) {
      if (p.Value === undefined) return this.missing(res, 'Value');
      changes[p.Attribute] = p.Value;
    }
    for (const [k, v] of Object.entries(p)) {
      if (k === 'CaseId' || k === 'Attribute' || k === 'Value' || CONTROL_PARAMS.has(k)) continue;
      changes[k] = v;
    }
    Object.assign(c.fields, changes);
    c.lastUpdated = localDateTime(this.now());
    this.reply(res, p, 'updatecaseattributeresponse', { caseid: c.caseId });
  }

  private updateCustomer(res: Response, p: Record<string, string>): void {
    if (!p.Id) return this.missing(res, 'Id');
    if (!this.paramsValid(res, p)) return;
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(p)) if (CUSTOMER_FIELD_NAMES.has(k)) fields[k] = v;
    let customer = this.upsertCustomer(p.Id, fields);
    if (p.NewId && p.NewId !== p.Id) {
      this.customerStore.delete(p.Id);
      customer = { ref: p.NewId, fields: customer.fields };
      this.customerStore.set(p.NewId, customer);
      for (const c of this.store.values()) if (c.customerRef === p.Id) c.customerRef = p.NewId;
    }
    const now = localDateTime(this.now());
    for (const c of this.store.values()) if (c.customerRef === customer.ref) c.lastUpdated = now;
    this.reply(res, p, 'updatecustomerresponse', { id: customer.ref });
  }

  private getCaseDetails(res: Response, p: Record<string, string>): void {
    if (!p.CaseId && !p.ExternalId) return this.missing(res, 'CaseId');
    const matches = p.CaseId
      ? [this.store.get(p.CaseId)].filter((c): c is SandboxCase => c !== undefined)
      : [...this.store.values()].filter((c) => c.externalId === p.ExternalId);
    // Recorded: an unknown case is an HTML 400 (no application error headers), named output.xml.
    if (matches.length === 0) return sendErrorPage(res, 400, undefined, undefined, { 'Content-Disposition': 'filename="output.xml"' });
    const rows = matches.map((c) => flattenCase(c, c.customerRef ? this.customerStore.get(c.customerRef) : undefined));
    if ((p.Format ?? 'xml').toLowerCase() === 'json') return sendJson(res, casesJsonBackToBack(rows));
    sendXml(res, casesXml(rows, matches[0].caseId));
  }

  private getReport(res: Response, p: Record<string, string>): void {
    if (!p.ReportId) return this.missing(res, 'ReportId');
    const report = this.reports.get(p.ReportId);
    if (!report) return sendErrorPage(res, 400);
    const cases = [...this.store.values()]
      .filter((c) => !report.caseTypes || report.caseTypes.includes(c.type))
      .sort((a, b) => Number(a.caseId) - Number(b.caseId));
    const rows = cases.map((c) => {
      const flat = flattenCase(c, c.customerRef ? this.customerStore.get(c.customerRef) : undefined);
      return report.columns ? flat.filter(([k]) => report.columns!.includes(k)) : flat;
    });
    const format = (p.Format ?? 'xml').toLowerCase();
    if (format === 'json') return sendJson(res, JSON.stringify(rows.map((r) => Object.fromEntries(r))));
    if (format === 'csv') {
      res.status(200).set('Content-Type', 'text/csv;charset=UTF-8').send(casesCsv(rows, /^true$/i.test(p.CSVHeader ?? 'true'), report.columns));
      return;
    }
    sendXml(res, casesXml(rows, p.ReportId));
  }
}

export async function startIcaseworkSandbox(options: IcaseworkSandboxOptions = {}): Promise<IcaseworkSandbox> {
  return new IcaseworkSandbox(options).start();
}
