/**
 * A sandbox 121-service on loopback, faithful to reference/121-platform-api.md where it matters to a client:
 * - POST /api/users/login answers 201 with the token in the body and the `access_token_general` cookie; every
 *   other /api call authenticates **only** from that cookie (a Bearer header gets 401, like the real cookie-jwt
 *   strategy); `x-121-interface: portal` switches the cookie name to `access_token_portal`.
 * - Per-program permissions (403 {"statusCode":403,"message":"Forbidden"}; status permissions as {"errors"}).
 * - The import is all-or-nothing with the bare-array 400 of row errors; ParseArrayPipe and class-validator bodies for
 *   DTO errors; "Duplicate referenceIds in import set"; referenceIds unique across programs.
 * - Status changes: transition table, 202 then an asynchronous apply after `statusApplyDelayMs`; with no filter they
 *   apply to the whole program (as the real service does; counted in `unfilteredBulkActions`).
 * - Registration events with inclusive fromDate/toDate, sorted by id, 404 {"errors":"There is currently no data to
 *   export"} when empty; nestjs-paginate {data, meta, links} for registrations.
 * - A per-IP ThrottlerGuard: 429 {"statusCode":429,"message":"ThrottlerException: Too Many Requests"} with Retry-After.
 * Plus, outside the real API: /sandbox/* control endpoints (portal-side status changes, transactions) and an
 * in-process inspection API for tests.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from '../../../src/core/logger';
import { signJwt, verifyJwt } from './jwt';
import { applyFilters, paginate, readPaginateQuery, selectFields, type Row } from './paginate';
import { WESTEROS_SEED_ROWS, ocwProgram, westerosProgram, type SandboxAttribute, type SandboxProgram } from './programs';
import { REGISTRATION_STATUSES, SETTABLE_STATUSES, STATUS_TRANSITIONS } from '../src/types';

export const ALL_PERMISSIONS = [
  'program:all.read',
  'registration.read',
  'registration.create',
  'registration.delete',
  'registration:personal.read',
  'registration:personal.export',
  'registration:personal.update',
  'registration:attribute.update',
  'registration:attribute:financial.update',
  'registration:fsp-config.update',
  'registration:notification.create',
  'registration:status:included.update',
  'registration:status:paused.update',
  'registration:status:markAsValidated.update',
  'registration:status:markAsDeclined.update',
  'payment:transaction.read',
];

const STATUS_PERMISSION: Record<string, string> = {
  included: 'registration:status:included.update',
  paused: 'registration:status:paused.update',
  validated: 'registration:status:markAsValidated.update',
  declined: 'registration:status:markAsDeclined.update',
};

// 121's own status facts (reference §2), kept once in src/types.ts for the client and this sandbox alike.
const STATUS_ENUM: readonly string[] = REGISTRATION_STATUSES;
const API_SETTABLE: readonly string[] = SETTABLE_STATUSES;
const TRANSITIONS = STATUS_TRANSITIONS;

const GENERIC_FILTERABLE = new Set([
  'referenceId',
  'status',
  'id',
  'created',
  'preferredLanguage',
  'inclusionScore',
  'paymentAmountMultiplier',
  'fspName',
  'programFspConfigurationName',
  'programFspConfigurationLabel',
  'registrationProgramId',
  'maxPayments',
  'paymentCount',
  'paymentCountRemaining',
  'personAffectedSequence',
  'lastMessageStatus',
  'duplicateStatus',
]);

const NO_DATA = { errors: 'There is currently no data to export' };
const UNAUTHORIZED = { statusCode: 401, message: 'Unauthorized' };
const FORBIDDEN = { statusCode: 403, message: 'Forbidden' };
const THROTTLED = { statusCode: 429, message: 'ThrottlerException: Too Many Requests' };
const BEGINNING = '2000-02-01T00:00:00.000Z';

export interface ThrottleOptions {
  /** Generic limit per IP and window (GENERIC_THROTTLING_LIMIT, default 3000). */
  limit?: number;
  ttlMs?: number;
  /** Login limit per IP and window (HIGH_THROTTLING_LIMIT, default 30). */
  loginLimit?: number;
  loginTtlMs?: number;
  /** Send Retry-After with a 429 (default true). */
  retryAfterHeader?: boolean;
}

export interface Sandbox121Options {
  host?: string;
  port?: number;
  adminUsername?: string;
  adminPassword?: string;
  throttle?: ThrottleOptions;
  /** Delay before an accepted status change is applied (default 300 ms). */
  statusApplyDelayMs?: number;
  /** Token validity (default 33 h). */
  tokenTtlSeconds?: number;
  /** Seed example registrations in program 2 (default true). */
  seed?: boolean;
  /** More Westeros-like programs to create (e.g. the connection's programId). */
  extraProgramIds?: number[];
  log?: Logger;
}

export interface SandboxUser {
  id: number;
  username: string;
  password: string;
  admin: boolean;
  assignments: Map<number, Set<string>>;
}

type AttributeStored = string | number | boolean | null;

export interface SandboxRegistration {
  id: number;
  programId: number;
  registrationProgramId: number;
  referenceId: string;
  status: string;
  preferredLanguage: string;
  paymentAmountMultiplier: number;
  maxPayments: number | null;
  paymentCount: number;
  programFspConfigurationName: string;
  scope: string;
  inclusionScore: number;
  created: string;
  updated: string;
  attributes: Record<string, AttributeStored>;
  deleted: boolean;
}

export interface SandboxEvent {
  id: number;
  programId: number;
  registrationId: number;
  registrationProgramId: number;
  type: 'registrationDataChange' | 'fspChange' | 'registrationStatusChange' | 'ignoredDuplicate';
  fieldChanged: string | null;
  oldValue: string | null;
  newValue: string | null;
  reason: string | null;
  username: string;
  created: string;
}

export interface SandboxNote {
  id: number;
  programId: number;
  registrationId: number;
  referenceId: string;
  text: string;
  userId: number;
  username: string;
  created: string;
}

export interface SandboxMessage {
  programId: number;
  referenceId: string;
  message: string | null;
  messageTemplateKey: string | null;
  created: string;
}

export interface SandboxTransaction {
  id: number;
  programId: number;
  registrationId: number;
  paymentId: number;
  amount: number;
  status: string;
  created: string;
  updated: string;
  paymentDate: string;
  errorMessage: string | null;
}

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, unknown>;
  status: number;
  /** Names of the cookies the request carried. */
  cookies: string[];
  /** Value of the access_token_general cookie, if any (tests compare tokens across calls). */
  tokenCookie?: string;
  authorization: boolean;
  interfaceHeader?: string;
  /** Number of rows when the body was an array. */
  rows?: number;
  at: number;
}

export interface FaultSpec {
  method?: string;
  /** Substring or pattern the request path must match. */
  path?: string | RegExp;
  /** How many matching requests get the fault (default 1). */
  times?: number;
  /** Let this many matching requests through before the fault starts (default 0). */
  after?: number;
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait this long before answering (or before handling, when no status is given). */
  delayMs?: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    out[part.slice(0, i).trim()] = decodeURIComponent(part.slice(i + 1).trim());
  }
  return out;
}

function isIso8601(v: unknown): boolean {
  return typeof v === 'string' && /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(v) && !Number.isNaN(Date.parse(v));
}

/** A class-validator error object the way Nest's ValidationPipe serialises it (value and target included!). */
function cvError(property: string, value: unknown, constraints: Record<string, string>, target: unknown): Record<string, unknown> {
  return { target, value, property, children: [], constraints };
}

function validationBody(errors: Array<Record<string, unknown>>): Record<string, unknown> {
  return { statusCode: 400, error: 'Bad Request', message: errors };
}

