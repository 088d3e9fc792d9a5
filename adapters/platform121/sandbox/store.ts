/**
 * What the sandbox 121-service holds (programs, users, registrations, events, notes, messages, transactions) and the
 * model rules every resource shares: the registration view, events, status changes, the asynchronous apply,
 * authentication of a request and program permissions.
 */
import { randomUUID } from 'node:crypto';
import type { Request } from 'express';
import { TimerSet, type Logger } from 'caseway/core';
import { HttpReply, parseCookies } from './http';
import { verifyJwt } from './jwt';
import { applyFilters, readPaginateQuery, type Row } from './paginate';
import type { SandboxProgram } from './programs';
import { FORBIDDEN, GENERIC_FILTERABLE, NOT_NUMERIC, UNAUTHORIZED } from './reference';

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

export type ResolvedSandboxOptions = Required<Omit<Sandbox121Options, 'log' | 'host' | 'port' | 'extraProgramIds'>> & { throttle: Required<ThrottleOptions> };

export interface SandboxUser {
  id: number;
  username: string;
  password: string;
  admin: boolean;
  assignments: Map<number, Set<string>>;
  /** Role names and scope per program (PUT /programs/{id}/users/{userId}). */
  roles?: Map<number, { roles: string[]; scope: string }>;
  displayName?: string;
  active?: boolean;
  lastLogin?: string | null;
}

export interface SandboxPayment {
  id: number;
  programId: number;
  name: string;
  created: string;
}

export interface SandboxTemplate {
  id: number;
  created: string;
  updated: string;
  type: string;
  label: Record<string, string> | null;
  language: string;
  message: string | null;
  contentSid: string | null;
  isSendMessageTemplate: boolean;
  programId: number;
}

export interface SandboxExchangeRate {
  currency: string;
  euroExchangeRate: number;
  closeTime: string | null;
}

export interface SandboxVoucher {
  programId: number;
  registrationId: number;
  paymentId: number;
  transactionId: number;
  amount: number;
  created: string;
  balanceUsed: boolean;
  lastRequestedBalance: number;
  updatedLastRequestedBalance: string | null;
}

export type AttributeStored = string | number | boolean | null;

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

export class SandboxStore {
  readonly secret = randomUUID();
  tokenGeneration = 1;
  readonly programs = new Map<number, SandboxProgram>();
  readonly programSeq = new Map<number, number>();
  readonly users: SandboxUser[] = [];
  readonly regs: SandboxRegistration[] = [];
  readonly eventLog: SandboxEvent[] = [];
  readonly noteLog: SandboxNote[] = [];
  readonly messageLog: SandboxMessage[] = [];
  readonly txs: SandboxTransaction[] = [];
  readonly payments: SandboxPayment[] = [];
  readonly templates: SandboxTemplate[] = [];
  readonly exchangeRates: SandboxExchangeRate[] = [];
  readonly vouchers: SandboxVoucher[] = [];
  /** Files accepted by excel-reconciliation (name and text), for tests. */
  readonly reconciliations: Array<{ programId: number; paymentId: number; fileName: string; rows: number }> = [];
  seq = { reg: 0, event: 0, note: 0, tx: 0, payment: 0, template: 0, program: 100, user: 10 };
  readonly buckets = new Map<string, { count: number; resetAt: number }>();
  faults: Array<FaultSpec & { left: number; skip: number }> = [];
  readonly pendingApplies = new Set<Promise<void>>();
  readonly timers = new TimerSet();
  readonly requests: RecordedRequest[] = [];
  /** Successful logins. */
  logins = 0;
  /** Status changes/deletes that came without any filter (applied to the whole program, as 121 does). */
  unfilteredBulkActions = 0;
  url = '';

  constructor(
    readonly options: ResolvedSandboxOptions,
    readonly log?: Logger,
  ) {}

  /** Empties every collection (the server seeds again afterwards). */
  clear(): void {
    this.programs.clear();
    this.programSeq.clear();
    this.users.length = 0;
    this.regs.length = 0;
    this.eventLog.length = 0;
    this.noteLog.length = 0;
    this.messageLog.length = 0;
    this.txs.length = 0;
    this.payments.length = 0;
    this.templates.length = 0;
    this.exchangeRates.length = 0;
    this.vouchers.length = 0;
    this.reconciliations.length = 0;
    this.requests.length = 0;
    this.buckets.clear();
    this.faults = [];
    this.seq = { reg: 0, event: 0, note: 0, tx: 0, payment: 0, template: 0, program: 100, user: 10 };
    this.logins = 0;
    this.unfilteredBulkActions = 0;
  }

  addProgram(p: SandboxProgram): void {
    this.programs.set(p.id, p);
    this.programSeq.set(p.id, 0);
  }

  now(): string {
    return new Date().toISOString();
  }

  fullName(program: SandboxProgram, reg: SandboxRegistration): string {
    return program.fullnameNamingConvention
      .map((k) => reg.attributes[k])
      .filter((v) => v !== null && v !== undefined && v !== '')
      .join(' ');
  }

