/**
 * HTTP client for one 121 connection.
 * - Logs in with POST /api/users/login (201), keeps the token (valid 33 h) and sends it as the cookie
 *   `access_token_general` (121 reads its own JWTs only from cookies; a Bearer header is for Entra ID tokens).
 *   One login at a time (single flight); logs in again on a 401, once per request. Never sends `x-121-interface`.
 * - A client-side limiter per connection for requests and for logins; a 429 pauses every call of the connection for
 *   Retry-After (or an exponential back-off) and the call is tried again.
 * - 5xx and transport faults are retried for idempotent calls; a non-idempotent call (a note) is retried only when the
 *   peer surely did not act on it (429, connection refused).
 */
import type { AxiosInstance, AxiosResponse } from 'axios';
import type { AdapterContext } from 'caseway/core';
import { PeerError, isRetryableStatus } from 'caseway/core';
import { createPeerHttp } from 'caseway/core';
import { Platform121Error, UnfilteredStatusChangeError, httpError, isNoDataReply } from './errors';
import { sleep } from 'caseway/core';
import { SlidingWindowLimiter } from './limiter';
import type { ResolvedSettings } from './settings';
import type {
  Activity,
  BulkActionResult,
  LoginReply,
  Paginated,
  RegistrationEvent,
  RegistrationView,
  StatusChangeBody,
  Transaction,
} from './types';

export const TOKEN_COOKIE = 'access_token_general';
const TOKEN_VALIDITY_MS = 33 * 3600 * 1000;
/** Log in again this long before the token's expiry. */
const TOKEN_MARGIN_MS = 5 * 60 * 1000;
/** Longest wait a Retry-After may impose on one try. */
const MAX_RETRY_AFTER_MS = 120_000;
/** Keep query strings well under common URL limits when filtering by many ids. */
const MAX_FILTER_CHARS = 6000;

export type QueryValue = string | number | boolean | undefined | null | Array<string | number>;

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** Path below /api, e.g. /programs/2/registrations. */
  path: string;
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Label for errors and logs, e.g. "import registrations". */
  operation: string;
  /** Safe to send again after an ambiguous failure (timeout, 5xx). */
  idempotent: boolean;
  /** Statuses returned to the caller instead of thrown. */
  accept?: number[];
  /** Values we sent, to be redacted from the peer's error texts. */
  sentValues?: ReadonlyArray<unknown>;
  /** Overrides the connection's timeoutMs (imports of many rows take long). */
  timeoutMs?: number;
  /** 'arraybuffer' for binary replies (the voucher image). */
  responseType?: 'arraybuffer';
}

export interface ClientStats {
  logins: number;
  reloginsAfter401: number;
  throttled: number;
  retries: number;
  requests: number;
}

/** Builds a query string, keeping nestjs-paginate operators ($in:a,b) readable. */
export function buildQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return '';
  const enc = (v: string) => encodeURIComponent(v).replace(/%24/g, '$').replace(/%3A/gi, ':').replace(/%2C/gi, ',');
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const values = Array.isArray(value) ? value : [value];
    for (const v of values) parts.push(`${enc(key)}=${enc(String(v))}`);
  }
  return parts.length ? `?${parts.join('&')}` : '';
}

/** Groups ids into `$in:` lists that keep the URL short; ids containing a comma cannot be listed and go alone as `$eq:`. */
export function idFilterChunks(ids: ReadonlyArray<string | number>, maxCount = 500): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let length = 0;
  for (const raw of ids) {
    const id = String(raw);
    if (id.includes(',')) {
      out.push(`$eq:${id}`);
      continue;
    }
    if (current.length && (length + id.length + 1 > MAX_FILTER_CHARS || current.length >= maxCount)) {
      out.push(`$in:${current.join(',')}`);
      current = [];
      length = 0;
    }
    current.push(id);
    length += id.length + 1;
  }
  if (current.length) out.push(`$in:${current.join(',')}`);
  return out;
}

