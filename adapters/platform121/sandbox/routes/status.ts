/** PATCH /programs/{programId}/registrations/status?filter...: 202 then an asynchronous apply; dryRun 200. */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import { API_SETTABLE, FORBIDDEN, STATUS_ENUM, STATUS_PERMISSION, TRANSITIONS } from '../reference';
import type { SandboxStore } from '../store';

function patchStatus(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const user = store.authenticated(req);
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
  const targets = store.bulkTargets(req, program);
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
  store.later(() => {
    for (const reg of applicable) {
      if (!(TRANSITIONS[reg.status] ?? []).includes(status) || reg.deleted) continue;
      store.applyStatus(reg, status, reason, user.username);
      if (message || messageTemplateKey) {
        store.messageLog.push({ programId: program.id, referenceId: reg.referenceId, message, messageTemplateKey, created: store.now() });
      }
    }
  });
}

export function mountStatus(api: Router, store: SandboxStore): void {
  api.patch('/programs/:programId/registrations/status', (req, res) => patchStatus(store, req, res));
}
