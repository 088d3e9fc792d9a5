/**
 * A sandbox 121-service on loopback, faithful to reference/121-platform-api.md and 121-platform-more-endpoints.md
 * where it matters to a client:
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
 *
 * This file is the lifecycle, the seed and the inspection API; each resource's routes live in routes/*.ts, the
 * shared model in store.ts, data validation in validation.ts, 121's facts in reference.ts.
 */
import type { Server } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { controlRouter } from './control';
import { closeHttpServer, isRecord, serveHttp } from 'caseway/core';
import { HttpReply } from './http';
import { recordRequests, throttleAndFaults } from './middleware';
import type { Row } from './paginate';
import { WESTEROS_SEED_ROWS, ocwProgram, westerosProgram, type SandboxProgram } from './programs';
import { ALL_PERMISSIONS, TRANSITIONS } from './reference';
import { mountAdmin } from './routes/admin';
import { mountAuth } from './routes/auth';
import { mountEvents } from './routes/events';
import { mountExports } from './routes/exports';
import { mountFspConfigurations } from './routes/fsp-configurations';
import { mountMessageTemplates } from './routes/message-templates';
import { mountMessages } from './routes/messages';
import { mountPayments } from './routes/payments';
import { mountNotes } from './routes/notes';
import { mountPrograms } from './routes/programs';
import { mountRegistrations } from './routes/registrations';
import { mountStatus } from './routes/status';
import { mountTransactions } from './routes/transactions';
import { mountVouchers } from './routes/vouchers';
import {
  SandboxStore,
  type FaultSpec,
  type Sandbox121Options,
  type SandboxEvent,
  type SandboxExchangeRate,
  type SandboxMessage,
  type SandboxPayment,
  type SandboxTemplate,
  type SandboxTransaction,
  type ThrottleOptions,
} from './store';
import { applyUpdate, insertRows, validateRows } from './validation';

export { ALL_PERMISSIONS } from './reference';
export type {
  FaultSpec,
  RecordedRequest,
  Sandbox121Options,
  SandboxEvent,
  SandboxExchangeRate,
  SandboxMessage,
  SandboxNote,
  SandboxPayment,
  SandboxTemplate,
  SandboxVoucher,
  SandboxRegistration,
  SandboxTransaction,
  SandboxUser,
  ThrottleOptions,
} from './store';

export class Sandbox121 {
  private server: Server | null = null;
  readonly store: SandboxStore;

  constructor(private readonly opts: Sandbox121Options = {}) {
    this.store = new SandboxStore(
      {
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
      },
      opts.log,
    );
    this.reset();
  }

  // ---- lifecycle ------------------------------------------------------------------------------------------------

  static async start(opts: Sandbox121Options = {}): Promise<Sandbox121> {
    const sb = new Sandbox121(opts);
    await sb.listen(opts.host ?? '127.0.0.1', opts.port ?? 0);
    return sb;
  }

  async listen(host: string, port: number): Promise<void> {
    const { server, url } = await serveHttp(this.buildApp(), port, host);
    this.server = server;
    this.store.url = url;
  }

  async stop(): Promise<void> {
    this.store.timers.clear();
    const server = this.server;
    this.server = null;
    if (server) await closeHttpServer(server);
  }

  /** Back to the seeded state (programs, users, registrations); keeps the listening socket. */
  reset(): void {
    const s = this.store;
    s.clear();
    for (const p of [westerosProgram(2), ocwProgram(3), ...(this.opts.extraProgramIds ?? []).filter((id) => id !== 2 && id !== 3).map((id) => westerosProgram(id))]) {
      s.addProgram(p);
    }
    const programIds = [...s.programs.keys()];
    s.users.push({
      id: 1,
      username: s.options.adminUsername,
      password: s.options.adminPassword,
      admin: true,
      assignments: new Map(programIds.map((id) => [id, new Set(ALL_PERMISSIONS)])),
    });
    // A read-only aid worker, for permission tests.
    s.users.push({
      id: 2,
      username: 'viewer@example.org',
      password: 'password',
      admin: false,
      assignments: new Map([[2, new Set(['registration.read', 'registration:personal.read'])]]),
    });
    s.users.push({
      id: 3,
      username: 'portal-user@example.org',
      password: 'password',
      admin: false,
      assignments: new Map(programIds.map((id) => [id, new Set(ALL_PERMISSIONS)])),
    });
    if (s.options.seed) {
      const program = this.requireProgram(2);
      const result = validateRows(s, program, WESTEROS_SEED_ROWS);
      if (result.errors.length) throw new Error('sandbox seed rows are invalid');
      insertRows(s, program, result.cleaned, s.users[0].username);
    }
  }

