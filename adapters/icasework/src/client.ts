/**
 * The iCasework REST client: builds each operation's URL for the account's generation, signs the call
 * (Key + Signature, or an OAuth2 bearer token), sends parameters form-encoded (POST body, or the query string for
 * GET) and decodes the reply (XML, JSON or CSV) into flat records. Never logs parameters or bodies.
 */
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { AdapterContext } from 'caseway/core';
import { PeerError } from 'caseway/core';
import { createPeerHttp, markUncertain, sleep, statusOutcome } from 'caseway/core';
import { ReplyDecodeError, decodeBody, documentsOf, findResponseField, rowsOf, type CaseDocument, type Flat } from './codec';
import { IcaseworkApplicationError, IcaseworkEmptyReplyError, IcaseworkReplyError, errorForStatus } from './errors';
import { JWT_BEARER_GRANT, TokenCache, signJwtHs256, type BearerToken } from './oauth';
import { operationUrl, resolveSettings, type IcaseworkSettings, type ResolvedSettings } from './settings';
import { computeSignature, signatureDate, signedValueFor } from './signature';

export type Params = Record<string, string | undefined>;
type HttpMethod = 'GET' | 'POST';

export interface ClientOptions {
  /** Epoch-ms clock used for the signature date, RequestDate and token expiry (tests move it). */
  clock?: () => number;
  /** A token cache shared by every client of the same connection (see client-cache.ts). */
  tokenCache?: TokenCache;
}

export interface CallOptions {
  method: HttpMethod;
  format?: 'xml' | 'json' | 'csv';
  /** Send RequestDate = the instant whose UTC date is signed (done for REQUEST_DATE_NOW operations anyway). */
  requestDateNow?: boolean;
}

export interface Reply {
  status: number;
  contentType: string;
  docs: unknown[];
}

/** Which operations only read (and so may be retried inside one call). */
const READ_OPERATIONS = new Set(['getcasedetails', 'getreport', 'getcasedocuments', 'getcases', 'token']);
/** Operations the legacy page lists RequestDate for ("The current date and time"): it is always sent, as now. */
const REQUEST_DATE_NOW = new Set(['addcasenotes', 'updateexternalid', 'updatecustomer', 'getreport']);

/** XML date-time without zone (the docs' example shape, 1980-03-23T10:20:15), in UTC. */
export function xmlDateTime(at: Date): string {
  return at.toISOString().slice(0, 19);
}

export class IcaseworkClient<S = unknown> {
  readonly settings: ResolvedSettings;
  readonly tokens?: TokenCache;
  private readonly clock: () => number;
  private readonly http = new Map<string, AxiosInstance>();

  constructor(private readonly ctx: AdapterContext<S>, raw: IcaseworkSettings, opts: ClientOptions = {}) {
    this.settings = resolveSettings(raw);
    this.clock = opts.clock ?? Date.now;
    if (this.settings.authMode === 'oauth2') {
      this.tokens = opts.tokenCache ?? new TokenCache(this.settings.tokenRefreshSkewSeconds * 1000, this.clock);
    }
  }

  private httpFor(url: string): { http: AxiosInstance; path: string } {
    const u = new URL(url);
    let http = this.http.get(u.origin);
    if (!http) {
      http = createPeerHttp(this.ctx, { baseURL: u.origin, timeoutMs: this.settings.timeoutMs, peer: 'icasework', maxResponseBytes: this.settings.maxResponseBytes });
      this.http.set(u.origin, http);
    }
    return { http, path: `${u.pathname}${u.search}` };
  }

  private async send(method: HttpMethod, url: string, params: Record<string, string>, headers: Record<string, string>): Promise<AxiosResponse<string>> {
    const { http, path } = this.httpFor(url);
    const form = new URLSearchParams(params).toString();
    const common = {
      responseType: 'text' as const,
      transformResponse: [(data: unknown) => data],
    };
    if (method === 'GET') {
      const sep = path.includes('?') ? '&' : '?';
      return http.get<string>(form ? `${path}${sep}${form}` : path, { ...common, headers });
    }
    return http.post<string>(path, form, {
      ...common,
      headers: { ...headers, 'Content-Type': 'application/x-www-form-urlencoded; charset=UTF-8' },
    });
  }

