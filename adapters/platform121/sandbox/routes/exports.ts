/**
 * GET /programs/{programId}/metrics/export-list/{exportType}?format=json: {data, fileName}, not paginated; filters,
 * select and search apply only to `registrations`. GET .../metrics/program-stats-summary.
 */
import type { Request, Response, Router } from 'express';
import { HttpReply } from '../http';
import { applyFilters, readPaginateQuery, selectFields, type Row } from '../paginate';
import { EXPORT_TYPES, NO_DATA } from '../reference';
import type { SandboxStore } from '../store';

function exportList(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const user = store.requirePermission(req, program, 'registration:personal.export');
  const exportType = String(req.params.exportType);
  const extra = EXPORT_TYPES[exportType];
  if (!extra) {
    throw new HttpReply(400, { statusCode: 400, message: `Invalid export type: ${exportType}. Valid types are: ${Object.keys(EXPORT_TYPES).join(', ')}` });
  }
  if (!user.assignments.get(program.id)?.has(extra)) {
    throw new HttpReply(403, { statusCode: 403, message: "Forbidden! User doesn't have enough permission to export requested data." });
  }
  let rows: Row[] = [];
  if (exportType === 'registrations') {
    const query = readPaginateQuery(req.query as Record<string, unknown>);
    rows = applyFilters(store.liveViews(program), query.filters, store.filterable(program)).map((r) => selectFields(r, query.select));
  } else if (exportType === 'unused-vouchers') {
    rows = store.vouchers
      .filter((v) => v.programId === program.id && !v.balanceUsed && v.lastRequestedBalance === v.amount)
      .flatMap((v) => {
        const reg = store.regs.find((r) => r.id === v.registrationId && !r.deleted);
        if (!reg) return [];
        const row: Row = { referenceId: reg.referenceId, paymentId: v.paymentId, issueDate: v.created };
        if (reg.attributes.whatsappPhoneNumber) row.whatsappPhoneNumber = String(reg.attributes.whatsappPhoneNumber);
        if (v.updatedLastRequestedBalance) row.lastExternalUpdate = v.updatedLastRequestedBalance;
        return [row];
      });
  } else if (exportType === 'vouchers-with-balance') {
    rows = store.vouchers
      .filter((v) => v.programId === program.id && v.lastRequestedBalance > 0)
      .flatMap((v) => {
        const reg = store.regs.find((r) => r.id === v.registrationId && !r.deleted);
        return reg ? [{ referenceId: reg.referenceId, paymentId: v.paymentId, issueDate: v.created, lastRequestedBalance: v.lastRequestedBalance }] : [];
      });
  }
  if (rows.length === 0) throw new HttpReply(404, NO_DATA);
  const fileName = exportType === 'registrations' ? `registrations-list-${new Date().toISOString().slice(0, 10)}` : exportType;
  res.json({ fileName, data: rows });
}

function programStats(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'program:metrics.read');
  const live = store.regs.filter((r) => r.programId === program.id);
  const count = (pred: (status: string) => boolean) => live.filter((r) => pred(r.status)).length;
  const cashDisbursed = store.txs
    .filter((t) => t.programId === program.id && (t.status === 'success' || t.status === 'waiting'))
    .reduce((sum, t) => sum + t.amount, 0);
  res.json({
    programId: program.id,
    targetedPeople: program.targetNrRegistrations ?? null,
    includedPeople: count((s) => s === 'included'),
    newPeople: count((s) => s === 'new'),
    registeredPeople: count((s) => s !== 'declined' && s !== 'deleted'),
    totalBudget: program.budget ?? null,
    cashDisbursed,
  });
}

export function mountExports(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId/metrics/export-list/:exportType', (req, res) => exportList(store, req, res));
  api.get('/programs/:programId/metrics/program-stats-summary', (req, res) => programStats(store, req, res));
}

