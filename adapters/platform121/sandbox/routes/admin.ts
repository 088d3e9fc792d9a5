/**
 * Organisation-level endpoints: GET /exchange-rates (isAdmin), GET /users and POST /programs (isOrganizationAdmin),
 * PUT /programs/{programId}/users/{userId} (aid-worker:program.update), PATCH
 * /programs/{programId}/registration-attributes/{name} (program:registration-attributes.update).
 */
import type { Request, Response, Router } from 'express';
import { isRecord } from 'caseway/core';
import { HttpReply, cvError, validationBody } from '../http';
import type { SandboxAttribute, SandboxProgram } from '../programs';
import { ALL_PERMISSIONS, ATTRIBUTE_TYPES, FORBIDDEN, FORBIDDEN_ATTRIBUTE_NAMES, NOT_NUMERIC, ROLES } from '../reference';
import type { SandboxStore } from '../store';

const CURRENCY = /^[A-Z]{3}$/;

function exchangeRates(store: SandboxStore, req: Request, res: Response): void {
  store.requireAdmin(req);
  res.json(store.exchangeRates.map((r) => ({ currency: r.currency, euroExchangeRate: r.euroExchangeRate, closeTime: r.closeTime })));
}

function users(store: SandboxStore, req: Request, res: Response): void {
  store.requireAdmin(req);
  res.json(
    store.users.map((u) => ({
      id: u.id,
      username: u.username,
      admin: u.admin,
      active: u.active ?? true,
      lastLogin: u.lastLogin ?? null,
      displayName: u.displayName ?? u.username.split('@')[0],
      isOrganizationAdmin: u.admin,
    })),
  );
}

function assignUser(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  const me = store.requirePermission(req, program, 'aid-worker:program.update');
  const raw = String(req.params.userId);
  if (!/^\d+$/.test(raw)) throw new HttpReply(400, NOT_NUMERIC);
  const userId = Number(raw);
  const body = isRecord(req.body) ? req.body : {};
  const errors: Array<Record<string, unknown>> = [];
  if (!Array.isArray(body.roles) || !body.roles.every((r) => typeof r === 'string')) errors.push(cvError('roles', body.roles, { isArray: 'roles must be an array' }, body));
  if (body.scope !== undefined && typeof body.scope !== 'string') errors.push(cvError('scope', body.scope, { isString: 'scope must be a string' }, body));
  if (errors.length) throw new HttpReply(400, validationBody(errors));
  if (userId === me.id) throw new HttpReply(403, { statusCode: 403, message: 'You cannot update your own program assignment' });
  const user = store.users.find((u) => u.id === userId);
  if (!user) throw new HttpReply(404, { errors: { User: `user with userId ${userId} not found` } });
  const roles: string[] = Array.isArray(body.roles) ? body.roles.map(String) : [];
  const unknown = roles.filter((r) => !ROLES[r]);
  if (unknown.length) throw new HttpReply(404, { errors: { Roles: ` not found` } });
  const scope = typeof body.scope === 'string' ? body.scope.toLowerCase() : '';
  user.roles ??= new Map();
  user.roles.set(program.id, { roles, scope });
  // The sandbox grants every permission for admin/program-admin and read permissions otherwise.
  const perms = roles.some((r) => r === 'admin' || r === 'program-admin') ? ALL_PERMISSIONS : ['registration.read', 'program.read'];
  user.assignments.set(program.id, new Set(roles.length ? perms : []));
  res.status(200).json({
    programId: program.id,
    userId,
    scope,
    roles: roles.map((r, i) => ({ id: Object.keys(ROLES).indexOf(r) + 1 || i + 1, role: r, label: ROLES[r], description: null })),
  });
}