  /**
   * Adds Format, RequestDate and the Key/Signature pair to one call's parameters. Whether iCasework signs the date part
   * of RequestDate or the day of the call is UNKNOWN, so the Signature carries RequestDate's date whenever one is sent;
   * RequestDate "now" is taken from the same instant, so both readings agree. A RequestDate in another shape than
   * YYYY-MM-DDTHH:MM:SS is refused before sending.
   */
  private prepare(op: string, params: Params, format: string | undefined, requestDateNow: boolean): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') out[k] = v;
    const now = new Date(this.clock());
    if (format && out.Format === undefined) out.Format = format;
    if ((requestDateNow || REQUEST_DATE_NOW.has(op)) && out.RequestDate === undefined) out.RequestDate = xmlDateTime(now);
    if (this.settings.authMode === 'signature') {
      const date = signatureDate(out.RequestDate, now);
      if (date === undefined) {
        throw new PeerError(`icasework: ${op} RequestDate is not YYYY-MM-DDTHH:MM:SS`, { retryable: false, code: 'ICASEWORK_BAD_REQUEST', context: { connection: this.ctx.connection.name, action: op, field: 'RequestDate' } });
      }
      const signed = signedValueFor(this.settings.signedParameters[op] ?? [], out);
      out.Key = this.settings.key;
      out.Signature = computeSignature(signed.value, date, this.settings.secret);
    }
    return out;
  }

  private decode(op: string, response: AxiosResponse<string>, expect: 'xml' | 'json' | 'csv'): Reply {
    const text = typeof response.data === 'string' ? response.data : '';
    const contentType = String(response.headers['content-type'] ?? '');
    if (text.trim() === '') throw new IcaseworkEmptyReplyError(this.ctx.connection.name, op);
    try {
      return { status: response.status, contentType, docs: decodeBody(text, expect, contentType) };
    } catch (err) {
      if (err instanceof ReplyDecodeError) throw new IcaseworkReplyError(this.ctx.connection.name, op, err.message, response.status);
      throw err;
    }
  }

  /**
   * One operation: sign, send, map errors, decode. Reads are retried on retryable faults (5xx, timeouts) up to
   * readRetries times; an OAuth2 401 drops the cached token and tries once more with a new one.
   */
  async call(op: string, params: Params, opts: CallOptions = { method: 'POST' }): Promise<Reply> {
    const format = opts.format ?? this.settings.format;
    const attempts = READ_OPERATIONS.has(op) ? this.settings.readRetries + 1 : 1;
    let lastError: unknown;
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        return await this.callOnce(op, params, opts.method, format, opts.requestDateNow === true);
      } catch (err) {
        lastError = err;
        const retryable = err instanceof PeerError && err.retryable;
        if (!retryable || attempt === attempts) throw err;
        this.ctx.log.warn({ op, attempt, status: err.status ?? null }, 'icasework read failed; retrying');
        await sleep(this.settings.retryBaseDelayMs * 2 ** (attempt - 1));
      }
    }
    throw lastError;
  }

  private async callOnce(op: string, params: Params, method: HttpMethod, format: 'xml' | 'json' | 'csv', requestDateNow: boolean): Promise<Reply> {
    const url = operationUrl(this.settings, op);
    for (let authTry = 1; ; authTry++) {
      const headers: Record<string, string> = {};
      let token: string | undefined;
      if (this.tokens) {
        token = await this.tokens.get(() => this.fetchToken());
        headers.Authorization = `Bearer ${token}`;
      }
      const sent = this.prepare(op, params, format, requestDateNow);
      const response = await this.send(method, url, sent, headers);
      if (response.status === 401 && this.tokens && authTry === 1) {
        this.tokens.invalidate(token);
        continue;
      }
      if (response.status < 200 || response.status >= 300) {
        const err = errorForStatus(this.ctx, op, response.status, response.headers as Record<string, unknown>, this.settings.retryableErrorCodes, Object.keys(sent));
        // A write answered 5xx may have been done before the peer failed.
        throw !READ_OPERATIONS.has(op) && statusOutcome(response.status) ? markUncertain(err) : err;
      }
      return this.decode(op, response, format);
    }
  }

  private async fetchToken(): Promise<BearerToken> {
    const nowMs = this.clock();
    const iat = Math.floor(nowMs / 1000);
    const assertion = signJwtHs256({ iss: this.settings.key, aud: this.settings.tokenUrl, iat, exp: iat + 300 }, this.settings.secret);
    const attempts = this.settings.readRetries + 1;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.send('POST', this.settings.tokenUrl, { grant_type: JWT_BEARER_GRANT, assertion }, {});
        if (response.status < 200 || response.status >= 300) {
          throw errorForStatus(this.ctx, 'token', response.status, response.headers as Record<string, unknown>, this.settings.retryableErrorCodes);
        }
        const reply = this.decode('token', response, 'json');
        const body = reply.docs[0] as { access_token?: unknown; expires_in?: unknown; token_type?: unknown } | undefined;
        if (!body || typeof body.access_token !== 'string' || body.access_token === '') {
          throw new IcaseworkReplyError(this.ctx.connection.name, 'token', 'no access_token in the reply', response.status);
        }
        const expiresIn = Number(body.expires_in ?? 3600);
        return { accessToken: body.access_token, expiresAt: nowMs + (Number.isFinite(expiresIn) ? expiresIn : 3600) * 1000 };
      } catch (err) {
        if (!(err instanceof PeerError && err.retryable) || attempt >= attempts) throw err;
        await sleep(this.settings.retryBaseDelayMs * 2 ** (attempt - 1));
      }
    }
  }

  // ---- operations ----

  /** createcase: returns the new case's caseid (<createcaseresponse><caseid>). `requestDateNow`: send RequestDate = now. */
  async createCase(params: Params, opts: { requestDateNow?: boolean } = {}): Promise<{ caseId: string; team?: string }> {
    if (!params.Type) throw new PeerError('icasework: createcase needs Type', { retryable: false, code: 'ICASEWORK_BAD_REQUEST', context: { connection: this.ctx.connection.name, field: 'Type' } });
    const reply = await this.call('createcase', params, { method: 'POST', requestDateNow: opts.requestDateNow });
    const caseId = findResponseField(reply.docs, 'createcaseresponse', 'caseid');
    if (!caseId) throw new IcaseworkReplyError(this.ctx.connection.name, 'createcase', 'no caseid in the reply', reply.status);
    return { caseId, team: findResponseField(reply.docs, 'createcaseresponse', 'team') };
  }

  async addCaseNotes(params: { Notes: string; Type?: string; SelfServiceAccess?: string; CaseId?: string; ExternalId?: string; RequestDate?: string }): Promise<Reply> {
    if (!params.CaseId && !params.ExternalId) {
      throw new PeerError('icasework: addcasenotes needs CaseId or ExternalId', { retryable: false, code: 'ICASEWORK_BAD_REQUEST', context: { connection: this.ctx.connection.name, field: 'CaseId' } });
    }
    return this.call('addcasenotes', params, { method: 'POST' });
  }

  async updateExternalId(params: { CaseId: string; ExternalId: string; RequestDate?: string }): Promise<Reply> {
    return this.call('updateexternalid', params, { method: 'POST' });
  }

  async updateCustomer(params: Params): Promise<Reply> {
    if (!params.Id) throw new PeerError('icasework: updatecustomer needs Id', { retryable: false, code: 'ICASEWORK_BAD_REQUEST', context: { connection: this.ctx.connection.name, field: 'Id' } });
    return this.call('updatecustomer', params, { method: 'POST' });
  }

  /**
   * getcasedetails by CaseId or ExternalId. Returns every matching case (several when an ExternalId is shared),
   * [] when there is none: an empty <Cases />, or the HTML 400 without an application error code that iCasework
   * answers for an unknown case.
   */
  async getCaseDetails(by: { CaseId: string } | { ExternalId: string }): Promise<Flat[]> {
    try {
      const reply = await this.call('getcasedetails', by, { method: 'GET' });
      return reply.docs.flatMap((d) => rowsOf(d));
    } catch (err) {
      if (err instanceof IcaseworkApplicationError && err.status === 400 && err.applicationErrorCode === undefined) return [];
      throw err;
    }
  }

  /** uploaddocuments (POST; CaseId + Document1..N.*). The reply's root is uploaddocumentsresponse; only a decodable 200 is needed. */
  async uploadDocuments(params: Params & { CaseId: string }): Promise<Reply> {
    if (!params.CaseId) throw new PeerError('icasework: uploaddocuments needs CaseId', { retryable: false, code: 'ICASEWORK_BAD_REQUEST', context: { connection: this.ctx.connection.name, field: 'CaseId' } });
    return this.call('uploaddocuments', params, { method: 'POST' });
  }

  /** updatecase (POST; CaseId or ExternalId, then Attribute+Value or attribute names as parameters). Returns the caseid answered. */
  async updateCase(params: Params): Promise<{ caseId?: string }> {
    if (!params.CaseId && !params.ExternalId) {
      throw new PeerError('icasework: updatecase needs CaseId or ExternalId', { retryable: false, code: 'ICASEWORK_BAD_REQUEST', context: { connection: this.ctx.connection.name, field: 'CaseId' } });
    }
    const reply = await this.call('updatecase', params, { method: 'POST' });
    return { caseId: findResponseField(reply.docs, 'updatecaseattributeresponse', 'caseid') };
  }

  /** getcasedocuments (GET; CaseId): the case's documents; [] for an unknown case (recorded: 200 <Documents />). */
  async getCaseDocuments(caseId: string): Promise<CaseDocument[]> {
    const reply = await this.call('getcasedocuments', { CaseId: caseId }, { method: 'GET' });
    return documentsOf(reply.docs);
  }

  /** getreport: the report's rows as flat records (XML, JSON or CSV). */
  async getReport(reportId: string, format?: 'xml' | 'json' | 'csv'): Promise<Flat[]> {
    const f = format ?? this.settings.format;
    const reply = await this.call('getreport', { ReportId: reportId, CSVHeader: f === 'csv' ? 'true' : undefined }, { method: 'GET', format: f });
    return reply.docs.flatMap((d) => rowsOf(d));
  }

  /**
   * Health: the configured report, else a signed getcasedetails for case 0, which proves the host answers and
   * accepts the credentials (an unknown case is a code-less HTML 400; a refused key/signature/IP/token throws).
   */
  async checkHealth(): Promise<void> {
    if (this.settings.healthReportId) {
      await this.getReport(this.settings.healthReportId);
      return;
    }
    await this.getCaseDetails({ CaseId: '0' });
  }
}