function retryAfterMs(headers: AxiosResponse['headers']): number | undefined {
  // Throttler v6 sends Retry-After (or Retry-After-<name> for named throttlers): seconds, or an HTTP date.
  let raw: unknown;
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (name.toLowerCase() === 'retry-after' || name.toLowerCase().startsWith('retry-after-')) {
      raw = value;
      if (name.toLowerCase() === 'retry-after') break;
    }
  }
  if (raw === undefined || raw === null) return undefined;
  const text = String(raw).trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const at = Date.parse(text);
  if (!Number.isNaN(at)) return Math.min(Math.max(at - Date.now(), 0), MAX_RETRY_AFTER_MS);
  return undefined;
}

function cookieFromSetCookie(headers: AxiosResponse['headers']): string | undefined {
  const raw = headers?.['set-cookie'] as string[] | string | undefined;
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  for (const line of list) {
    const m = new RegExp(`(?:^|;\\s*)${TOKEN_COOKIE}=([^;]+)`).exec(line);
    if (m) return m[1];
  }
  return undefined;
}

export class Platform121Client {
  private readonly http: AxiosInstance;
  private token: { value: string; expiresAt: number; refreshAt: number } | null = null;
  private loginInFlight: Promise<string> | null = null;
  readonly requestLimiter: SlidingWindowLimiter;
  readonly loginLimiter: SlidingWindowLimiter;
  readonly stats: ClientStats = { logins: 0, reloginsAfter401: 0, throttled: 0, retries: 0, requests: 0 };
  /** Program ids the logged-in user may access (keys of `permissions` in the login reply). */
  accessiblePrograms: string[] = [];

  constructor(
    private readonly ctx: AdapterContext<unknown>,
    readonly settings: ResolvedSettings,
  ) {
    this.http = createPeerHttp(ctx, {
      baseURL: `${settings.baseUrl}/api`,
      timeoutMs: settings.timeoutMs,
      headers: { Accept: 'application/json' },
      peer: 'platform121',
      maxResponseBytes: settings.maxResponseBytes,
    });
    this.requestLimiter = new SlidingWindowLimiter(settings.requestsPerMinute);
    this.loginLimiter = new SlidingWindowLimiter(settings.loginsPerMinute);
  }

  /** Stops waiting calls (they fail); used when the connection closes. */
  close(): void {
    this.requestLimiter.close();
    this.loginLimiter.close();
  }

  get programPath(): string {
    return `/programs/${this.settings.programId}`;
  }

  private backoffMs(attempt: number): number {
    const base = this.settings.retryBaseDelayMs * 2 ** attempt;
    return Math.min(base + Math.random() * this.settings.retryBaseDelayMs, 30_000);
  }

  private context(extra?: Record<string, unknown>): Record<string, unknown> {
    return { connection: this.ctx.connection.name, peer: 'platform121', ...extra };
  }

  /** The current token, logging in if there is none or it is about to expire. */
  async ensureToken(): Promise<string> {
    if (this.token && this.token.refreshAt > Date.now()) return this.token.value;
    if (!this.loginInFlight) {
      this.loginInFlight = this.login().finally(() => {
        this.loginInFlight = null;
      });
    }
    return this.loginInFlight;
  }

  /** Forgets the token if it is still the one that got the 401 (another call may have logged in already). */
  private invalidate(token: string): void {
    if (this.token?.value === token) this.token = null;
  }