function stringToBoolean(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (typeof v === 'number') return v === 1 ? true : v === 0 ? false : undefined;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (['true', 'yes', '1'].includes(s)) return true;
  if (['false', 'no', '0', ''].includes(s)) return false;
  return undefined;
}

const DATE_DD_MM_YYYY = /^(0[1-9]|[12]\d|3[01])-(0[1-9]|1[0-2])-(19[2-9]\d|200\d|201\d)$/;

class HttpReply extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(`HTTP ${status}`);
  }
}

export class Sandbox121 {
  private server: Server | null = null;
  private readonly secret = randomUUID();
  private tokenGeneration = 1;
  private readonly programs = new Map<number, SandboxProgram>();
  private readonly programSeq = new Map<number, number>();
  private readonly users: SandboxUser[] = [];
  private readonly regs: SandboxRegistration[] = [];
  private readonly eventLog: SandboxEvent[] = [];
  private readonly noteLog: SandboxNote[] = [];
  private readonly messageLog: SandboxMessage[] = [];
  private readonly txs: SandboxTransaction[] = [];
  private seq = { reg: 0, event: 0, note: 0, tx: 0 };
  private readonly buckets = new Map<string, { count: number; resetAt: number }>();
  private faults: Array<FaultSpec & { left: number; skip: number }> = [];
  private readonly pendingApplies = new Set<Promise<void>>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly requests: RecordedRequest[] = [];
  /** Successful logins. */
  logins = 0;
  /** Status changes/deletes that came without any filter (applied to the whole program, as 121 does). */
  unfilteredBulkActions = 0;
  url = '';
  options: Required<Omit<Sandbox121Options, 'log' | 'host' | 'port' | 'extraProgramIds'>> & { throttle: Required<ThrottleOptions> };

