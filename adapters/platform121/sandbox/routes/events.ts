/** GET /programs/{programId}/registration-events and GET .../registrations/{registrationId}/activities. */
import type { Request, Response, Router } from 'express';
import { HttpReply, checkIsoDates } from '../http';
import { BEGINNING, NOT_NUMERIC, NO_DATA } from '../reference';
import type { SandboxStore } from '../store';

function activities(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'registration:personal.read');
  const raw = String(req.params.registrationId);
  if (!/^\d+$/.test(raw)) throw new HttpReply(400, NOT_NUMERIC);
  const reg = store.regs.find((r) => r.id === Number(raw) && r.programId === program.id);
  if (!reg) throw new HttpReply(404, { statusCode: 404, message: 'Registration not found' });
  const userId = (username: string) => store.users.find((u) => u.username === username)?.id;
  const data: Array<Record<string, unknown>> = [];
  for (const n of store.noteLog.filter((x) => x.registrationId === reg.id)) {
    data.push({ id: `note-${n.id}`, type: 'note', created: n.created, user: { id: n.userId, username: n.username }, attributes: { text: n.text } });
  }
  for (const e of store.eventLog.filter((x) => x.registrationId === reg.id)) {
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

function registrationEvents(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'registration:personal.export');
  const q = req.query as Record<string, unknown>;
  checkIsoDates(q);
  const from = Date.parse(typeof q.fromDate === 'string' ? q.fromDate : BEGINNING);
  const to = typeof q.toDate === 'string' ? Date.parse(q.toDate) : Date.now();
  const regId = typeof q.referenceId === 'string' ? (store.regs.find((r) => r.referenceId === q.referenceId && r.programId === program.id)?.id ?? -1) : undefined;
  const items = store.eventLog
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
    links: { current: `${store.url}/api/programs/${program.id}/registration-events?page=1&limit=500000&sortBy=id:ASC` },
  });
}

export function mountEvents(api: Router, store: SandboxStore): void {
  api.get('/programs/:programId/registrations/:registrationId/activities', (req, res) => activities(store, req, res));
  api.get('/programs/:programId/registration-events', (req, res) => registrationEvents(store, req, res));
}
