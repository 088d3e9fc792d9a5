/** /sandbox/*: not part of 121; lets a demo act as a portal user and inspect the peer. */
import express, { type Request, type Response } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply } from './http';
import type { SandboxStore } from './store';

/** What the control endpoints use of the sandbox (Sandbox121 has it; a type of its own keeps server.ts out of a cycle). */
export interface SandboxControl {
  readonly store: SandboxStore;
  registrations(programId?: number): unknown;
  registration(referenceId: string): unknown;
  notes(referenceId: string): unknown;
  events(filter: { programId?: number }): unknown;
  transactions(): ReadonlyArray<{ id: number }>;
  portalChangeStatus(referenceId: string, status: string, reason?: string | null, username?: string): void;
  portalUpdate(referenceId: string, data: Record<string, unknown>, reason?: string | null, username?: string): void;
  addTransaction(input: { referenceId: string; amount: number; status?: string; paymentId?: number }): unknown;
  setTransactionStatus(id: number, status: string): void;
  reset(): void;
}

export function controlRouter(sb: SandboxControl): express.Router {
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
    const s = sb.store;
    res.json({
      programs: [...s.programs.keys()],
      registrations: s.regs.filter((x) => !x.deleted).length,
      events: s.eventLog.length,
      notes: s.noteLog.length,
      transactions: s.txs.length,
      logins: s.logins,
      unfilteredBulkActions: s.unfilteredBulkActions,
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
    res.json(sb.registrations(Number(req.params.programId)));
  });
  r.get('/programs/:programId/events', (req, res) => {
    res.json(sb.events({ programId: Number(req.params.programId) }));
  });
  r.get('/registrations/:referenceId/notes', (req, res) => {
    res.json(sb.notes(String(req.params.referenceId)));
  });
  r.post(
    '/programs/:programId/registrations/:referenceId/status',
    wrap((req, res) => {
      const body = isRecord(req.body) ? req.body : {};
      sb.portalChangeStatus(
        String(req.params.referenceId),
        String(body.status),
        typeof body.reason === 'string' ? body.reason : null,
        typeof body.username === 'string' ? body.username : undefined,
      );
      res.json(sb.registration(String(req.params.referenceId)));
    }),
  );
  r.post(
    '/programs/:programId/registrations/:referenceId/attributes',
    wrap((req, res) => {
      const body = isRecord(req.body) ? req.body : {};
      sb.portalUpdate(
        String(req.params.referenceId),
        isRecord(body.data) ? body.data : {},
        typeof body.reason === 'string' ? body.reason : null,
        typeof body.username === 'string' ? body.username : undefined,
      );
      res.json(sb.registration(String(req.params.referenceId)));
    }),
  );
  r.post(
    '/programs/:programId/transactions',
    wrap((req, res) => {
      const body = isRecord(req.body) ? req.body : {};
      const tx = sb.addTransaction({
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
      sb.setTransactionStatus(Number(req.params.id), String(body.status));
      res.json(sb.transactions().find((t) => t.id === Number(req.params.id)));
    }),
  );
  r.post('/reset', (_req, res) => {
    sb.reset();
    res.status(202).json({ reset: true });
  });
  return r;
}