function attributeEntity(program: SandboxProgram, a: SandboxAttribute, index: number): Record<string, unknown> {
  return {
    id: index + 1,
    created: '2026-01-01T00:00:00.000Z',
    updated: '2026-01-01T00:00:00.000Z',
    name: a.name,
    label: { en: a.label ?? a.name, ...(isRecord(a.extra?.label) ? a.extra?.label : {}) },
    koboLabel: null,
    type: a.type,
    isRequired: a.isRequired ?? false,
    placeholder: a.extra?.placeholder ?? null,
    options: a.options ? a.options.map((o) => ({ option: o, label: { en: o } })) : null,
    scoring: a.extra?.scoring ?? {},
    programId: program.id,
    includeInTransactionExport: a.extra?.includeInTransactionExport ?? false,
    pattern: a.extra?.pattern ?? null,
    duplicateCheck: a.extra?.duplicateCheck ?? false,
    showInPeopleAffectedTable: a.extra?.showInPeopleAffectedTable ?? false,
    editableInPortal: a.extra?.editableInPortal ?? true,
  };
}

function updateAttribute(store: SandboxStore, req: Request, res: Response): void {
  const program = store.programParam(req);
  store.requirePermission(req, program, 'program:registration-attributes.update');
  const name = String(req.params.programRegistrationAttributeName);
  const body = isRecord(req.body) ? req.body : {};
  const errors: Array<Record<string, unknown>> = [];
  if (body.type !== undefined && !ATTRIBUTE_TYPES.includes(String(body.type))) errors.push(cvError('type', body.type, { isIn: `type must be one of the following values: ${ATTRIBUTE_TYPES.join(', ')}` }, body));
  for (const key of ['isRequired', 'includeInTransactionExport']) {
    if (body[key] !== undefined && typeof body[key] !== 'boolean') errors.push(cvError(key, body[key], { isBoolean: `${key} must be a boolean value` }, body));
  }
  if (body.type === 'dropdown' && !Array.isArray(body.options)) errors.push(cvError('options', body.options, { isArray: 'options must be an array' }, body));
  if (errors.length) throw new HttpReply(400, validationBody(errors));
  const index = program.attributes.findIndex((a) => a.name === name);
  if (index < 0) throw new HttpReply(404, { errors: `No programRegistrationAttribute found with name ${name} for program ${program.id}` });
  const att = program.attributes[index];
  const extra: Record<string, unknown> = { ...(att.extra ?? {}) };
  for (const key of ['label', 'scoring', 'pattern', 'showInPeopleAffectedTable', 'editableInPortal', 'duplicateCheck', 'includeInTransactionExport', 'placeholder']) {
    if (key in body) extra[key] = body[key];
  }
  if (isRecord(body.label) && typeof body.label.en === 'string') att.label = body.label.en;
  if (typeof body.type === 'string') att.type = body.type as SandboxAttribute['type'];
  if (typeof body.isRequired === 'boolean') att.isRequired = body.isRequired;
  if (Array.isArray(body.options)) att.options = body.options.map((o) => (isRecord(o) ? String(o.option) : String(o)));
  att.extra = extra;
  res.status(200).json(attributeEntity(program, att, index));
}

