/** /notifications/{programId}/message-templates: GET, POST (201 empty), PATCH /{type}/{language} (200 entity). */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import type { SandboxProgram } from '../programs';
import { CONTENT_SID_TYPES } from '../reference';
import type { SandboxStore, SandboxTemplate } from '../store';

/** ISO 639-1 codes (RegistrationPreferredLanguage); every two-letter code Intl knows. */
function isLanguage(v: unknown): v is string {
  if (typeof v !== 'string' || !/^[a-z]{2}$/.test(v)) return false;
  return new Intl.DisplayNames(['en'], { type: 'language', fallback: 'none' }).of(v) !== undefined;
}

function placeholderError(program: SandboxProgram, message: string): string | undefined {
  const allowed = new Set([...program.attributes.map((a) => a.name), 'paymentAmountMultiplier', 'programFspConfigurationLabel']);
  if (program.enableMaxPayments) for (const k of ['maxPayments', 'paymentCountRemaining']) allowed.add(k);
  for (const m of message.matchAll(/\{\{([^}]*)\}\}/g)) if (!allowed.has(m[1])) return `Placeholder {{${m[1]}}} not found in program ${program.id}`;
  return undefined;
}

/** The message/contentSid rule, applied to the body (so a PATCH must carry them too). */
function contentRule(program: SandboxProgram, type: string, body: Record<string, unknown>): void {
  if (CONTENT_SID_TYPES.includes(type)) {
    if (typeof body.contentSid !== 'string' || !body.contentSid) throw new HttpReply(400, { errors: `Content SID is required for message types: ${CONTENT_SID_TYPES.join(', ')}` });
    return;
  }
  if (body.contentSid !== undefined && body.contentSid !== null) {
    throw new HttpReply(400, { errors: `Content SID is not allowed for messages that are not of type: ${CONTENT_SID_TYPES.join(', ')}` });
  }
  if (typeof body.message !== 'string' || !body.message) throw new HttpReply(400, { errors: `Message is required for message type '${type}'` });
  const placeholder = placeholderError(program, body.message);
  if (placeholder) throw new HttpReply(400, { errors: placeholder });
}

function list(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'program.read');
  res.json(store.templates.filter((t) => t.programId === program.id));
}

function create(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'program.update');
  const body = isRecord(req.body) ? req.body : {};
  const errors: Array<Record<string, unknown>> = [];
  if (typeof body.type !== 'string' || body.type.length < 1 || body.type.length > 255) errors.push(cvError('type', body.type, { isLength: 'type must be longer than or equal to 1 characters' }, body));
  if (!isLanguage(body.language)) errors.push(cvError('language', body.language, { isEnum: 'language must be one of the following values: ...' }, body));
  if (typeof body.isSendMessageTemplate !== 'boolean') errors.push(cvError('isSendMessageTemplate', body.isSendMessageTemplate, { isBoolean: 'isSendMessageTemplate must be a boolean value' }, body));
  if (body.isSendMessageTemplate === true && !isRecord(body.label)) errors.push(cvError('label', body.label, { isNotEmpty: 'label should not be empty' }, body));
  if (errors.length) throw new HttpReply(400, validationBody(errors));
  const type = String(body.type);
  const language = String(body.language);
  contentRule(program, type, body);
  if (store.templates.some((t) => t.programId === program.id && t.type === type && t.language === language)) {
    throw new HttpReply(400, { errors: `Message template with type '${type}' and language '${language}' already exists in program ${program.id}` });
  }
  const now = store.now();
  store.templates.push({
    id: ++store.seq.template,
    created: now,
    updated: now,
    type,
    label: isRecord(body.label) ? Object.fromEntries(Object.entries(body.label).map(([k, v]) => [k, String(v)])) : null,
    language,
    message: typeof body.message === 'string' ? body.message : null,
    contentSid: typeof body.contentSid === 'string' ? body.contentSid : null,
    isSendMessageTemplate: body.isSendMessageTemplate === true,
    programId: program.id,
  });
  res.status(201).end();
}

function update(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'program.update');
  const type = String(req.params.type);
  const language = String(req.params.language);
  if (!isLanguage(language)) throw new HttpReply(400, validationBody([cvError('language', language, { isEnum: 'language must be one of the following values: ...' }, req.params)]));
  const body = isRecord(req.body) ? req.body : {};
  const template = store.templates.find((t) => t.programId === program.id && t.type === type && t.language === language);
  if (!template) throw new HttpReply(404, { errors: `No message template found with type '${type}' and language '${language}' in program ${program.id}` });
  contentRule(program, type, body);
  const t: SandboxTemplate = template;
  if (typeof body.message === 'string') t.message = body.message;
  if (typeof body.contentSid === 'string') t.contentSid = body.contentSid;
  if (typeof body.isSendMessageTemplate === 'boolean') t.isSendMessageTemplate = body.isSendMessageTemplate;
  if (isRecord(body.label)) t.label = Object.fromEntries(Object.entries(body.label).map(([k, v]) => [k, String(v)]));
  t.updated = store.now();
  res.status(200).json(t);
}

export function mountMessageTemplates(api: Router, store: SandboxStore): void {
  api.get('/notifications/:programId/message-templates', (req, res) => list(store, req, res));
  api.post('/notifications/:programId/message-templates', (req, res) => create(store, req, res));
  api.patch('/notifications/:programId/message-templates/:type/:language', (req, res) => update(store, req, res));
}