  // ---- inspection API (tests) -----------------------------------------------------------------------------------

  get url(): string {
    return this.store.url;
  }

  get baseUrl(): string {
    return this.store.url;
  }

  get options(): SandboxStore['options'] {
    return this.store.options;
  }

  get requests(): SandboxStore['requests'] {
    return this.store.requests;
  }

  /** Successful logins. */
  get logins(): number {
    return this.store.logins;
  }

  /** Status changes/deletes that came without any filter (applied to the whole program, as 121 does). */
  get unfilteredBulkActions(): number {
    return this.store.unfilteredBulkActions;
  }

  program(id: number): SandboxProgram | undefined {
    return this.store.programs.get(id);
  }

  private requireProgram(id: number): SandboxProgram {
    const program = this.store.programs.get(id);
    if (!program) throw new Error(`sandbox: unknown program ${id}`);
    return program;
  }

  /** Registration views (as GET /registrations shows them), deleted ones excluded unless asked. */
  registrations(programId?: number, includeDeleted = false): Row[] {
    return this.store.regs.filter((r) => (programId === undefined || r.programId === programId) && (includeDeleted || !r.deleted)).map((r) => this.store.view(r));
  }

  registration(referenceId: string): Row | undefined {
    const r = this.store.regs.find((x) => x.referenceId === referenceId);
    return r ? this.store.view(r) : undefined;
  }

  notes(referenceId: string): Array<{ text: string; username: string; created: string }> {
    return this.store.noteLog.filter((n) => n.referenceId === referenceId).map((n) => ({ text: n.text, username: n.username, created: n.created }));
  }

  events(filter: { programId?: number; referenceId?: string; type?: string } = {}): SandboxEvent[] {
    const regId = filter.referenceId ? this.store.regs.find((r) => r.referenceId === filter.referenceId)?.id : undefined;
    return this.store.eventLog.filter(
      (e) =>
        (filter.programId === undefined || e.programId === filter.programId) &&
        (filter.referenceId === undefined || e.registrationId === regId) &&
        (filter.type === undefined || e.type === filter.type),
    );
  }

  messages(): SandboxMessage[] {
    return [...this.store.messageLog];
  }

  transactions(): SandboxTransaction[] {
    return [...this.store.txs];
  }

  /** Requests to /api made so far (no bodies). */
  apiRequests(filter: { method?: string; path?: string | RegExp } = {}): SandboxStore['requests'] {
    return this.store.requests.filter(
      (r) =>
        (!filter.method || r.method === filter.method) &&
        (!filter.path || (typeof filter.path === 'string' ? r.path.includes(filter.path) : filter.path.test(r.path))),
    );
  }

  clearRequests(): void {
    this.store.requests.length = 0;
  }

  /** Invalidates every token issued so far (the next call with one gets 401). */
  revokeTokens(): void {
    this.store.tokenGeneration++;
  }

  /** The next `times` requests matching method/path get this fault. */
  injectFault(spec: FaultSpec): void {
    this.store.faults.push({ ...spec, left: spec.times ?? 1, skip: spec.after ?? 0 });
  }

  configure(change: { statusApplyDelayMs?: number; throttle?: ThrottleOptions; tokenTtlSeconds?: number }): void {
    const o = this.store.options;
    if (change.statusApplyDelayMs !== undefined) o.statusApplyDelayMs = change.statusApplyDelayMs;
    if (change.tokenTtlSeconds !== undefined) o.tokenTtlSeconds = change.tokenTtlSeconds;
    if (change.throttle) o.throttle = { ...o.throttle, ...change.throttle };
    this.store.buckets.clear();
  }

  /** Waits until every accepted asynchronous status change has been applied. */
  async settle(): Promise<void> {
    while (this.store.pendingApplies.size) await Promise.all([...this.store.pendingApplies]);
  }

  /** A status change made by a 121 user in the portal (immediate; writes the event with that user's name). */
  portalChangeStatus(referenceId: string, status: string, reason: string | null = null, username = 'portal-user@example.org'): void {
    const reg = this.store.regs.find((r) => r.referenceId === referenceId && !r.deleted);
    if (!reg) throw new Error(`sandbox: unknown referenceId ${referenceId}`);
    if (!(TRANSITIONS[reg.status] ?? []).includes(status)) throw new Error(`sandbox: ${reg.status} -> ${status} is not allowed`);
    this.store.applyStatus(reg, status, reason, username);
  }

