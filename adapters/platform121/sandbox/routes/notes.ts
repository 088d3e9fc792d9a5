/** POST /programs/{programId}/registrations/{referenceId}/notes {text}: 201 with an empty body. */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import type { SandboxStore } from '../store';

function postNote(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const user = store.requirePermission(req, program, 'registration:personal.update');
  const body = isRecord(req.body) ? req.body : {};
  if (typeof body.text !== 'string' || !body.text.trim()) {
    throw new HttpReply(400, validationBody([cvError('text', body.text, { isNotEmpty: 'text should not be empty', isString: 'text must be a string' }, body)]));
  }
  const ref = String(req.params.referenceId);
  const reg = store.regs.find((r) => r.referenceId === ref && r.programId === program.id && !r.deleted);
  if (!reg) throw new HttpReply(404, { errors: `ReferenceId ${ref} is not known in this program (within your scope).` });
  store.noteLog.push({
    id: ++store.seq.note,
    programId: program.id,
    registrationId: reg.id,
    referenceId: reg.referenceId,
    text: body.text,
    userId: user.id,
    username: user.username,
    created: store.now(),
  });
  res.status(201).end();
}

export function mountNotes(api: Router, store: SandboxStore): void {
  api.post('/programs/:programId/registrations/:referenceId/notes', (req, res) => postNote(store, req, res));
}