  private async login(): Promise<string> {
    for (let attempt = 0; ; attempt++) {
      await this.loginLimiter.acquire();
      let res: AxiosResponse;
      try {
        res = await this.http.post('/users/login', { username: this.settings.username, password: this.settings.password });
      } catch (err) {
        if (err instanceof PeerError && err.retryable && attempt < this.settings.maxRetries) {
          this.stats.retries++;
          await sleep(this.backoffMs(attempt));
          continue;
        }
        throw err;
      }
      if (res.status === 201 || res.status === 200) {
        const body = (res.data ?? {}) as LoginReply;
        const value = body.access_token_general ?? cookieFromSetCookie(res.headers);
        if (!value) {
          throw new Platform121Error('platform121: login answered without a token', {
            status: res.status,
            retryable: false,
            shape: 'other',
            detail: 'no access_token_general',
            code: 'PEER_AUTH',
            context: this.context({ operation: 'login' }),
          });
        }
        const parsed = body.expires ? Date.parse(body.expires) : NaN;
        const expiresAt = Number.isNaN(parsed) ? Date.now() + TOKEN_VALIDITY_MS : parsed;
        // Renew ahead of expiry: 5 minutes, or a tenth of the lifetime for short-lived tokens.
        const margin = Math.min(TOKEN_MARGIN_MS, Math.max(0, expiresAt - Date.now()) / 10);
        this.token = { value, expiresAt, refreshAt: expiresAt - margin };
        this.accessiblePrograms = Object.keys(body.permissions ?? {});
        this.stats.logins++;
        this.ctx.log.info({ operation: 'login', programs: this.accessiblePrograms.length }, 'platform121: logged in');
        return value;
      }
      if (res.status === 429) {
        const wait = retryAfterMs(res.headers) ?? this.backoffMs(attempt);
        this.stats.throttled++;
        this.loginLimiter.pauseFor(wait);
        this.ctx.log.warn({ operation: 'login', waitMs: wait }, 'platform121: login throttled (429), backing off');
        if (attempt < this.settings.maxRetries) continue;
      } else if (isRetryableStatus(res.status) && attempt < this.settings.maxRetries) {
        this.stats.retries++;
        await sleep(this.backoffMs(attempt));
        continue;
      }
      if (res.status === 401) {
        throw new Platform121Error('platform121: login rejected (HTTP 401): check the username and password settings', {
          status: 401,
          retryable: false,
          shape: 'nest-message',
          detail: 'Unauthorized',
          code: 'PEER_AUTH',
          context: this.context({ operation: 'login' }),
        });
      }
      throw httpError('login', res.status, res.data, this.context({ operation: 'login' }), [this.settings.username]);
    }
  }