  programOf(reg: SandboxRegistration): SandboxProgram {
    const program = this.programs.get(reg.programId);
    if (!program) throw new Error(`sandbox: registration ${reg.id} has no program`);
    return program;
  }

  /** A registration as GET /registrations shows it. */
  view(reg: SandboxRegistration): Row {
    const program = this.programOf(reg);
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

  addEvent(reg: SandboxRegistration, e: Pick<SandboxEvent, 'type' | 'fieldChanged' | 'oldValue' | 'newValue' | 'reason' | 'username'>): void {
    this.eventLog.push({
      id: ++this.seq.event,
      programId: reg.programId,
      registrationId: reg.id,
      registrationProgramId: reg.registrationProgramId,
      created: this.now(),
      ...e,
    });
  }

  applyStatus(reg: SandboxRegistration, status: string, reason: string | null, username: string): void {
    const old = reg.status;
    reg.status = status;
    reg.updated = this.now();
    if (status === 'deleted') reg.deleted = true;
    this.addEvent(reg, { type: 'registrationStatusChange', fieldChanged: 'status', oldValue: old, newValue: status, reason, username });
  }

  /** Runs an asynchronous effect after statusApplyDelayMs (121's fire-and-forget bulk update). */
  later(effect: () => void): void {
    let resolve: () => void = () => undefined;
    const done = new Promise<void>((r) => (resolve = r));
    this.pendingApplies.add(done);
    this.timers.after(this.options.statusApplyDelayMs, () => {
      try {
        effect();
      } finally {
        this.pendingApplies.delete(done);
        resolve();
      }
    });
  }

  filterable(program: SandboxProgram): (col: string) => boolean {
    return (col) => GENERIC_FILTERABLE.has(col) || program.attributes.some((a) => a.name === col);
  }

  /** Non-deleted registration views of a program. */
  liveViews(program: SandboxProgram): Row[] {
    return this.regs.filter((r) => r.programId === program.id && !r.deleted).map((r) => this.view(r));
  }

  /** Registrations a bulk action targets: the query's filters over the program (page/limit ignored). */
  bulkTargets(req: Request, program: SandboxProgram): SandboxRegistration[] {
    const query = readPaginateQuery(req.query as Record<string, unknown>);
    if (Object.keys(query.filters).length === 0) this.unfilteredBulkActions++;
    const views = applyFilters(this.liveViews(program), query.filters, this.filterable(program));
    const ids = new Set(views.map((v) => v.id));
    return this.regs.filter((r) => ids.has(r.id));
  }

  userOf(req: Request): SandboxUser | null {
    const cookies = parseCookies(req.headers.cookie);
    const name = String(req.headers['x-121-interface'] ?? '') === 'portal' ? 'access_token_portal' : 'access_token_general';
    const token = cookies[name];
    if (!token) return null;
    const payload = verifyJwt(token, this.secret);
    if (!payload || payload.gen !== this.tokenGeneration) return null;
    return this.users.find((u) => u.id === payload.id) ?? null;
  }

  /** The logged-in user, or 401. */
  authenticated(req: Request): SandboxUser {
    const user = this.userOf(req);
    if (!user) throw new HttpReply(401, UNAUTHORIZED);
    return user;
  }

  /** The :programId of a permission route; 403 for a program that does not exist (the guard answers first). */
  programParam(req: Request): SandboxProgram {
    const raw = String(req.params.programId);
    if (!/^\d+$/.test(raw)) throw new HttpReply(400, NOT_NUMERIC);
    const program = this.programs.get(Number(raw));
    if (!program) throw new HttpReply(403, FORBIDDEN);
    return program;
  }

  requirePermission(req: Request, program: SandboxProgram, ...permissions: string[]): SandboxUser {
    const user = this.authenticated(req);
    const held = user.assignments.get(program.id);
    if (!held || !permissions.every((p) => held.has(p))) throw new HttpReply(403, FORBIDDEN);
    return user;
  }

  /** For isAdmin / isOrganizationAdmin routes (JWT flags only): 401 without a login, 403 without the flag. */
  requireAdmin(req: Request): SandboxUser {
    const user = this.authenticated(req);
    if (!user.admin) throw new HttpReply(403, FORBIDDEN);
    return user;
  }

  /** A payment of the program, created on first use (a payment run named "Payment N"). */
  ensurePayment(programId: number, paymentId: number, created = this.now()): SandboxPayment {
    const known = this.payments.find((p) => p.id === paymentId && p.programId === programId);
    if (known) return known;
    const payment = { id: paymentId, programId, name: `Payment ${paymentId}`, created };
    this.payments.push(payment);
    this.seq.payment = Math.max(this.seq.payment, paymentId);
    return payment;
  }

  permissionsOf(user: SandboxUser): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const [id, perms] of user.assignments) out[String(id)] = [...perms];
    return out;
  }
}
