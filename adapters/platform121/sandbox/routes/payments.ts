/**
 * Payments: GET /programs/{id}/payments (newest first, not paginated), GET .../payments/{paymentId}/transactions
 * (nestjs-paginate over the transaction view), POST .../payments/{paymentId}/excel-reconciliation (multipart CSV).
 */
import Papa from 'papaparse';
import express, { type Request, type Response, type Router } from 'express';
import { HttpReply } from '../http';
import { applyFilters, paginate, readPaginateQuery, type Row } from '../paginate';
import type { SandboxProgram } from '../programs';
import { NOT_NUMERIC } from '../reference';
import type { SandboxStore, SandboxTransaction } from '../store';

const TX_COLUMNS = [
  'id',
  'transferValue',
  'userId',
  'created',
  'updated',
  'status',
  'paymentId',
  'registrationId',
  'programFspConfigurationId',
  'programFspConfigurationLabel',
  'programFspConfigurationName',
  'fspName',
  'errorMessage',
  'registrationStatus',
  'registrationReferenceId',
  'registrationProgramId',
  'registrationScope',
];
const MAX_FILE_BYTES = 10_000 * 1034;
const MAX_ROWS = 10_000;

function intParam(raw: unknown): number {
  const s = String(raw);
  if (!/^\d+$/.test(s)) throw new HttpReply(400, NOT_NUMERIC);
  return Number(s);
}

/** One row of the transaction view (transaction-view.entity.ts): exactly these columns. */
export function transactionView(store: SandboxStore, program: SandboxProgram, t: SandboxTransaction): Row | null {
  const reg = store.regs.find((r) => r.id === t.registrationId);
  if (!reg) return null;
  const idx = program.fspConfigs.findIndex((c) => c.name === reg.programFspConfigurationName);
  const fsp = idx >= 0 ? program.fspConfigs[idx] : undefined;
  return {
    id: t.id,
    transferValue: t.amount,
    userId: 1,
    created: t.created,
    updated: t.updated,
    status: t.status,
    paymentId: t.paymentId,
    registrationId: reg.id,
    errorMessage: t.errorMessage,
    programFspConfigurationId: idx >= 0 ? idx + 1 : null,
    programFspConfigurationLabel: fsp?.label ?? null,
    programFspConfigurationName: fsp?.name ?? null,
    fspName: fsp?.fspName ?? null,
    registrationStatus: reg.status,
    registrationProgramId: reg.registrationProgramId,
    registrationReferenceId: reg.referenceId,
    registrationScope: reg.scope,
  };
}

function aggregations(txs: SandboxTransaction[]): Record<string, { count: number; transferValue: number }> {
  const out: Record<string, { count: number; transferValue: number }> = {};
  for (const key of ['success', 'waiting', 'failed', 'pendingApproval', 'approved']) out[key] = { count: 0, transferValue: 0 };
  for (const t of txs) {
    const key = t.status === 'error' ? 'failed' : t.status;
    if (!out[key]) continue;
    out[key].count++;
    out[key].transferValue += t.amount;
  }
  return out;
}

function listPayments(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'payment.read');
  const payments = store.payments.filter((p) => p.programId === program.id).sort((a, b) => b.id - a.id);
  res.json(
    payments.map((p) => ({
      paymentId: p.id,
      name: p.name,
      paymentDate: p.created,
      isPaymentApproved: true,
      approvalsRequired: 1,
      approvalsGiven: 1,
      aggregationsPerStatus: aggregations(store.txs.filter((t) => t.programId === program.id && t.paymentId === p.id)),
    })),
  );
}

function paymentTransactions(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'payment:transaction.read');
  const paymentId = intParam(req.params.paymentId);
  if (!store.payments.some((p) => p.id === paymentId && p.programId === program.id)) {
    throw new HttpReply(404, { statusCode: 404, message: `Payment with ID ${paymentId} not found in program ${program.id}` });
  }
  const query = readPaginateQuery(req.query as Record<string, unknown>);
  if (!req.query.sortBy) query.sortBy = [['id', 'ASC']];
  let rows = store.txs
    .filter((t) => t.programId === program.id && t.paymentId === paymentId)
    .map((t) => transactionView(store, program, t))
    .filter((r): r is Row => r !== null);
  rows = applyFilters(rows, query.filters, (col) => TX_COLUMNS.includes(col));
  if (query.search) {
    const s = query.search.toLowerCase();
    rows = rows.filter((r) => Object.values(r).some((v) => typeof v === 'string' && v.toLowerCase().includes(s)));
  }
  res.json(paginate(rows, query, `${store.url}/api/programs/${program.id}/payments/${paymentId}/transactions`));
}

/** The one file part of a multipart/form-data body (enough of multer for the sandbox). */
function filePart(req: Request): { field: string; fileName: string; content: Buffer } | undefined {
  const type = String(req.headers['content-type'] ?? '');
  const m = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(type);
  if (!m || !Buffer.isBuffer(req.body)) return undefined;
  const boundary = Buffer.from(`--${m[1] ?? m[2]}`);
  const body: Buffer = req.body;
  let start = body.indexOf(boundary);
  while (start >= 0) {
    const next = body.indexOf(boundary, start + boundary.length);
    if (next < 0) break;
    const part = body.subarray(start + boundary.length + 2, next - 2);
    const headEnd = part.indexOf('\r\n\r\n');
    if (headEnd >= 0) {
      const head = part.subarray(0, headEnd).toString('utf8');
      const name = /name="([^"]*)"/i.exec(head)?.[1];
      const fileName = /filename="([^"]*)"/i.exec(head)?.[1];
      if (name !== undefined && fileName !== undefined) return { field: name, fileName, content: part.subarray(headEnd + 4) };
    }
    start = next;
  }
  return undefined;
}