  constructor(private readonly opts: Sandbox121Options = {}) {
    this.options = {
      adminUsername: (opts.adminUsername ?? 'admin@example.org').toLowerCase(),
      adminPassword: opts.adminPassword ?? 'password',
      statusApplyDelayMs: opts.statusApplyDelayMs ?? 300,
      tokenTtlSeconds: opts.tokenTtlSeconds ?? 33 * 3600,
      seed: opts.seed ?? true,
      throttle: {
        limit: opts.throttle?.limit ?? 3000,
        ttlMs: opts.throttle?.ttlMs ?? 60_000,
        loginLimit: opts.throttle?.loginLimit ?? 30,
        loginTtlMs: opts.throttle?.loginTtlMs ?? 60_000,
        retryAfterHeader: opts.throttle?.retryAfterHeader ?? true,
      },
    };
    this.reset();
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  static async start(opts: Sandbox121Options = {}): Promise<Sandbox121> {
    const sb = new Sandbox121(opts);
    await sb.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
    return sb;
  }

  async listen(host: string, port: number): Promise<void> {
    const app = this.buildApp();
    this.server = createServer(app);
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, host, () => resolve());
    });
    const addr = this.server.address() as AddressInfo;
    this.url = `http://${host}:${addr.port}`;
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    this.server = null;
    if (!server) return;
    server.closeAllConnections?.();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Back to the seeded state (programs, users, registrations); keeps the listening socket. */
  reset(): void {
    this.programs.clear();
    this.programSeq.clear();
    this.users.length = 0;
    this.regs.length = 0;
    this.eventLog.length = 0;
    this.noteLog.length = 0;
    this.messageLog.length = 0;
    this.txs.length = 0;
    this.requests.length = 0;
    this.buckets.clear();
    this.faults = [];
    this.seq = { reg: 0, event: 0, note: 0, tx: 0 };
    this.logins = 0;
    this.unfilteredBulkActions = 0;
    for (const p of [westerosProgram(2), ocwProgram(3), ...(this.opts.extraProgramIds ?? []).filter((id) => id !== 2 && id !== 3).map((id) => westerosProgram(id))]) {
      this.programs.set(p.id, p);
      this.programSeq.set(p.id, 0);
    }
    const programIds = [...this.programs.keys()];
    this.users.push({
      id: 1,
      username: this.options.adminUsername,
      password: this.options.adminPassword,
      admin: true,
      assignments: new Map(programIds.map((id) => [id, new Set(ALL_PERMISSIONS)])),
    });
    // A read-only aid worker, for permission tests.
    this.users.push({
      id: 2,
      username: 'viewer@example.org',
      password: 'password',
      admin: false,
      assignments: new Map([[2, new Set(['registration.read', 'registration:personal.read'])]]),
    });
    this.users.push({
      id: 3,
      username: 'portal-user@example.org',
      password: 'password',
      admin: false,
      assignments: new Map(programIds.map((id) => [id, new Set(ALL_PERMISSIONS)])),
    });
    if (this.options.seed) {
      const admin = this.users[0];
      const result = this.validateRows(this.programs.get(2) as SandboxProgram, WESTEROS_SEED_ROWS);
      if (result.errors.length) throw new Error('sandbox seed rows are invalid');
      this.insertRows(this.programs.get(2) as SandboxProgram, result.cleaned, admin.username);
    }
  }

  // ---- inspection API (tests) -----------------------------------------------------------------------------------

  get baseUrl(): string {
    return this.url;
  }

  program(id: number): SandboxProgram | undefined {
    return this.programs.get(id);
  }

  /** Registration views (as GET /registrations shows them), deleted ones excluded unless asked. */
  registrations(programId?: number, includeDeleted = false): Row[] {
    return this.regs.filter((r) => (programId === undefined || r.programId === programId) && (includeDeleted || !r.deleted)).map((r) => this.view(r));
  }

  registration(referenceId: string): Row | undefined {
    const r = this.regs.find((x) => x.referenceId === referenceId);
    return r ? this.view(r) : undefined;
  }

  notes(referenceId: string): Array<{ text: string; username: string; created: string }> {
    return this.noteLog.filter((n) => n.referenceId === referenceId).map((n) => ({ text: n.text, username: n.username, created: n.created }));
  }

  events(filter: { programId?: number; referenceId?: string; type?: string } = {}): SandboxEvent[] {
    const regId = filter.referenceId ? this.regs.find((r) => r.referenceId === filter.referenceId)?.id : undefined;
    return this.eventLog.filter(
      (e) =>
        (filter.programId === undefined || e.programId === filter.programId) &&
        (filter.referenceId === undefined || e.registrationId === regId) &&
        (filter.type === undefined || e.type === filter.type),
    );
  }

  messages(): SandboxMessage[] {
    return [...this.messageLog];
  }

  transactions(): SandboxTransaction[] {
    return [...this.txs];
  }

  /** Requests to /api made so far (no bodies). */
  apiRequests(filter: { method?: string; path?: string | RegExp } = {}): RecordedRequest[] {
    return this.requests.filter(
      (r) =>
        (!filter.method || r.method === filter.method) &&
        (!filter.path || (typeof filter.path === 'string' ? r.path.includes(filter.path) : filter.path.test(r.path))),
    );
  }

  clearRequests(): void {
    this.requests.length = 0;
  }

  /** Invalidates every token issued so far (the next call with one gets 401). */
  revokeTokens(): void {
    this.tokenGeneration++;
  }

  /** The next `times` requests matching method/path get this fault. */
  injectFault(spec: FaultSpec): void {
    this.faults.push({ ...spec, left: spec.times ?? 1, skip: spec.after ?? 0 });
  }

  configure(change: { statusApplyDelayMs?: number; throttle?: ThrottleOptions; tokenTtlSeconds?: number }): void {
    if (change.statusApplyDelayMs !== undefined) this.options.statusApplyDelayMs = change.statusApplyDelayMs;
    if (change.tokenTtlSeconds !== undefined) this.options.tokenTtlSeconds = change.tokenTtlSeconds;
    if (change.throttle) this.options.throttle = { ...this.options.throttle, ...change.throttle };
    this.buckets.clear();
  }

  /** Waits until every accepted asynchronous status change has been applied. */
  async settle(): Promise<void> {
    while (this.pendingApplies.size) await Promise.all([...this.pendingApplies]);
  }

  /** A status change made by a 121 user in the portal (immediate; writes the event with that user's name). */
  portalChangeStatus(referenceId: string, status: string, reason: string | null = null, username = 'portal-user@example.org'): void {
    const reg = this.regs.find((r) => r.referenceId === referenceId && !r.deleted);
    if (!reg) throw new Error(`sandbox: unknown referenceId ${referenceId}`);
    if (!(TRANSITIONS[reg.status] ?? []).includes(status)) throw new Error(`sandbox: ${reg.status} -> ${status} is not allowed`);
    this.applyStatus(reg, status, reason, username);
  }

  /** An attribute edit made by a 121 user in the portal. */
  portalUpdate(referenceId: string, data: Record<string, unknown>, reason: string | null = null, username = 'portal-user@example.org'): void {
    const reg = this.regs.find((r) => r.referenceId === referenceId && !r.deleted);
    if (!reg) throw new Error(`sandbox: unknown referenceId ${referenceId}`);
    const program = this.programs.get(reg.programId) as SandboxProgram;
    const errors = this.applyUpdate(program, reg, data, reason, username, true);
    if (errors.length) throw new Error(`sandbox: invalid update of ${errors.length} field(s)`);
  }

  addTransaction(input: { referenceId: string; amount: number; status?: string; paymentId?: number; created?: string }): SandboxTransaction {
    const reg = this.regs.find((r) => r.referenceId === input.referenceId);
    if (!reg) throw new Error(`sandbox: unknown referenceId ${input.referenceId}`);
    const now = input.created ?? new Date().toISOString();
    const tx: SandboxTransaction = {
      id: ++this.seq.tx,
      programId: reg.programId,
      registrationId: reg.id,
      paymentId: input.paymentId ?? 1,
      amount: input.amount,
      status: input.status ?? 'waiting',
      created: now,
      updated: now,
      paymentDate: now,
      errorMessage: null,
    };
    this.txs.push(tx);
    if (tx.status === 'success') reg.paymentCount++;
    return tx;
  }

  setTransactionStatus(id: number, status: string): void {
    const tx = this.txs.find((t) => t.id === id);
    if (!tx) throw new Error(`sandbox: unknown transaction ${id}`);
    tx.status = status;
    tx.updated = new Date().toISOString();
  }

  // ---- model helpers --------------------------------------------------------------------------------------------

  private now(): string {
    return new Date().toISOString();
  }

  private fullName(program: SandboxProgram, reg: SandboxRegistration): string {
    return program.fullnameNamingConvention
      .map((k) => reg.attributes[k])
      .filter((v) => v !== null && v !== undefined && v !== '')
      .join(' ');
  }

  private view(reg: SandboxRegistration): Row {
    const program = this.programs.get(reg.programId) as SandboxProgram;
    const fsp = program.fspConfigs.find((c) => c.name === reg.programFspConfigurationName);
    const out: Row = {
      id: reg.id,
      referenceId: reg.referenceId,
      status: reg.status,
      programId: reg.programId,
      registrationProgramId: reg.registrationProgramId,
      personAffectedSequence: `PA #${reg.registrationProgramId}`,
      preferredLanguage: reg.preferredLanguage,
      paymentAmountMultiplier: reg.paymentAmountMultiplier,
      maxPayments: reg.maxPayments,
      paymentCount: reg.paymentCount,
      paymentCountRemaining: reg.maxPayments === null ? null : reg.maxPayments - reg.paymentCount,
      fspName: fsp?.fspName ?? null,
      programFspConfigurationName: reg.programFspConfigurationName,
      programFspConfigurationLabel: fsp?.label ?? null,
      scope: reg.scope,
      inclusionScore: reg.inclusionScore,
      lastMessageStatus: 'no messages yet',
      duplicateStatus: 'unique',
      created: reg.created,
      name: this.fullName(program, reg),
    };
    // "Number & Boolean is converted to string".
    for (const [k, v] of Object.entries(reg.attributes)) if (v !== null && v !== undefined) out[k] = String(v);
    return out;
  }

  private addEvent(reg: SandboxRegistration, e: Pick<SandboxEvent, 'type' | 'fieldChanged' | 'oldValue' | 'newValue' | 'reason' | 'username'>): void {
    this.eventLog.push({
      id: ++this.seq.event,
      programId: reg.programId,
      registrationId: reg.id,
      registrationProgramId: reg.registrationProgramId,
      created: this.now(),
      ...e,
    });
  }

  private applyStatus(reg: SandboxRegistration, status: string, reason: string | null, username: string): void {
    const old = reg.status;
    reg.status = status;
    reg.updated = this.now();
    if (status === 'deleted') reg.deleted = true;
    this.addEvent(reg, { type: 'registrationStatusChange', fieldChanged: 'status', oldValue: old, newValue: status, reason, username });
  }

  private languageMapping(program: SandboxProgram): Record<string, string> {
    const names = new Intl.DisplayNames(['en'], { type: 'language' });
    const mapping: Record<string, string> = {};
    for (const code of program.languages) mapping[(names.of(code.slice(0, 2)) ?? code).trim().toLowerCase()] = code;
    return mapping;
  }

  /** Row validation of POST /registrations (registrations-input-validator.ts); row errors in 121's format. */
  private validateRows(program: SandboxProgram, rows: Array<Record<string, unknown>>): { errors: Array<Record<string, unknown>>; cleaned: Array<Record<string, unknown>> } {
    const errors: Array<Record<string, unknown>> = [];
    const cleaned: Array<Record<string, unknown>> = [];
    const mapping = this.languageMapping(program);
    const rowError = (i: number, column: string, value: unknown, error: string, referenceId: unknown) => {
      const e: Record<string, unknown> = { column, error, lineNumber: i + 1 };
      if (typeof referenceId === 'string') e.referenceId = referenceId;
      e.value = value === undefined ? null : value;
      errors.push(e);
    };
    rows.forEach((row, i) => {
      const ref = row.referenceId;
      const out: Record<string, unknown> = { referenceId: ref, programFspConfigurationName: row.programFspConfigurationName };
      if (typeof ref === 'string' && this.regs.some((r) => r.referenceId === ref)) {
        rowError(i, 'referenceId', ref, 'referenceId already exists in database', ref);
      }
      const lang = typeof row.preferredLanguage === 'string' ? row.preferredLanguage.trim().toLowerCase() : row.preferredLanguage;
      if (lang) {
        if (typeof lang === 'string' && program.languages.includes(lang)) out.preferredLanguage = lang;
        else if (typeof lang === 'string' && mapping[lang]) out.preferredLanguage = mapping[lang];
        else {
          rowError(
            i,
            'preferredLanguage',
            row.preferredLanguage,
            `Language error: Allowed values of this program for preferredLanguage: ${Object.values(mapping).join(', ')}, ${Object.keys(mapping).join(', ')}`,
            ref,
          );
        }
      } else out.preferredLanguage = 'en';
      const fsp = program.fspConfigs.find((c) => c.name === row.programFspConfigurationName);
      if (!fsp) {
        rowError(i, 'programFspConfigurationName', row.programFspConfigurationName, `FspConfigurationName ${String(row.programFspConfigurationName)} not found in program`, ref);
      }
      if (!row.phoneNumber && !program.allowEmptyPhoneNumber) {
        rowError(i, 'phoneNumber', row.phoneNumber, 'PhoneNumber is not allowed to be empty', ref);
      }
      if (row.paymentAmountMultiplier !== undefined && row.paymentAmountMultiplier !== null) {
        if (program.paymentAmountMultiplierFormula) {
          rowError(i, 'paymentAmountMultiplier', row.paymentAmountMultiplier, 'paymentAmountMultiplier is not allowed: this program calculates it with a paymentAmountMultiplierFormula', ref);
        } else if (!Number.isInteger(Number(row.paymentAmountMultiplier)) || Number(row.paymentAmountMultiplier) < 1) {
          rowError(i, 'paymentAmountMultiplier', row.paymentAmountMultiplier, 'paymentAmountMultiplier must be a positive integer', ref);
        } else out.paymentAmountMultiplier = Number(row.paymentAmountMultiplier);
      }
      if (program.enableMaxPayments && row.maxPayments !== undefined && row.maxPayments !== null) out.maxPayments = Number(row.maxPayments);
      const attributes: Record<string, AttributeStored> = {};
      for (const att of program.attributes) {
        const present = Object.prototype.hasOwnProperty.call(row, att.name);
        const value = row[att.name];
        const checked = this.checkAttribute(att, value, present);
        if (checked.error) rowError(i, att.name, value, checked.error, ref);
        else if (checked.value !== undefined) attributes[att.name] = checked.value;
      }
      for (const required of fsp?.requiredAttributes ?? []) {
        if (attributes[required] === undefined || attributes[required] === null || attributes[required] === '') {
          rowError(i, required, row[required], `Attribute '${required}' is required for FSP configuration '${fsp?.name}'`, ref);
        }
      }
      out.attributes = attributes;
      cleaned.push(out);
      if (errors.length >= 5000) return;
    });
    return { errors, cleaned };
  }

  /** One attribute value of an import row; unknown keys are ignored elsewhere. */
  private checkAttribute(att: SandboxAttribute, value: unknown, present: boolean): { value?: AttributeStored; error?: string } {
    switch (att.type) {
      case 'tel': {
        if (value === undefined || value === null || value === '') return { value: att.name === 'phoneNumber' ? '' : undefined };
        const digits = String(value).replace(/\D/g, '');
        // TWILIO_MODE=DISABLED only sanitises; the sandbox also refuses numbers too short to be real (lookup stand-in).
        if (digits.length < 8) return { error: 'PhoneNumber is not valid according to Twilio lookup' };
        return { value: digits };
      }
      case 'dropdown': {
        if (!att.isRequired && (value === undefined || value === null || value === '')) return {};
        const options = att.options ?? [];
        if (typeof value === 'string' && options.includes(value)) return { value };
        return { error: `Value '${String(value)}' is not in the allowed options: '${options.length ? options.join(', ') : 'No options available'}' for attribute '${att.name}'` };
      }
      case 'numeric': {
        if (!present) return {};
        if (value === null || value === '' || Number.isNaN(Number(value)) || typeof value === 'boolean') return { error: 'Value is not a valid numeric' };
        return { value: Number(value) };
      }
      case 'boolean': {
        if (!present) return {};
        const b = stringToBoolean(value);
        return b === undefined ? { error: 'Value is not a valid boolean' } : { value: b };
      }
      case 'date': {
        if (!present || value === null || value === undefined || value === '') return {};
        return typeof value === 'string' && DATE_DD_MM_YYYY.test(value) ? { value } : { error: 'Value is not a valid date' };
      }
      case 'text':
      default: {
        if (!present || value === null || value === undefined) return {};
        return typeof value === 'string' ? { value } : { error: 'Value is not a valid text' };
      }
    }
  }

  private insertRows(program: SandboxProgram, cleaned: Array<Record<string, unknown>>, username: string): void {
    for (const row of cleaned) {
      const seq = (this.programSeq.get(program.id) ?? 0) + 1;
      this.programSeq.set(program.id, seq);
      const now = this.now();
      const reg: SandboxRegistration = {
        id: ++this.seq.reg,
        programId: program.id,
        registrationProgramId: seq,
        referenceId: typeof row.referenceId === 'string' ? row.referenceId : randomUUID(),
        status: 'new',
        preferredLanguage: String(row.preferredLanguage ?? 'en'),
        paymentAmountMultiplier: typeof row.paymentAmountMultiplier === 'number' ? row.paymentAmountMultiplier : 1,
        maxPayments: typeof row.maxPayments === 'number' ? row.maxPayments : null,
        paymentCount: 0,
        programFspConfigurationName: String(row.programFspConfigurationName),
        scope: '',
        inclusionScore: 0,
        created: now,
        updated: now,
        attributes: row.attributes as Record<string, AttributeStored>,
        deleted: false,
      };
      this.regs.push(reg);
      this.addEvent(reg, { type: 'registrationStatusChange', fieldChanged: 'status', oldValue: null, newValue: 'new', reason: null, username });
    }
  }

  /** PATCH data validation and apply; returns the error texts ("col: ...") or [] after applying. */
  private applyUpdate(program: SandboxProgram, reg: SandboxRegistration, data: Record<string, unknown>, reason: string | null, username: string, apply: boolean): string[] {
    const errors: string[] = [];
    const changes: Array<{ key: string; old: AttributeStored; value: AttributeStored; kind: 'attribute' | 'generic' | 'fsp' }> = [];
    const typeError = (key: string, value: unknown, type: string) =>
      `${key}: The value '${String(value)}' given for the attribute '${key}' does not have the correct format for type '${type}'`;
    for (const [key, value] of Object.entries(data)) {
      const att = program.attributes.find((a) => a.name === key);
      if (att) {
        if (value === null) {
          if (att.isRequired) errors.push(typeError(key, value, att.type));
          else changes.push({ key, old: reg.attributes[key] ?? null, value: null, kind: 'attribute' });
          continue;
        }
        const checked = this.checkAttribute(att, value, true);
        if (checked.error || checked.value === undefined) errors.push(typeError(key, value, att.type));
        else changes.push({ key, old: reg.attributes[key] ?? null, value: checked.value, kind: 'attribute' });
        continue;
      }
      if (key === 'preferredLanguage') {
        const lang = typeof value === 'string' ? value.trim().toLowerCase() : '';
        const code = program.languages.includes(lang) ? lang : this.languageMapping(program)[lang];
        if (!code) errors.push(typeError(key, value, 'language'));
        else changes.push({ key, old: reg.preferredLanguage, value: code, kind: 'generic' });
      } else if (key === 'paymentAmountMultiplier' || key === 'maxPayments') {
        if (value !== null && (!Number.isInteger(Number(value)) || Number(value) < 1)) errors.push(typeError(key, value, 'numeric'));
        else changes.push({ key, old: key === 'maxPayments' ? reg.maxPayments : reg.paymentAmountMultiplier, value: value === null ? null : Number(value), kind: 'generic' });
      } else if (key === 'scope') {
        changes.push({ key, old: reg.scope, value: String(value ?? ''), kind: 'generic' });
      } else if (key === 'programFspConfigurationName') {
        if (!program.fspConfigs.some((c) => c.name === value)) errors.push(`${key}: FspConfigurationName ${String(value)} not found in program`);
        else changes.push({ key, old: reg.programFspConfigurationName, value: String(value), kind: 'fsp' });
      } else {
        errors.push(`${key}: The attribute '${key}' is not known for this program`);
      }
    }
    if (errors.length || !apply) return errors;
    let changed = false;
    for (const c of changes) {
      if (String(c.old ?? '') === String(c.value ?? '')) continue;
      changed = true;
      if (c.kind === 'attribute') {
        if (c.value === null) delete reg.attributes[c.key];
        else reg.attributes[c.key] = c.value;
      } else if (c.key === 'preferredLanguage') reg.preferredLanguage = String(c.value);
      else if (c.key === 'paymentAmountMultiplier') reg.paymentAmountMultiplier = Number(c.value ?? 1);
      else if (c.key === 'maxPayments') reg.maxPayments = c.value === null ? null : Number(c.value);
      else if (c.key === 'scope') reg.scope = String(c.value);
      else if (c.kind === 'fsp') reg.programFspConfigurationName = String(c.value);
      this.addEvent(reg, {
        type: c.kind === 'fsp' ? 'fspChange' : 'registrationDataChange',
        fieldChanged: c.key,
        oldValue: c.old === null || c.old === undefined ? null : String(c.old),
        newValue: c.value === null ? null : String(c.value),
        reason,
        username,
      });
    }
    if (changed) reg.updated = this.now();
    return changed ? [] : ['__unchanged__'];
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------------

  private throttle(req: Request, res: Response, path: string): boolean {
    const t = this.options.throttle;
    const login = req.method === 'POST' && path === '/api/users/login';
    const ip = req.socket.remoteAddress ?? 'unknown';
    const key = `${ip}|${login ? 'login' : 'default'}`;
    const limit = login ? t.loginLimit : t.limit;
    const ttl = login ? t.loginTtlMs : t.ttlMs;
    const now = Date.now();
    let b = this.buckets.get(key);
    if (!b || b.resetAt <= now) {
      b = { count: 0, resetAt: now + ttl };
      this.buckets.set(key, b);
    }
    b.count++;
    if (b.count <= limit) return true;
    if (t.retryAfterHeader) res.setHeader('Retry-After', String(Math.max(1, Math.ceil((b.resetAt - now) / 1000))));
    res.status(429).json(THROTTLED);
    return false;
  }

  private takeFault(req: Request, path: string): FaultSpec | undefined {
    const f = this.faults.find(
      (x) =>
        x.left > 0 &&
        (!x.method || x.method.toUpperCase() === req.method) &&
        (!x.path || (typeof x.path === 'string' ? path.includes(x.path) : x.path.test(path))),
    );
    if (f && f.skip > 0) {
      f.skip--;
      return undefined;
    }
    if (f) {
      f.left--;
      if (f.left <= 0) this.faults = this.faults.filter((x) => x !== f);
    }
    return f;
  }

  private userOf(req: Request): SandboxUser | null {
    const cookies = parseCookies(req.headers.cookie);
    const name = String(req.headers['x-121-interface'] ?? '') === 'portal' ? 'access_token_portal' : 'access_token_general';
    const token = cookies[name];
    if (!token) return null;
    const payload = verifyJwt(token, this.secret);
    if (!payload || payload.gen !== this.tokenGeneration) return null;
    return this.users.find((u) => u.id === payload.id) ?? null;
  }

  private programParam(req: Request): SandboxProgram {
    const raw = String(req.params.programId);
    if (!/^\d+$/.test(raw)) throw new HttpReply(400, { statusCode: 400, message: 'Validation failed (numeric string is expected)', error: 'Bad Request' });
    const program = this.programs.get(Number(raw));
    if (!program) throw new HttpReply(403, FORBIDDEN);
    return program;
  }

  private requirePermission(req: Request, program: SandboxProgram, permission: string): SandboxUser {
    const user = res401(this.userOf(req));
    if (!user.assignments.get(program.id)?.has(permission)) throw new HttpReply(403, FORBIDDEN);
    return user;
  }

  private buildApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('query parser', 'simple');

    // Recording (no bodies) and throttling of /api.
    app.use('/api', (req: Request, res: Response, next: NextFunction) => {
      const cookies = parseCookies(req.headers.cookie);
      const started = Date.now();
      res.on('finish', () => {
        this.requests.push({
          method: req.method,
          path: req.originalUrl.split('?')[0],
          query: { ...(req.query as Record<string, unknown>) },
          status: res.statusCode,
          cookies: Object.keys(cookies),
          tokenCookie: cookies.access_token_general,
          authorization: typeof req.headers.authorization === 'string',
          interfaceHeader: typeof req.headers['x-121-interface'] === 'string' ? req.headers['x-121-interface'] : undefined,
          rows: Array.isArray(req.body) ? req.body.length : undefined,
          at: started,
        });
        this.opts.log?.debug({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode }, 'sandbox121 request');
      });
      next();
    });
    app.use(express.json({ limit: '25mb', strict: false }));
    app.use('/api', (req: Request, res: Response, next: NextFunction) => {
      const path = req.originalUrl.split('?')[0];
      if (!this.throttle(req, res, path)) return;
      const fault = this.takeFault(req, path);
      if (!fault) return next();
      const respond = () => {
        if (fault.status === undefined) return next();
        for (const [k, v] of Object.entries(fault.headers ?? {})) res.setHeader(k, v);
        res.status(fault.status).json(fault.body ?? { statusCode: fault.status, message: 'Internal server error' });
      };
      if (fault.delayMs) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          if (!res.headersSent && !res.writableEnded) respond();
        }, fault.delayMs);
        this.timers.add(t);
      } else respond();
    });

    const api = express.Router();
    api.get('/health/health', (_req, res) => {
      res.json({ status: 'ok' });
    });
    api.post('/users/login', (req, res) => this.login(req, res));
    api.get('/users/current', (req, res) => {
      const user = res401(this.userOf(req));
      res.json({ user: { id: user.id, username: user.username, isAdmin: user.admin, permissions: this.permissionsOf(user) } });
    });
    api.get('/programs/:programId', (req, res) => {
      const program = this.programParam(req);
      const user = res401(this.userOf(req));
      if (!user.assignments.has(program.id)) throw new HttpReply(403, FORBIDDEN);
      res.json(this.programReturn(program));
    });
    api.post('/programs/:programId/registrations', (req, res) => this.importRegistrations(req, res));
    api.get('/programs/:programId/registrations', (req, res) => this.listRegistrations(req, res));
    api.patch('/programs/:programId/registrations/status', (req, res) => this.patchStatus(req, res));
    api.delete('/programs/:programId/registrations', (req, res) => this.deleteRegistrations(req, res));
    api.get('/programs/:programId/registrations/:registrationId/activities', (req, res) => this.activities(req, res));
    api.post('/programs/:programId/registrations/:referenceId/notes', (req, res) => this.postNote(req, res));
    api.get('/programs/:programId/registrations/:id', (req, res) => this.getRegistration(req, res));
    api.patch('/programs/:programId/registrations/:referenceId', (req, res) => this.updateRegistration(req, res));
    api.get('/programs/:programId/registration-events', (req, res) => this.registrationEvents(req, res));
    api.get('/programs/:programId/metrics/export-list/:exportType', (req, res) => this.exportList(req, res));
    api.get('/programs/:programId/transactions', (req, res) => this.listTransactions(req, res));
    app.use('/api', api);
    app.use('/api', (req: Request, res: Response) => {
      res.status(404).json({ message: `Cannot ${req.method} ${req.originalUrl.split('?')[0]}`, error: 'Not Found', statusCode: 404 });
    });

    app.use('/sandbox', this.controlRouter());

    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      if (err instanceof HttpReply) {
        res.status(err.status).json(err.body);
        return;
      }
      const status = isRecord(err) && typeof err.status === 'number' ? err.status : 500;
      if (status === 400) {
        res.status(400).json({ statusCode: 400, message: 'Bad Request: malformed JSON', error: 'Bad Request' });
        return;
      }
      this.opts.log?.error({ err: err instanceof Error ? err.message : String(err) }, 'sandbox121 error');
      res.status(500).json({ statusCode: 500, message: 'Internal server error' });
    });
    return app;
  }

  private permissionsOf(user: SandboxUser): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [id, perms] of user.assignments) out[String(id)] = [...perms];
    return out;
  }

  private programReturn(program: SandboxProgram): Record<string, unknown> {
    return {
      id: program.id,
      titlePortal: program.titlePortal,
      currency: program.currency,
      languages: program.languages,
      paymentAmountMultiplierFormula: program.paymentAmountMultiplierFormula,
      enableMaxPayments: program.enableMaxPayments,
      enableScope: program.enableScope,
      allowEmptyPhoneNumber: program.allowEmptyPhoneNumber,
      fullnameNamingConvention: program.fullnameNamingConvention,
      programRegistrationAttributes: program.attributes.map((a) => ({
        name: a.name,
        label: { en: a.label ?? a.name },
        type: a.type,
        options: a.options ? a.options.map((o) => ({ option: o, label: { en: o } })) : null,
        isRequired: a.isRequired ?? false,
      })),
      programFspConfigurations: program.fspConfigs.map((c) => ({ name: c.name, fspName: c.fspName, label: c.label })),
    };
  }

  private login(req: Request, res: Response): void {
    const body = isRecord(req.body) ? req.body : {};
    const errors: Array<Record<string, unknown>> = [];
    if (typeof body.username !== 'string' || !body.username) errors.push(cvError('username', undefined, { isNotEmpty: 'username should not be empty' }, {}));
    if (typeof body.password !== 'string' || !body.password) errors.push(cvError('password', undefined, { isNotEmpty: 'password should not be empty' }, {}));
    if (errors.length) throw new HttpReply(400, validationBody(errors));
    const username = String(body.username).toLowerCase();
    const user = this.users.find((u) => u.username === username);
    if (!user || user.password !== body.password) throw new HttpReply(401, UNAUTHORIZED);
    const exp = Math.floor(Date.now() / 1000) + this.options.tokenTtlSeconds;
    const token = signJwt({ id: user.id, username: user.username, exp, admin: user.admin, isOrganizationAdmin: user.admin, gen: this.tokenGeneration }, this.secret);
    const portal = String(req.headers['x-121-interface'] ?? '') === 'portal';
    const expires = new Date(exp * 1000);
    res.setHeader('Set-Cookie', `${portal ? 'access_token_portal' : 'access_token_general'}=${token}; Path=/; Expires=${expires.toUTCString()}; HttpOnly; SameSite=Lax`);
    this.logins++;
    res.status(201).json({
      username: user.username,
      permissions: this.permissionsOf(user),
      access_token_general: token,
      expires: expires.toISOString(),
      isAdmin: user.admin,
      isEntraUser: false,
      isOrganizationAdmin: user.admin,
    });
  }

  private importRegistrations(req: Request, res: Response): void {
    const program = this.programParam(req);
    const user = this.requirePermission(req, program, 'registration.create');
    if (!Array.isArray(req.body)) {
      throw new HttpReply(400, { statusCode: 400, message: 'Validation failed (parsable array expected)', error: 'Bad Request' });
    }
    const rows = req.body as unknown[];
    // ParseArrayPipe with ImportRegistrationsDto items.
    const messages: string[] = [];
    rows.forEach((row, i) => {
      if (!isRecord(row)) {
        messages.push(`[${i}] each value must be an object`);
        return;
      }
      if (typeof row.programFspConfigurationName !== 'string') messages.push(`[${i}] programFspConfigurationName must be a string`);
      if (row.referenceId !== undefined) {
        if (typeof row.referenceId !== 'string') messages.push(`[${i}] referenceId must be a string`);
        else {
          if (row.referenceId.length < 5) messages.push(`[${i}] referenceId must be longer than or equal to 5 characters`);
          if (row.referenceId.length > 200) messages.push(`[${i}] referenceId must be shorter than or equal to 200 characters`);
          if (row.referenceId.includes('$')) messages.push(`[${i}] referenceId must not contain the character $`);
        }
      }
    });
    if (messages.length) throw new HttpReply(400, { statusCode: 400, message: messages, error: 'Bad Request' });
    const records = rows as Array<Record<string, unknown>>;
    const refs = records.map((r) => r.referenceId).filter((r): r is string => typeof r === 'string');
    if (new Set(refs).size < refs.length) throw new HttpReply(400, { statusCode: 400, message: 'Duplicate referenceIds in import set' });
    const { errors, cleaned } = this.validateRows(program, records);
    if (errors.length) throw new HttpReply(400, errors);
    this.insertRows(program, cleaned, user.username);
    res.status(201).json({ aggregateImportResult: { countImported: cleaned.length } });
  }

  private filterable(program: SandboxProgram): (col: string) => boolean {
    return (col) => GENERIC_FILTERABLE.has(col) || program.attributes.some((a) => a.name === col);
  }

  private listRegistrations(req: Request, res: Response): void {
    const program = this.programParam(req);
    this.requirePermission(req, program, 'registration.read');
    const query = readPaginateQuery(req.query as Record<string, unknown>);
    let rows = this.regs.filter((r) => r.programId === program.id && !r.deleted).map((r) => this.view(r));
    rows = applyFilters(rows, query.filters, this.filterable(program));
    if (query.search) {
      const s = query.search.toLowerCase();
      rows = rows.filter((r) => Object.values(r).some((v) => typeof v === 'string' && v.toLowerCase().includes(s)));
    }
    res.json(paginate(rows, query, `${this.url}/api/programs/${program.id}/registrations`));
  }

  private getRegistration(req: Request, res: Response): void {
    const program = this.programParam(req);
    this.requirePermission(req, program, 'registration.read');
    const raw = String(req.params.id);
    if (!/^\d+$/.test(raw)) throw new HttpReply(400, { statusCode: 400, message: 'Validation failed (numeric string is expected)', error: 'Bad Request' });
    const reg = this.regs.find((r) => r.id === Number(raw) && r.programId === program.id && !r.deleted);
    if (!reg) throw new HttpReply(404, { statusCode: 404, message: 'Registration not found' });
    res.json(this.view(reg));
  }

  /** Registrations a bulk action targets: the query's filters over the program (page/limit ignored). */
  private bulkTargets(req: Request, program: SandboxProgram): SandboxRegistration[] {
    const query = readPaginateQuery(req.query as Record<string, unknown>);
    if (Object.keys(query.filters).length === 0) this.unfilteredBulkActions++;
    const views = applyFilters(
      this.regs.filter((r) => r.programId === program.id && !r.deleted).map((r) => this.view(r)),
      query.filters,
      this.filterable(program),
    );
    const ids = new Set(views.map((v) => v.id));
    return this.regs.filter((r) => ids.has(r.id));
  }

  private patchStatus(req: Request, res: Response): void {
    const program = this.programParam(req);
    const user = res401(this.userOf(req));
    if (!user.assignments.has(program.id)) throw new HttpReply(403, FORBIDDEN);
    const body = isRecord(req.body) ? req.body : {};
    const errors: Array<Record<string, unknown>> = [];
    if (!STATUS_ENUM.includes(String(body.status))) {
      errors.push(cvError('status', body.status, { isEnum: `status must be one of the following values: ${STATUS_ENUM.join(', ')}` }, body));
    }
    if ((body.status === 'declined' || body.status === 'paused') && !(typeof body.reason === 'string' && body.reason.trim())) {
      errors.push(cvError('reason', body.reason, { isNotEmpty: 'reason should not be empty' }, body));
    }
    if (body.message && body.messageTemplateKey) {
      errors.push(cvError('message', body.message, { isNotBothPresent: 'message and messageTemplateKey cannot both be present' }, body));
    }
    if (errors.length) throw new HttpReply(400, validationBody(errors));
    const status = String(body.status);
    if (!API_SETTABLE.includes(status)) throw new HttpReply(400, { errors: `The status ${status} is unknown or cannot be changed to via API` });
    if (!user.assignments.get(program.id)?.has(STATUS_PERMISSION[status])) {
      throw new HttpReply(403, { errors: `User does not have permission to change status to ${status}` });
    }
    if ((body.message || body.messageTemplateKey) && !user.assignments.get(program.id)?.has('registration:notification.create')) {
      throw new HttpReply(403, { errors: 'User does not have permission to send messages' });
    }
    const targets = this.bulkTargets(req, program);
    const applicable = targets.filter((r) => (TRANSITIONS[r.status] ?? []).includes(status));
    const result = { totalFilterCount: targets.length, applicableCount: applicable.length, nonApplicableCount: targets.length - applicable.length };
    if (String(req.query.dryRun) === 'true') {
      res.status(200).json(result);
      return;
    }
    res.status(202).json(result);
    const reason = typeof body.reason === 'string' ? body.reason : null;
    const message = typeof body.message === 'string' ? body.message : null;
    const messageTemplateKey = typeof body.messageTemplateKey === 'string' ? body.messageTemplateKey : null;
    this.later(() => {
      for (const reg of applicable) {
        if (!(TRANSITIONS[reg.status] ?? []).includes(status) || reg.deleted) continue;
        this.applyStatus(reg, status, reason, user.username);
        if (message || messageTemplateKey) {
          this.messageLog.push({ programId: program.id, referenceId: reg.referenceId, message, messageTemplateKey, created: this.now() });
        }
      }
    });
  }

  private deleteRegistrations(req: Request, res: Response): void {
    const program = this.programParam(req);
    const user = this.requirePermission(req, program, 'registration.delete');
    const body = isRecord(req.body) ? req.body : {};
    const targets = this.bulkTargets(req, program);
    const applicable = targets.filter((r) => (TRANSITIONS[r.status] ?? []).includes('deleted'));
    res.status(202).json({ totalFilterCount: targets.length, applicableCount: applicable.length, nonApplicableCount: targets.length - applicable.length });
    const reason = typeof body.reason === 'string' ? body.reason : null;
    this.later(() => {
      for (const reg of applicable) if (!reg.deleted) this.applyStatus(reg, 'deleted', reason, user.username);
    });
  }

  /** Runs an asynchronous effect after statusApplyDelayMs (121's fire-and-forget bulk update). */
  private later(effect: () => void): void {
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolve = r));
    this.pendingApplies.add(done);
    const t = setTimeout(() => {
      this.timers.delete(t);
      try {
        effect();
      } finally {
        this.pendingApplies.delete(done);
        resolve();
      }
    }, this.options.statusApplyDelayMs);
    this.timers.add(t);
  }

  private updateRegistration(req: Request, res: Response): void {
    const program = this.programParam(req);
    const user = this.requirePermission(req, program, 'registration:attribute.update');
    const body = isRecord(req.body) ? req.body : {};
    if (!isRecord(body.data) || Object.keys(body.data).length === 0) {
      throw new HttpReply(400, validationBody([cvError('data', body.data, { isNotEmpty: 'data should not be empty', isObject: 'data must be an object' }, body)]));
    }
    if (body.reason !== undefined && body.reason !== null && typeof body.reason !== 'string') {
      throw new HttpReply(400, validationBody([cvError('reason', body.reason, { isString: 'reason must be a string' }, body)]));
    }
    const ref = String(req.params.referenceId);
    const reg = this.regs.find((r) => r.referenceId === ref && r.programId === program.id && !r.deleted);
    if (!reg) throw new HttpReply(404, { statusCode: 404, message: `The following referenceIds were not found in the database: ${ref}` });
    const data = body.data;
    const perms = user.assignments.get(program.id) ?? new Set<string>();
    if (('paymentAmountMultiplier' in data || 'maxPayments' in data) && !perms.has('registration:attribute:financial.update')) {
      throw new HttpReply(403, FORBIDDEN);
    }
    if ('programFspConfigurationName' in data && !perms.has('registration:fsp-config.update')) throw new HttpReply(403, FORBIDDEN);
    const errors = this.applyUpdate(program, reg, data, typeof body.reason === 'string' ? body.reason : null, user.username, false);
    if (errors.length) throw new HttpReply(400, { statusCode: 400, message: errors.join(', ') });
    const applied = this.applyUpdate(program, reg, data, typeof body.reason === 'string' ? body.reason : null, user.username, true);
    if (applied[0] === '__unchanged__') {
      res.status(200).end();
      return;
    }
    res.status(200).json(this.view(reg));
  }

  private postNote(req: Request, res: Response): void {
    const program = this.programParam(req);
    const user = this.requirePermission(req, program, 'registration:personal.update');
    const body = isRecord(req.body) ? req.body : {};
    if (typeof body.text !== 'string' || !body.text.trim()) {
      throw new HttpReply(400, validationBody([cvError('text', body.text, { isNotEmpty: 'text should not be empty', isString: 'text must be a string' }, body)]));
    }
    const ref = String(req.params.referenceId);
    const reg = this.regs.find((r) => r.referenceId === ref && r.programId === program.id && !r.deleted);
    if (!reg) throw new HttpReply(404, { errors: `ReferenceId ${ref} is not known in this program (within your scope).` });
    this.noteLog.push({
      id: ++this.seq.note,
      programId: program.id,
      registrationId: reg.id,
      referenceId: reg.referenceId,
      text: body.text,
      userId: user.id,
      username: user.username,
      created: this.now(),
    });
    res.status(201).end();
  }

  private activities(req: Request, res: Response): void {
    const program = this.programParam(req);
    this.requirePermission(req, program, 'registration:personal.read');
    const raw = String(req.params.registrationId);
    if (!/^\d+$/.test(raw)) throw new HttpReply(400, { statusCode: 400, message: 'Validation failed (numeric string is expected)', error: 'Bad Request' });
    const reg = this.regs.find((r) => r.id === Number(raw) && r.programId === program.id);
    if (!reg) throw new HttpReply(404, { statusCode: 404, message: 'Registration not found' });
    const userId = (username: string) => this.users.find((u) => u.username === username)?.id;
    const data: Array<Record<string, unknown>> = [];
    for (const n of this.noteLog.filter((x) => x.registrationId === reg.id)) {
      data.push({ id: `note-${n.id}`, type: 'note', created: n.created, user: { id: n.userId, username: n.username }, attributes: { text: n.text } });
    }
    for (const e of this.eventLog.filter((x) => x.registrationId === reg.id)) {
      const type = e.type === 'registrationStatusChange' ? 'status-change' : e.type === 'fspChange' ? 'fsp-change' : e.type === 'ignoredDuplicate' ? 'ignored-duplicate' : 'data-change';
      data.push({
        id: `event-${e.id}`,
        type,
        created: e.created,
        user: { id: userId(e.username), username: e.username },
        attributes: { fieldName: e.fieldChanged, oldValue: e.oldValue, newValue: e.newValue, reason: e.reason },
      });
    }
    data.sort((a, b) => String(b.created).localeCompare(String(a.created)));
    const count: Record<string, number> = {};
    for (const d of data) count[String(d.type)] = (count[String(d.type)] ?? 0) + 1;
    res.json({ meta: { availableTypes: Object.keys(count), count }, data });
  }

  private registrationEvents(req: Request, res: Response): void {
    const program = this.programParam(req);
    this.requirePermission(req, program, 'registration:personal.export');
    const q = req.query as Record<string, unknown>;
    const errors: Array<Record<string, unknown>> = [];
    for (const key of ['fromDate', 'toDate']) {
      if (q[key] !== undefined && !isIso8601(q[key])) errors.push(cvError(key, q[key], { isIso8601: `${key} must be a valid ISO 8601 date string` }, q));
    }
    if (errors.length) throw new HttpReply(400, validationBody(errors));
    const from = Date.parse(typeof q.fromDate === 'string' ? q.fromDate : BEGINNING);
    const to = typeof q.toDate === 'string' ? Date.parse(q.toDate) : Date.now();
    const regId = typeof q.referenceId === 'string' ? this.regs.find((r) => r.referenceId === q.referenceId && r.programId === program.id)?.id ?? -1 : undefined;
    const items = this.eventLog
      .filter((e) => e.programId === program.id && (regId === undefined || e.registrationId === regId))
      .filter((e) => {
        const t = Date.parse(e.created);
        return t >= from && t <= to;
      })
      .sort((a, b) => a.id - b.id)
      .map((e) => ({
        id: e.id,
        registrationId: e.registrationId,
        registrationProgramId: e.registrationProgramId,
        type: e.type,
        fieldChanged: e.fieldChanged,
        oldValue: e.oldValue,
        newValue: e.newValue,
        reason: e.reason,
        username: e.username,
        created: e.created,
      }));
    if (items.length === 0) throw new HttpReply(404, NO_DATA);
    res.json({
      data: items,
      meta: { itemsPerPage: 500000, totalItems: items.length, currentPage: 1, totalPages: 1, sortBy: [['id', 'ASC']] },
      links: { current: `${this.url}/api/programs/${program.id}/registration-events?page=1&limit=500000&sortBy=id:ASC` },
    });
  }

  private exportList(req: Request, res: Response): void {
    const program = this.programParam(req);
    const exportType = String(req.params.exportType);
    const types = ['registrations', 'unused-vouchers', 'vouchers-with-balance', 'intersolve-visa-card-details'];
    if (!types.includes(exportType)) {
      throw new HttpReply(400, validationBody([cvError('exportType', exportType, { isEnum: `exportType must be one of the following values: ${types.join(', ')}` }, req.params)]));
    }
    this.requirePermission(req, program, 'registration:personal.export');
    if (exportType !== 'registrations') throw new HttpReply(404, NO_DATA);
    const query = readPaginateQuery(req.query as Record<string, unknown>);
    const rows = applyFilters(
      this.regs.filter((r) => r.programId === program.id && !r.deleted).map((r) => this.view(r)),
      query.filters,
      this.filterable(program),
    ).map((r) => selectFields(r, query.select));
    if (rows.length === 0) throw new HttpReply(404, NO_DATA);
    res.json({ data: rows, fileName: `registrations-list-${new Date().toISOString().slice(0, 10)}` });
  }

  private listTransactions(req: Request, res: Response): void {
    const program = this.programParam(req);
    this.requirePermission(req, program, 'payment:transaction.read');
    const q = req.query as Record<string, unknown>;
    const errors: Array<Record<string, unknown>> = [];
    for (const key of ['fromDate', 'toDate']) {
      if (q[key] !== undefined && !isIso8601(q[key])) errors.push(cvError(key, q[key], { isIso8601: `${key} must be a valid ISO 8601 date string` }, q));
    }
    if (errors.length) throw new HttpReply(400, validationBody(errors));
    const from = typeof q.fromDate === 'string' ? Date.parse(q.fromDate) : -Infinity;
    const to = typeof q.toDate === 'string' ? Date.parse(q.toDate) : Infinity;
    const paymentId = q.paymentId === undefined ? undefined : Number(q.paymentId);
    const rows = this.txs
      .filter((t) => t.programId === program.id && (paymentId === undefined || t.paymentId === paymentId))
      .filter((t) => {
        const c = Date.parse(t.created);
        return c >= from && c <= to;
      })
      .map((t) => {
        const reg = this.regs.find((r) => r.id === t.registrationId) as SandboxRegistration;
        const fsp = program.fspConfigs.find((c) => c.name === reg.programFspConfigurationName);
        return {
          id: t.id,
          created: t.created,
          updated: t.updated,
          paymentId: t.paymentId,
          paymentDate: t.paymentDate,
          amount: t.amount,
          status: t.status,
          errorMessage: t.errorMessage,
          registrationId: reg.id,
          registrationProgramId: reg.registrationProgramId,
          registrationReferenceId: reg.referenceId,
          registrationName: this.fullName(program, reg),
          registrationStatus: reg.status,
          paymentCount: reg.paymentCount,
          programFspConfigurationName: reg.programFspConfigurationName,
          fspName: fsp?.fspName ?? null,
        };
      });
    if (rows.length === 0) throw new HttpReply(404, NO_DATA);
    res.json({ data: rows, fileName: `transactions_${program.id}_${new Date().toISOString().slice(0, 10)}` });
  }

  /** /sandbox/*: not part of 121; lets a demo act as a portal user and inspect the peer. */
  private controlRouter(): express.Router {
    const r = express.Router();
    const wrap = (fn: (req: Request, res: Response) => void) => (req: Request, res: Response) => {
      try {
        fn(req, res);
      } catch (err) {
        if (err instanceof HttpReply) throw err;
        res.status(409).json({ error: err instanceof Error ? err.message : String(err) });
      }
    };
    r.get('/', (_req, res) => {
      res.json({
        programs: [...this.programs.keys()],
        registrations: this.regs.filter((x) => !x.deleted).length,
        events: this.eventLog.length,
        notes: this.noteLog.length,
        transactions: this.txs.length,
        logins: this.logins,
        unfilteredBulkActions: this.unfilteredBulkActions,
        endpoints: [
          'GET /sandbox/programs/:programId/registrations',
          'GET /sandbox/registrations/:referenceId/notes',
          'GET /sandbox/programs/:programId/events',
          'POST /sandbox/programs/:programId/registrations/:referenceId/status {status, reason?, username?}',
          'POST /sandbox/programs/:programId/registrations/:referenceId/attributes {data, reason?, username?}',
          'POST /sandbox/programs/:programId/transactions {referenceId, amount, status?, paymentId?}',
          'PATCH /sandbox/transactions/:id {status}',
          'POST /sandbox/reset',
        ],
      });
    });
    r.get('/programs/:programId/registrations', (req, res) => {
      res.json(this.registrations(Number(req.params.programId)));
    });
    r.get('/programs/:programId/events', (req, res) => {
      res.json(this.events({ programId: Number(req.params.programId) }));
    });
    r.get('/registrations/:referenceId/notes', (req, res) => {
      res.json(this.notes(String(req.params.referenceId)));
    });
    r.post(
      '/programs/:programId/registrations/:referenceId/status',
      wrap((req, res) => {
        const body = isRecord(req.body) ? req.body : {};
        this.portalChangeStatus(
          String(req.params.referenceId),
          String(body.status),
          typeof body.reason === 'string' ? body.reason : null,
          typeof body.username === 'string' ? body.username : undefined,
        );
        res.json(this.registration(String(req.params.referenceId)));
      }),
    );
    r.post(
      '/programs/:programId/registrations/:referenceId/attributes',
      wrap((req, res) => {
        const body = isRecord(req.body) ? req.body : {};
        this.portalUpdate(
          String(req.params.referenceId),
          isRecord(body.data) ? body.data : {},
          typeof body.reason === 'string' ? body.reason : null,
          typeof body.username === 'string' ? body.username : undefined,
        );
        res.json(this.registration(String(req.params.referenceId)));
      }),
    );
    r.post(
      '/programs/:programId/transactions',
      wrap((req, res) => {
        const body = isRecord(req.body) ? req.body : {};
        const tx = this.addTransaction({
          referenceId: String(body.referenceId),
          amount: Number(body.amount ?? 0),
          status: typeof body.status === 'string' ? body.status : undefined,
          paymentId: body.paymentId === undefined ? undefined : Number(body.paymentId),
        });
        res.status(201).json(tx);
      }),
    );
    r.patch(
      '/transactions/:id',
      wrap((req, res) => {
        const body = isRecord(req.body) ? req.body : {};
        this.setTransactionStatus(Number(req.params.id), String(body.status));
        res.json(this.txs.find((t) => t.id === Number(req.params.id)));
      }),
    );
    r.post('/reset', (_req, res) => {
      this.reset();
      res.status(202).json({ reset: true });
    });
    return r;
  }
}

function res401(user: SandboxUser | null): SandboxUser {
  if (!user) throw new HttpReply(401, UNAUTHORIZED);
  return user;
}
