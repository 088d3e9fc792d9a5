/** GET /programs/{programId}/transactions?fromDate=&toDate=&paymentId=&format=json: {data, fileName}. */
import type { Request, Response, Router } from 'express';
import { HttpReply, checkIsoDates } from '../http';
import { NO_DATA } from '../reference';
import type { SandboxStore } from '../store';

function listTransactions(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'payment:transaction.read');
  const q = req.query as Record<string, unknown>;
  checkIsoDates(q);
  const from = typeof q.fromDate === 'string' ? Date.parse(q.fromDate) : -Infinity;
  const to = typeof q.toDate === 'string' ? Date.parse(q.toDate) : Infinity;
  const paymentId = q.paymentId === undefined ? undefined : Number(q.paymentId);
  const rows = store.txs
    .filter((t) => t.programId === program.id && (paymentId === undefined || t.paymentId === paymentId))
    .filter((t) => {
      const c = Date.parse(t.created);
      return c >= from && c <= to;
    })
    .flatMap((t) => {
      const reg = store.regs.find((r) => r.id === t.registrationId);
      if (!reg) return [];
      const fsp = program.fspConfigs.find((c) => c.name === reg.programFspConfigurationName);
      return [
        {
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
          registrationName: store.fullName(program, reg),
          registrationStatus: reg.status,
          paymentCount: reg.paymentCount,
          programFspConfigurationName: reg.programFspConfigurationName,
          fspName: fsp?.fspName ?? null,
        },
      ];
    });
  if (rows.length === 0) throw new HttpReply(404, NO_DATA);
  res.json({ data: rows, fileName: `transactions_${program.id}_${new Date().toISOString().slice(0, 10)}` });
}

export function mountTransactions(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId/transactions', (req, res) => listTransactions(store, req, res));
}
