/**
 * POST /programs/{programId}/registrations/message?filter...[&dryRun=true] {message | messageTemplateKey}: 202 with
 * the counts, then one message per targeted registration, asynchronously. With no filter it targets the whole program.
 */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import { readPaginateQuery } from '../paginate';
import type { SandboxStore } from '../store';

function sendMessage(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const user = store.requirePermission(req, program, 'registration:notification.create');
  const query = readPaginateQuery(req.query as Record<string, unknown>);
  const attributeFilter = Object.keys(query.filters).find((col) => program.attributes.some((a) => a.name === col));
  if (attributeFilter && !user.assignments.get(program.id)?.has('registration:personal.read')) {
    throw new HttpReply(403, { statusCode: 403, message: `You do not have permission registration:personal.read. Not allowed to use filter paramter: ${attributeFilter}` });
  }
  const body = isRecord(req.body) ? req.body : {};
  const dryRun = String(req.query.dryRun) === 'true';
  if (body.skipMessageValidation === true && !dryRun) throw new HttpReply(400, { statusCode: 400, message: 'skipping Message Validation is only allowed in dryRun case' });
  const hasMessage = typeof body.message === 'string' && body.message !== '';
  const hasKey = typeof body.messageTemplateKey === 'string' && body.messageTemplateKey !== '';
  if (body.skipMessageValidation !== true) {
    if (hasMessage && hasKey) throw new HttpReply(400, validationBody([cvError('message', body.message, { IsNotBothPresent: 'Only one of message or messageTemplateKey can be present' }, body)]));
    if (!hasMessage && !hasKey) throw new HttpReply(400, validationBody([cvError('message', body.message, { IsNotBothEmpty: 'message and messageTemplateKey cannot both be empty' }, body)]));
  }
  if (hasKey && !store.templates.some((t) => t.programId === program.id && t.type === body.messageTemplateKey)) {
    throw new HttpReply(404, { statusCode: 404, message: `Message template with key ${String(body.messageTemplateKey)} not found` });
  }
  const targets = store.bulkTargets(req, program);
  const result = { totalFilterCount: targets.length, applicableCount: targets.length, nonApplicableCount: 0 };
  if (dryRun) {
    res.status(200).json(result);
    return;
  }
  res.status(202).json(result);
  const message = hasMessage ? String(body.message) : null;
  const messageTemplateKey = hasKey ? String(body.messageTemplateKey) : null;
  store.later(() => {
    for (const reg of targets) {
      if (reg.deleted) continue;
      store.messageLog.push({ programId: program.id, referenceId: reg.referenceId, message, messageTemplateKey, created: store.now() });
    }
  });
}

/** Mount before the registration routes (":referenceId" would not match a POST, but keep fixed paths first). */
export function mountMessages(api: Router, store: SandboxStore): void {
  api.post('/programs/:programId/registrations/message', (req, res) => sendMessage(store, req, res));
}