  /** An attribute edit made by a 121 user in the portal. */
  portalUpdate(referenceId: string, data: Record<string, unknown>, reason: string | null = null, username = 'portal-user@example.org'): void {
    const reg = this.store.regs.find((r) => r.referenceId === referenceId && !r.deleted);
    if (!reg) throw new Error(`sandbox: unknown referenceId ${referenceId}`);
    const errors = applyUpdate(this.store, this.store.programOf(reg), reg, data, reason, username, true);
    if (errors.length) throw new Error(`sandbox: invalid update of ${errors.length} field(s)`);
  }

  addTransaction(input: { referenceId: string; amount: number; status?: string; paymentId?: number; created?: string }): SandboxTransaction {
    const reg = this.store.regs.find((r) => r.referenceId === input.referenceId);
    if (!reg) throw new Error(`sandbox: unknown referenceId ${input.referenceId}`);
    const now = input.created ?? new Date().toISOString();
    const tx: SandboxTransaction = {
      id: ++this.store.seq.tx,
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
    this.store.ensurePayment(reg.programId, tx.paymentId, now);
    this.store.txs.push(tx);
    if (tx.status === 'success') reg.paymentCount++;
    const fspName = this.store.programOf(reg).fspConfigs.find((c) => c.name === reg.programFspConfigurationName)?.fspName ?? '';
    if (fspName.startsWith('Intersolve-voucher')) {
      this.store.vouchers.push({
        programId: reg.programId,
        registrationId: reg.id,
        paymentId: tx.paymentId,
        transactionId: tx.id,
        amount: tx.amount,
        created: now,
        balanceUsed: false,
        lastRequestedBalance: tx.amount,
        updatedLastRequestedBalance: now,
      });
    }
    return tx;
  }

  /** A payment run of a program (GET /payments lists it even without transactions). */
  addPayment(programId: number, name?: string): SandboxPayment {
    const payment = this.store.ensurePayment(programId, this.store.seq.payment + 1);
    if (name) payment.name = name;
    return payment;
  }

  /** A voucher's balance was (partly) spent: it no longer appears in unused-vouchers. */
  spendVoucher(referenceId: string, paymentId: number): void {
    const reg = this.store.regs.find((r) => r.referenceId === referenceId);
    const v = this.store.vouchers.find((x) => x.registrationId === reg?.id && x.paymentId === paymentId);
    if (!v) throw new Error(`sandbox: no voucher for ${referenceId} in payment ${paymentId}`);
    v.balanceUsed = true;
    v.lastRequestedBalance = 0;
  }

  /** Rows of the exchange-rate table (the cron PUT /api/cronjobs/exchange-rates appends such rows). */
  addExchangeRate(rate: SandboxExchangeRate): void {
    this.store.exchangeRates.push(rate);
  }

  templates(programId?: number): SandboxTemplate[] {
    return this.store.templates.filter((t) => programId === undefined || t.programId === programId);
  }

  reconciliations(): SandboxStore['reconciliations'] {
    return [...this.store.reconciliations];
  }

  setTransactionStatus(id: number, status: string): void {
    const tx = this.store.txs.find((t) => t.id === id);
    if (!tx) throw new Error(`sandbox: unknown transaction ${id}`);
    tx.status = status;
    tx.updated = new Date().toISOString();
  }

  // ---- HTTP -----------------------------------------------------------------------------------------------------

  private buildApp(): express.Express {
    const app = express();
    app.disable('x-powered-by');
    app.set('query parser', 'simple');
    recordRequests(app, this.store);
    app.use(express.json({ limit: '25mb', strict: false }));
    throttleAndFaults(app, this.store);

    const api = express.Router();
    api.get('/health/health', (_req, res) => {
      res.json({ status: 'ok' });
    });
    // Fixed sub-paths before the parameterised ones they would otherwise match.
    for (const mount of [
      mountAuth,
      mountAdmin,
      mountPrograms,
      mountStatus,
      mountMessages,
      mountEvents,
      mountNotes,
      mountRegistrations,
      mountExports,
      mountTransactions,
      mountPayments,
      mountFspConfigurations,
      mountMessageTemplates,
      mountVouchers,
    ]) {
      mount(api, this.store);
    }
    app.use('/api', api);
    app.use('/api', (req: Request, res: Response) => {
      res.status(404).json({ message: `Cannot ${req.method} ${req.originalUrl.split('?')[0]}`, error: 'Not Found', statusCode: 404 });
    });

    app.use('/sandbox', controlRouter(this));

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
      this.store.log?.error({ err: err instanceof Error ? err.message : String(err) }, 'sandbox121 error');
      res.status(500).json({ statusCode: 500, message: 'Internal server error' });
    });
    return app;
  }
}