function createProgram(store: SandboxStore, req: Request, res: Response): void {
  const user = store.authenticated(req);
  if (!user.admin) throw new HttpReply(403, FORBIDDEN);
  const body = isRecord(req.body) ? req.body : {};
  const errors: Array<Record<string, unknown>> = [];
  if (!isRecord(body.titlePortal)) errors.push(cvError('titlePortal', body.titlePortal, { isNotEmpty: 'titlePortal should not be empty' }, body));
  if (typeof body.currency !== 'string' || !CURRENCY.test(body.currency)) errors.push(cvError('currency', body.currency, { isEnum: 'currency must be one of the following values: ...' }, body));
  const rawAttributes = body.programRegistrationAttributes === undefined ? [] : body.programRegistrationAttributes;
  if (!Array.isArray(rawAttributes)) errors.push(cvError('programRegistrationAttributes', rawAttributes, { isArray: 'programRegistrationAttributes must be an array' }, body));
  for (const key of ['startDate', 'endDate']) {
    if (body[key] !== undefined && (typeof body[key] !== 'string' || Number.isNaN(Date.parse(String(body[key]))))) errors.push(cvError(key, body[key], { isDateString: `${key} must be a valid ISO 8601 date string` }, body));
  }
  // HttpException(errors, 400): a bare array of ValidationError objects.
  if (errors.length) throw new HttpReply(400, errors);
  const attributes: SandboxAttribute[] = [];
  for (const a of Array.isArray(rawAttributes) ? rawAttributes : []) {
    if (!isRecord(a) || typeof a.name !== 'string' || !ATTRIBUTE_TYPES.includes(String(a.type))) {
      throw new HttpReply(400, [cvError('programRegistrationAttributes', a, { isValid: 'each attribute needs a name and a type' }, body)]);
    }
    attributes.push({
      name: a.name,
      type: a.type as SandboxAttribute['type'],
      isRequired: a.isRequired === true,
      label: isRecord(a.label) && typeof a.label.en === 'string' ? a.label.en : a.name,
      options: Array.isArray(a.options) ? a.options.map((o) => (isRecord(o) ? String(o.option) : String(o))) : undefined,
    });
  }
  const naming = Array.isArray(body.fullnameNamingConvention) ? body.fullnameNamingConvention.map(String) : ['fullName'];
  for (const n of naming) if (!attributes.some((a) => a.name === n)) attributes.push({ name: n, type: 'text', label: n === 'fullName' ? 'Full name' : n });
  const names = attributes.map((a) => a.name);
  const dup = names.filter((n, i) => names.indexOf(n) !== i);
  if (dup.length) throw new HttpReply(400, { errors: `The following names: '${[...new Set(dup)].join(', ')}' are used more than once in program registration attributes` });
  const bad = names.find((n) => FORBIDDEN_ATTRIBUTE_NAMES.includes(n));
  if (bad) throw new HttpReply(400, { errors: `Unable to create program registration attribute with name ${bad}. The names ${FORBIDDEN_ATTRIBUTE_NAMES.join(', ')} are forbidden to use` });
  const id = ++store.seq.program;
  const now = store.now();
  const program: SandboxProgram = {
    id,
    titlePortal: Object.fromEntries(Object.entries(isRecord(body.titlePortal) ? body.titlePortal : {}).map(([k, v]) => [k, String(v)])),
    currency: String(body.currency),
    languages: Array.isArray(body.languages) ? body.languages.map(String) : ['en'],
    paymentAmountMultiplierFormula: typeof body.paymentAmountMultiplierFormula === 'string' ? body.paymentAmountMultiplierFormula : null,
    enableMaxPayments: body.enableMaxPayments === true,
    enableScope: body.enableScope === true,
    allowEmptyPhoneNumber: true,
    fullnameNamingConvention: naming,
    attributes,
    fspConfigs: [],
    targetNrRegistrations: typeof body.targetNrRegistrations === 'number' ? body.targetNrRegistrations : null,
    budget: typeof body.budget === 'number' ? body.budget : null,
    extra: {},
  };
  store.addProgram(program);
  user.assignments.set(id, new Set(ALL_PERMISSIONS));
  const optional = (k: string) => (body[k] === undefined ? null : body[k]);
  res.status(201).json({
    id,
    created: now,
    updated: now,
    titlePortal: program.titlePortal,
    currency: program.currency,
    location: optional('location'),
    ngo: optional('ngo'),
    description: optional('description'),
    startDate: optional('startDate'),
    endDate: optional('endDate'),
    distributionFrequency: optional('distributionFrequency'),
    distributionDuration: optional('distributionDuration'),
    fixedTransferValue: optional('fixedTransferValue'),
    paymentAmountMultiplierFormula: program.paymentAmountMultiplierFormula,
    targetNrRegistrations: program.targetNrRegistrations,
    fullnameNamingConvention: naming,
    languages: program.languages,
    enableMaxPayments: program.enableMaxPayments,
    enableScope: program.enableScope,
    monitoringDashboardUrl: optional('monitoringDashboardUrl'),
    budget: program.budget,
    validation: body.validation === true,
    programRegistrationAttributes: attributes.map((a, i) => attributeEntity(program, a, i)),
  });
}

export function mountAdmin(api: Router, store: SandboxStore): void {
  api.get('/exchange-rates', (req, res) => exchangeRates(store, req, res));
  api.get('/users', (req, res) => users(store, req, res));
  api.post('/programs', (req, res) => createProgram(store, req, res));
  api.put('/programs/:programId/users/:userId', (req, res) => assignUser(store, req, res));
  api.patch('/programs/:programId/registration-attributes/:programRegistrationAttributeName', (req, res) => updateAttribute(store, req, res));
}