function parseCsv(text: string): { header: string[]; rows: Array<Record<string, string>> } {
  const clean = (h: string) => h.trim().replace(/[^\x20-\x7E]/g, '');
  let parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true, transformHeader: clean });
  if ((parsed.meta.fields ?? []).length <= 1) parsed = Papa.parse<Record<string, string>>(text, { header: true, skipEmptyLines: true, delimiter: ';', transformHeader: clean });
  return { header: parsed.meta.fields ?? [], rows: parsed.data };
}

function reconcile(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'payment.update');
  const paymentId = intParam(req.params.paymentId);
  const part = filePart(req);
  if (part && part.field !== 'file') throw new HttpReply(400, { statusCode: 400, message: 'Unexpected field', error: 'Bad Request' });
  if (part && part.content.length > MAX_FILE_BYTES) throw new HttpReply(413, { statusCode: 413, message: 'File too large', error: 'Payload Too Large' });
  const excel = program.fspConfigs.filter((c) => c.fspName === 'Excel');
  if (excel.length === 0) throw new HttpReply(404, { statusCode: 404, message: 'Configured program does not have an `Excel` FSP configuration' });
  // A missing file part: 121 reads file.originalname of undefined (500).
  if (!part) throw new HttpReply(500, { statusCode: 500, message: 'Internal server error' });
  if (!part.fileName.toLowerCase().endsWith('.csv')) throw new HttpReply(400, ['Wrong file extension. It should be .csv']);
  const { header, rows } = parseCsv(part.content.toString('utf8'));
  if (rows.length === 0) throw new HttpReply(400, { statusCode: 400, message: 'Could not parse CSV file, please check it' });
  if (rows.length > MAX_ROWS) throw new HttpReply(400, [`Too many records. Maximum number of records is ${MAX_ROWS}. You have ${rows.length} records.`]);
  if (!header.includes('status')) throw new HttpReply(400, { statusCode: 400, message: "The status column is missing. Please make sure the column is named 'status'" });
  for (const row of rows) {
    if (row.status !== 'success' && row.status !== 'error') {
      throw new HttpReply(400, { statusCode: 400, message: `Invalid status value '${row.status}'. Allowed values are: success, error` });
    }
    if (row.status === 'success' && row.errorMessage) throw new HttpReply(400, { statusCode: 400, message: 'Error message not allowed when status is success' });
  }
  const matchColumns = [...new Set(excel.map((c) => c.properties?.find((p) => p.name === 'columnToMatch')?.value).filter((v): v is string => typeof v === 'string'))];
  if (matchColumns.length === 0) throw new HttpReply(500, { statusCode: 500, message: 'Internal server error' });
  const present = matchColumns.filter((c) => header.includes(c));
  if (present.length === 0) {
    throw new HttpReply(400, { errors: `No match column found in the import file. Please use one of the following match columns: ${matchColumns.join(', ')}.` });
  }
  if (present.length > 1) throw new HttpReply(400, { errors: `Multiple match columns found in the import file: ${present.join(', ')}. Please use only one.` });
  const column = present[0];
  const values = rows.map((r) => r[column]);
  if (new Set(values).size < values.length) throw new HttpReply(400, { errors: `The match column '${column}' contains duplicate values.` });
  const txs = store.txs.filter((t) => t.programId === program.id && t.paymentId === paymentId);
  const found: Array<{ row: Record<string, string>; tx: SandboxTransaction; referenceId: string; config: string }> = [];
  const notFound: Array<Record<string, string>> = [];
  for (const row of rows) {
    const tx = txs.find((t) => {
      const reg = store.regs.find((r) => r.id === t.registrationId);
      return reg !== undefined && String(reg.attributes[column] ?? '') === row[column];
    });
    const reg = tx ? store.regs.find((r) => r.id === tx.registrationId) : undefined;
    if (tx && reg) found.push({ row, tx, referenceId: reg.referenceId, config: reg.programFspConfigurationName });
    else notFound.push(row);
  }
  if (found.length === 0) throw new HttpReply(400, { statusCode: 400, message: 'No matches found in relation to imported reconciliation' });
  if (new Set(found.map((f) => f.config)).size > 1) {
    throw new HttpReply(400, { statusCode: 400, message: 'Expected imported reconciliation to be related only to one FSP configuration, but found multiple' });
  }
  const now = store.now();
  const importResult: Array<Record<string, unknown>> = [];
  let success = 0;
  let failed = 0;
  for (const f of found) {
    f.tx.status = f.row.status;
    f.tx.errorMessage = f.row.status === 'error' ? (f.row.errorMessage ?? null) : null;
    f.tx.updated = now;
    if (f.row.status === 'success') success++;
    else failed++;
    importResult.push({ [column]: f.row[column], importStatus: f.row.status === 'success' ? 'paymentSuccess' : 'paymentFailed', referenceId: f.referenceId });
  }
  for (const row of notFound) importResult.push({ [column]: row[column], importStatus: 'notFound', referenceId: null });
  store.reconciliations.push({ programId: program.id, paymentId, fileName: part.fileName, rows: rows.length });
  res.status(201).json({ importResult, aggregateImportResult: { countPaymentSuccess: success, countPaymentFailed: failed, countNotFound: notFound.length } });
}

export function mountPayments(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId/payments', (req, res) => listPayments(store, req, res));
  api.get('/programs/:programId/payments/:paymentId/transactions', (req, res) => paymentTransactions(store, req, res));
  api.post(
    '/programs/:programId/payments/:paymentId/excel-reconciliation',
    express.raw({ type: 'multipart/form-data', limit: MAX_FILE_BYTES * 2 }),
    (req, res) => reconcile(store, req, res),
  );
}
