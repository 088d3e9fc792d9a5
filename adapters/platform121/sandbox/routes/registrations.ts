/** POST/GET/DELETE /programs/{programId}/registrations, GET .../registrations/{id}, PATCH .../registrations/{referenceId}. */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import { applyFilters, paginate, readPaginateQuery } from '../paginate';
import { FORBIDDEN, NOT_NUMERIC, TRANSITIONS } from '../reference';
import type { SandboxStore } from '../store';
import { UNCHANGED, applyUpdate, insertRows, validateRows } from '../validation';

function importRegistrations(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const user = store.requirePermission(req, program, 'registration.create');
  if (!Array.isArray(req.body)) {
    throw new HttpReply(400, { statusCode: 400, message: 'Validation failed (parsable array expected)', error: 'Bad Request' });
  }
  const rows: unknown[] = req.body;
  // ParseArrayPipe with ImportRegistrationsDto items.
  const messages: string[] = [];
  const records: Array<Record<string, unknown>> = [];
  rows.forEach((row, i) => {
    if (!isRecord(row)) {
      messages.push(`[${i}] each value must be an object`);
      return;
    }
    records.push(row);
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
  const refs = records.map((r) => r.referenceId).filter((r): r is string => typeof r === 'string');
  if (new Set(refs).size < refs.length) throw new HttpReply(400, { statusCode: 400, message: 'Duplicate referenceIds in import set' });
  const { errors, cleaned } = validateRows(store, program, records);
  if (errors.length) throw new HttpReply(400, errors);
  insertRows(store, program, cleaned, user.username);
  res.status(201).json({ aggregateImportResult: { countImported: cleaned.length } });
}

function listRegistrations(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'registration.read');
  const query = readPaginateQuery(req.query as Record<string, unknown>);
  let rows = applyFilters(store.liveViews(program), query.filters, store.filterable(program));
  if (query.search) {
    const s = query.search.toLowerCase();
    rows = rows.filter((r) => Object.values(r).some((v) => typeof v === 'string' && v.toLowerCase().includes(s)));
  }
  res.json(paginate(rows, query, `${store.url}/api/programs/${program.id}/registrations`));
}

function getRegistration(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'registration.read');
  const raw = String(req.params.id);
  if (!/^\d+$/.test(raw)) throw new HttpReply(400, NOT_NUMERIC);
  const reg = store.regs.find((r) => r.id === Number(raw) && r.programId === program.id && !r.deleted);
  if (!reg) throw new HttpReply(404, { statusCode: 404, message: 'Registration not found' });
  res.json(store.view(reg));
}

function updateRegistration(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const user = store.requirePermission(req, program, 'registration:attribute.update');
  const body = isRecord(req.body) ? req.body : {};
  if (!isRecord(body.data) || Object.keys(body.data).length === 0) {
    throw new HttpReply(400, validationBody([cvError('data', body.data, { isNotEmpty: 'data should not be empty', isObject: 'data must be an object' }, body)]));
  }
  if (body.reason !== undefined && body.reason !== null && typeof body.reason !== 'string') {
    throw new HttpReply(400, validationBody([cvError('reason', body.reason, { isString: 'reason must be a string' }, body)]));
  }
  const ref = String(req.params.referenceId);
  const reg = store.regs.find((r) => r.referenceId === ref && r.programId === program.id && !r.deleted);
  if (!reg) throw new HttpReply(404, { statusCode: 404, message: `The following referenceIds were not found in the database: ${ref}` });
  const data = body.data;
  const perms = user.assignments.get(program.id) ?? new Set<string>();
  if (('paymentAmountMultiplier' in data || 'maxPayments' in data) && !perms.has('registration:attribute:financial.update')) {
    throw new HttpReply(403, FORBIDDEN);
  }
  if ('programFspConfigurationName' in data && !perms.has('registration:fsp-config.update')) throw new HttpReply(403, FORBIDDEN);
  const reason = typeof body.reason === 'string' ? body.reason : null;
  const errors = applyUpdate(store, program, reg, data, reason, user.username, false);
  if (errors.length) throw new HttpReply(400, { statusCode: 400, message: errors.join(', ') });
  const applied = applyUpdate(store, program, reg, data, reason, user.username, true);
  if (applied[0] === UNCHANGED) {
    res.status(200).end();
    return;
  }
  res.status(200).json(store.view(reg));
}

function deleteRegistrations(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const user = store.requirePermission(req, program, 'registration.delete');
  const body = isRecord(req.body) ? req.body : {};
  const targets = store.bulkTargets(req, program);
  const applicable = targets.filter((r) => (TRANSITIONS[r.status] ?? []).includes('deleted'));
  res.status(202).json({ totalFilterCount: targets.length, applicableCount: applicable.length, nonApplicableCount: targets.length - applicable.length });
  const reason = typeof body.reason === 'string' ? body.reason : null;
  store.later(() => {
    for (const reg of applicable) if (!reg.deleted) store.applyStatus(reg, 'deleted', reason, user.username);
  });
}

/** Mount after the routes of fixed sub-paths (status, message), which would otherwise match :referenceId. */
export function mountRegistrations(api: Router, store: SandboxStore): void {
  api.post('/programs/:programId/registrations', (req, res) => importRegistrations(store, req, res));
  api.get('/programs/:programId/registrations', (req, res) => listRegistrations(store, req, res));
  api.delete('/programs/:programId/registrations', (req, res) => deleteRegistrations(store, req, res));
  api.get('/programs/:programId/registrations/:id', (req, res) => getRegistration(store, req, res));
  api.patch('/programs/:programId/registrations/:referenceId', (req, res) => updateRegistration(store, req, res));
}