  /** One call with login, throttling, re-login on 401 and retries; returns the response for 2xx and `accept` statuses. */
  async request<T>(spec: RequestSpec): Promise<AxiosResponse<T>> {
    this.refuseUnfilteredBulkAction(spec);
    const url = spec.path + buildQuery(spec.query);
    let relogged = false;
    for (let attempt = 0; ; ) {
      const token = await this.ensureToken();
      await this.requestLimiter.acquire();
      this.stats.requests++;
      let res: AxiosResponse<T>;
      try {
        res = await this.http.request<T>({
          method: spec.method,
          url,
          data: spec.body,
          headers: { Cookie: `${TOKEN_COOKIE}=${token}` },
          ...(spec.timeoutMs ? { timeout: spec.timeoutMs } : {}),
          ...(spec.responseType ? { responseType: spec.responseType } : {}),
        });
      } catch (err) {
        const transport = err instanceof PeerError ? String(err.context.transport ?? '') : '';
        const surelyNotProcessed = transport === 'ECONNREFUSED';
        if (err instanceof PeerError && err.retryable && (spec.idempotent || surelyNotProcessed) && attempt < this.settings.maxRetries) {
          this.stats.retries++;
          await sleep(this.backoffMs(attempt++));
          continue;
        }
        if (err instanceof PeerError) Object.assign(err.context, { operation: spec.operation });
        throw err;
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (spec.accept?.includes(res.status)) return res;
      if (res.status === 401 && !relogged) {
        // The token was revoked or expired early: log in again, once for this request.
        relogged = true;
        this.stats.reloginsAfter401++;
        this.invalidate(token);
        this.ctx.log.warn({ operation: spec.operation }, 'platform121: 401, logging in again');
        continue;
      }
      if (res.status === 429 && attempt < this.settings.maxRetries) {
        const wait = retryAfterMs(res.headers) ?? this.backoffMs(attempt);
        this.stats.throttled++;
        this.requestLimiter.pauseFor(wait);
        this.ctx.log.warn({ operation: spec.operation, waitMs: wait }, 'platform121: throttled (429), backing off');
        attempt++;
        continue;
      }
      if (isRetryableStatus(res.status) && res.status !== 429 && spec.idempotent && attempt < this.settings.maxRetries) {
        this.stats.retries++;
        await sleep(this.backoffMs(attempt++));
        continue;
      }
      throw httpError(spec.operation, res.status, res.data, this.context({ operation: spec.operation }), spec.sentValues);
    }
  }

  /** Defence in depth: a bulk PATCH/DELETE on registrations must carry a filter, or 121 applies it to the whole program. */
  private refuseUnfilteredBulkAction(spec: RequestSpec): void {
    const bulk = /\/registrations(\/status|\/message)?$/.test(spec.path);
    if (!bulk || spec.method === 'GET' || (spec.method === 'POST' && !spec.path.endsWith('/message'))) return;
    const filters = Object.entries(spec.query ?? {}).filter(
      ([k, v]) => k.startsWith('filter.') && v !== undefined && v !== null && String(v).replace(/^\$(in|eq):/, '').trim() !== '',
    );
    if (filters.length === 0) throw new UnfilteredStatusChangeError(this.context({ operation: spec.operation }));
  }

  // ---- Typed calls ----------------------------------------------------------------------------------------------

  async getProgram(): Promise<Record<string, unknown>> {
    const res = await this.request<Record<string, unknown>>({
      method: 'GET',
      path: this.programPath,
      query: { formatProgramReturnDto: true },
      operation: 'get program',
      idempotent: true,
    });
    return res.data ?? {};
  }

  /** POST an array of flat registrations; 201 {aggregateImportResult:{countImported}}. Throws ImportRejectedError on a bare-array 400. */
  async importRegistrations(rows: Array<Record<string, unknown>>): Promise<number> {
    const res = await this.request<{ aggregateImportResult?: { countImported?: number } }>({
      method: 'POST',
      path: `${this.programPath}/registrations`,
      body: rows,
      operation: 'import registrations',
      timeoutMs: this.settings.importTimeoutMs,
      // Every row carries its referenceId: a repeated POST answers "referenceId already exists", which the upsert turns into a PATCH.
      idempotent: rows.every((r) => typeof r.referenceId === 'string'),
      sentValues: rows.flatMap((r) => Object.values(r)),
    });
    return res.data?.aggregateImportResult?.countImported ?? rows.length;
  }

  /** PATCH one registration; returns the updated view, or null when 121 answered an empty body (nothing changed). */
  async updateRegistration(referenceId: string, data: Record<string, unknown>, reason?: string): Promise<RegistrationView | null> {
    const res = await this.request<RegistrationView | ''>({
      method: 'PATCH',
      path: `${this.programPath}/registrations/${encodeURIComponent(referenceId)}`,
      body: reason === undefined ? { data } : { data, reason },
      operation: 'update registration',
      idempotent: true,
      sentValues: Object.values(data),
    });
    return res.data && typeof res.data === 'object' ? res.data : null;
  }

  async getRegistrations(params: {
    filters?: Record<string, string | string[]>;
    select?: string[];
    page?: number;
    limit?: number;
    sortBy?: string;
  }): Promise<Paginated<RegistrationView>> {
    const query: Record<string, QueryValue> = {
      page: params.page,
      limit: params.limit,
      sortBy: params.sortBy,
      select: params.select?.join(','),
    };
    for (const [col, value] of Object.entries(params.filters ?? {})) query[`filter.${col}`] = value;
    const res = await this.request<Paginated<RegistrationView>>({
      method: 'GET',
      path: `${this.programPath}/registrations`,
      query,
      operation: 'get registrations',
      idempotent: true,
    });
    return { data: res.data?.data ?? [], meta: res.data?.meta ?? { itemsPerPage: 0 }, links: res.data?.links };
  }

  /** Registrations by a list of ids in one filtered call per chunk (`filter.<column>=$in:...`). */
  async registrationsWhereIn(column: 'referenceId' | 'id', values: ReadonlyArray<string | number>, select?: string[]): Promise<RegistrationView[]> {
    const unique = [...new Set(values.map(String))];
    const out: RegistrationView[] = [];
    for (const filter of idFilterChunks(unique)) {
      const count = filter.startsWith('$eq:') ? 1 : filter.split(',').length;
      const page = await this.getRegistrations({ filters: { [column]: filter }, select, page: 1, limit: Math.max(count, 1) });
      out.push(...page.data);
    }
    return out;
  }

  /** PATCH /registrations/status?filter.referenceId=$in:... (202, applied asynchronously by 121). */
  async changeStatus(referenceIds: ReadonlyArray<string>, body: StatusChangeBody, dryRun = false): Promise<BulkActionResult> {
    if (referenceIds.length === 0 || referenceIds.some((r) => typeof r !== 'string' || r.trim() === '')) {
      throw new UnfilteredStatusChangeError(this.context({ operation: 'change status' }));
    }
    const totals: BulkActionResult = { totalFilterCount: 0, applicableCount: 0, nonApplicableCount: 0 };
    for (const filter of idFilterChunks(referenceIds)) {
      const res = await this.request<BulkActionResult>({
        method: 'PATCH',
        path: `${this.programPath}/registrations/status`,
        query: { dryRun: dryRun ? 'true' : 'false', 'filter.referenceId': filter },
        body: { status: body.status, reason: body.reason ?? null, message: body.message ?? null, messageTemplateKey: body.messageTemplateKey ?? null },
        operation: 'change status',
        idempotent: true,
        sentValues: [body.reason, body.message],
      });
      totals.totalFilterCount += Number(res.data?.totalFilterCount ?? 0);
      totals.applicableCount += Number(res.data?.applicableCount ?? 0);
      totals.nonApplicableCount += Number(res.data?.nonApplicableCount ?? 0);
    }
    return totals;
  }

  /** GET /registration-events; 404 "no data" is an empty list. Inclusive bounds, sorted by id. */
  async getRegistrationEvents(params: { fromDate?: string; toDate?: string; referenceId?: string }): Promise<RegistrationEvent[]> {
    const res = await this.request<Paginated<RegistrationEvent> | { errors: string }>({
      method: 'GET',
      path: `${this.programPath}/registration-events`,
      query: { fromDate: params.fromDate, toDate: params.toDate, referenceId: params.referenceId, format: 'json' },
      operation: 'get registration events',
      idempotent: true,
      accept: [404],
    });
    if (res.status === 404) {
      if (isNoDataReply(res.status, res.data)) return [];
      throw httpError('get registration events', 404, res.data, this.context());
    }
    const data = (res.data as Paginated<RegistrationEvent>)?.data ?? [];
    return [...data].sort((a, b) => a.id - b.id);
  }

  /** POST /registrations/{referenceId}/notes {text}: 201 with an empty body. Not idempotent. */
  async postNote(referenceId: string, text: string): Promise<void> {
    await this.request<unknown>({
      method: 'POST',
      path: `${this.programPath}/registrations/${encodeURIComponent(referenceId)}/notes`,
      body: { text },
      operation: 'post note',
      idempotent: false,
      sentValues: [text],
    });
  }

  /** GET /registrations/{registrationId}/activities (numeric id). */
  async getActivities(registrationId: number): Promise<Activity[]> {
    const res = await this.request<{ data?: Activity[] }>({
      method: 'GET',
      path: `${this.programPath}/registrations/${registrationId}/activities`,
      operation: 'get activities',
      idempotent: true,
    });
    return res.data?.data ?? [];
  }

  /** GET /metrics/export-list/registrations?format=json (unpaginated); 404 "no data" is an empty list. */
  async exportRegistrations(params: { select?: string[]; filters?: Record<string, string | string[]> }): Promise<RegistrationView[]> {
    const query: Record<string, QueryValue> = { format: 'json', select: params.select?.join(',') };
    for (const [col, value] of Object.entries(params.filters ?? {})) query[`filter.${col}`] = value;
    const res = await this.request<{ data?: RegistrationView[] }>({
      method: 'GET',
      path: `${this.programPath}/metrics/export-list/registrations`,
      query,
      operation: 'export registrations',
      idempotent: true,
      accept: [404],
    });
    if (res.status === 404) {
      if (isNoDataReply(res.status, res.data)) return [];
      throw httpError('export registrations', 404, res.data, this.context());
    }
    return res.data?.data ?? [];
  }

  /** GET /transactions?fromDate=&toDate=&format=json; 404 "no data" is an empty list. */
  async getTransactions(params: { fromDate?: string; toDate?: string; paymentId?: number }): Promise<Transaction[]> {
    const res = await this.request<{ data?: Transaction[] }>({
      method: 'GET',
      path: `${this.programPath}/transactions`,
      query: { fromDate: params.fromDate, toDate: params.toDate, paymentId: params.paymentId, format: 'json' },
      operation: 'get transactions',
      idempotent: true,
      accept: [404],
    });
    if (res.status === 404) {
      if (isNoDataReply(res.status, res.data)) return [];
      throw httpError('get transactions', 404, res.data, this.context());
    }
    return res.data?.data ?? [];
  }
}
