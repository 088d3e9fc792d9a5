/** GET /programs/{programId}/metrics/export-list/{exportType}?format=json: {data, fileName}, not paginated. */
import type { Request, Response, Router } from 'express';
import { HttpReply, cvError, validationBody } from '../http';
import { applyFilters, readPaginateQuery, selectFields } from '../paginate';
import { NO_DATA } from '../reference';
import type { SandboxStore } from '../store';

function exportList(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const exportType = String(req.params.exportType);
  const types = ['registrations', 'unused-vouchers', 'vouchers-with-balance', 'intersolve-visa-card-details'];
  if (!types.includes(exportType)) {
    throw new HttpReply(400, validationBody([cvError('exportType', exportType, { isEnum: `exportType must be one of the following values: ${types.join(', ')}` }, req.params)]));
  }
  store.requirePermission(req, program, 'registration:personal.export');
  if (exportType !== 'registrations') throw new HttpReply(404, NO_DATA);
  const query = readPaginateQuery(req.query as Record<string, unknown>);
  const rows = applyFilters(store.liveViews(program), query.filters, store.filterable(program)).map((r) => selectFields(r, query.select));
  if (rows.length === 0) throw new HttpReply(404, NO_DATA);
  res.json({ data: rows, fileName: `registrations-list-${new Date().toISOString().slice(0, 10)}` });
}

export function mountExports(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId/metrics/export-list/:exportType', (req, res) => exportList(store, req, res));
}
