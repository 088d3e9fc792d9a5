/**
 * Program-level actions: `createProgram` (POST /api/programs), `upsertFspConfiguration` (GET/POST
 * /fsp-configurations), `updateUser` (PUT /programs/{id}/users/{userId}), `updateRegistrationAttribute` (PATCH
 * /registration-attributes/{name}), `upsertMessageTemplate` (GET/POST/PATCH /notifications/{id}/message-templates).
 * Each takes what it writes from its options or, when absent, from `extensions.platform121.<key>` of the case, so a
 * route can carry program set-ups, translations or templates as case data.
 */
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult, JsonSchema, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { PermanentError } from 'caseway/core';
import {
  assignUser,
  createFspConfiguration,
  createMessageTemplate,
  createProgram as postProgram,
  getFspConfigurations,
  getMessageTemplates,
  getUsers,
  updateMessageTemplate,
  updateRegistrationAttribute as patchAttribute,
  type FspConfigurationProperty,
  type MessageTemplate,
} from './endpoints';
import { atMostOnce } from './once';
import { SYSTEM } from './reference-id';
import { runtimeFor } from './runtime';
import type { Platform121Settings } from './settings';
import { isRecord } from 'caseway/core';

type Ctx = AdapterContext<Platform121Settings>;


/** extensions.platform121.<key> of the case. */
function fromCase(request: DeliveryRequest, key: string): unknown {
  const ext = request.case.extensions?.[SYSTEM];
  return isRecord(ext) ? ext[key] : undefined;
}

function missing(what: string, field: string): PermanentError {
  return new PermanentError(`platform121: ${what}`, { peer: SYSTEM, fieldErrors: [{ field, error: 'required' }] });
}

export const PROGRAM_REFERENCE_KIND = 'programId';

/** The program an action works on: the option, a programId reference of this connection (from createProgram), or the connection's. */
export function targetProgramId(request: DeliveryRequest, ctx: Ctx, option: unknown): number {
  if (typeof option === 'number') return option;
  const ref = request.references.find((r) => r.system === SYSTEM && r.kind === PROGRAM_REFERENCE_KIND && (r.connection === undefined || r.connection === ctx.connection.name));
  if (ref && /^\d+$/.test(ref.id)) return Number(ref.id);
  return runtimeFor(ctx).settings.programId;
}

const labelSchema = { type: 'object', additionalProperties: { type: 'string' }, description: 'Per language, e.g. {"en": "...", "fr": "..."}.' } as const;
const programIdSchema = { type: 'integer', minimum: 1, description: 'Default: a programId reference of the case (from createProgram), else the connection\'s program.' } as const;

// ---- createProgram -----------------------------------------------------------------------------------------------

export const createProgramOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    program: {
      type: 'object',
      description: 'CreateProgramDto fields (titlePortal, currency required); merged over extensions.platform121.program of the case.',
      properties: {
        titlePortal: labelSchema,
        currency: { type: 'string', pattern: '^[A-Z]{3}$' },
        languages: { type: 'array', items: { type: 'string' } },
        programRegistrationAttributes: { type: 'array', items: { type: 'object', required: ['name', 'type'] } },
        fullnameNamingConvention: { type: 'array', items: { type: 'string' } },
        enableMaxPayments: { type: 'boolean' },
        enableScope: { type: 'boolean' },
        budget: { type: 'number' },
        targetNrRegistrations: { type: 'number' },
      },
    },
  },
} as const satisfies ConstOptionsSchema;

export const createProgram: ActionDefinition<Platform121Settings, typeof createProgramOptionsSchema> = {
  description: 'Creates a 121 program (POST /api/programs) once per hub case and returns its id as a platform121 reference of kind programId.',
  optionsSchema: createProgramOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const fromData = fromCase(request, 'program');
    const body: Record<string, unknown> = { ...(isRecord(fromData) ? fromData : {}), ...(isRecord(request.options.program) ? request.options.program : {}) };
    if (!isRecord(body.titlePortal) || typeof body.currency !== 'string') throw missing('createProgram needs program.titlePortal and program.currency', 'program');
    const { result, repeated } = await atMostOnce(ctx.state, `program:${request.hubId}`, 'create a program', async () => {
      const created = await postProgram(rt.client, body);
      return { id: created.id };
    });
    return {
      references: [{ system: SYSTEM, connection: ctx.connection.name, id: String(result.id), kind: PROGRAM_REFERENCE_KIND }],
      summary: { programId: result.id, outcome: repeated ? 'exists' : 'created' },
    };
  },
};

// ---- upsertFspConfiguration --------------------------------------------------------------------------------------

export const fspConfigurationOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1 },
    fspName: { type: 'string', minLength: 1, description: 'An Fsps value, e.g. Excel, Intersolve-visa.' },
    label: labelSchema,
    properties: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'value'],
        properties: { name: { type: 'string' }, value: { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }, { type: 'array', items: { type: 'string' } }] } },
      },
    },
    programId: programIdSchema,
  },
} as const satisfies ConstOptionsSchema;

export const upsertFspConfiguration: ActionDefinition<Platform121Settings, typeof fspConfigurationOptionsSchema> = {
  description:
    'Creates an FSP configuration of the program (POST /fsp-configurations) unless one of that name exists (GET first; a 409 also counts as existing). Existing ones are left as they are.',
  optionsSchema: fspConfigurationOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const data = fromCase(request, 'fspConfiguration');
    const o = { ...(isRecord(data) ? data : {}), ...request.options };
    if (typeof o.name !== 'string' || typeof o.fspName !== 'string' || !isRecord(o.label)) throw missing('upsertFspConfiguration needs name, fspName and label', 'name');
    const programId = targetProgramId(request, ctx, o.programId);
    const existing = await getFspConfigurations(rt.client, programId);
    let outcome = 'exists';
    if (!existing.some((c) => c.name === o.name)) {
      const label = Object.fromEntries(Object.entries(o.label).map(([k, v]) => [k, String(v)]));
      const properties = Array.isArray(o.properties) ? o.properties.filter(isRecord).map((p) => ({ name: String(p.name), value: p.value }) as FspConfigurationProperty) : undefined;
      const created = await createFspConfiguration(rt.client, { name: o.name, label, fspName: o.fspName, ...(properties ? { properties } : {}) }, programId);
      outcome = created ? 'created' : 'exists';
    }
    return { summary: { programId, name: o.name, outcome } };
  },
};

// ---- updateUser --------------------------------------------------------------------------------------------------

export const updateUserOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['roles'],
  properties: {
    userId: { type: 'integer', minimum: 1 },
    username: { type: 'string', minLength: 1, description: 'Looked up with GET /api/users when userId is absent.' },
    roles: { type: 'array', items: { type: 'string', minLength: 1 }, description: 'Replace the user\'s roles in the program (PUT semantics).' },
    scope: { type: 'string' },
    programId: programIdSchema,
  },
  anyOf: [{ required: ['userId'] }, { required: ['username'] }],
} as const satisfies ConstOptionsSchema;

export const updateUser: ActionDefinition<Platform121Settings, typeof updateUserOptionsSchema> = {
  description: 'Assigns a user to the program with exactly these roles and scope (PUT /programs/{programId}/users/{userId}); the user may be named by username.',
  optionsSchema: updateUserOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const o = request.options;
    let userId = typeof o.userId === 'number' ? o.userId : undefined;
    if (userId === undefined && typeof o.username === 'string') {
      const wanted = o.username.toLowerCase();
      userId = (await getUsers(rt.client)).find((u) => u.username.toLowerCase() === wanted)?.id;
      if (userId === undefined) throw new PermanentError('platform121: no 121 user with that username', { peer: SYSTEM, fieldErrors: [{ field: 'username', error: 'not found' }] });
    }
    if (userId === undefined) throw missing('updateUser needs userId or username', 'userId');
    const roles = Array.isArray(o.roles) ? o.roles.map(String) : [];
    const programId = targetProgramId(request, ctx, o.programId);
    const reply = await assignUser(rt.client, userId, { roles, ...(typeof o.scope === 'string' ? { scope: o.scope } : {}) }, programId);
    return { summary: { programId, userId, roles: (reply.roles ?? []).map((r) => r.role).join(','), scope: reply.scope ?? null } };
  },
};

// ---- updateRegistrationAttribute ---------------------------------------------------------------------------------

const attributeChangeSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: { type: 'string', minLength: 1, description: 'programRegistrationAttributeName (cannot be changed).' },
    label: labelSchema,
    placeholder: labelSchema,
    type: { type: 'string', enum: ['numeric', 'dropdown', 'tel', 'text', 'date'] },
    isRequired: { type: 'boolean' },
    options: { type: 'array', items: { type: 'object', required: ['option'], properties: { option: { type: 'string' }, label: labelSchema } } },
    pattern: { type: 'string' },
    showInPeopleAffectedTable: { type: 'boolean' },
    editableInPortal: { type: 'boolean' },
    duplicateCheck: { type: 'boolean' },
    includeInTransactionExport: { type: 'boolean' },
    scoring: { type: 'object' },
  },
} as const satisfies ConstOptionsSchema;

export const registrationAttributeOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    attributes: { type: 'array', items: attributeChangeSchema, description: 'Default extensions.platform121.registrationAttributes of the case.' },
    mergeLabels: { type: 'boolean', description: 'Merge label/placeholder languages into the current ones (default true; a translation adds a language).' },
    programId: programIdSchema,
  },
} as const satisfies ConstOptionsSchema;

export const updateRegistrationAttribute: ActionDefinition<Platform121Settings, typeof registrationAttributeOptionsSchema> = {
  description:
    'Changes program registration attributes (PATCH /registration-attributes/{name}), e.g. a translated label; sends only the keys that differ from the program\'s current attribute.',
  optionsSchema: registrationAttributeOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const given = request.options.attributes ?? fromCase(request, 'registrationAttributes');
    const changes = Array.isArray(given) ? given.filter(isRecord) : [];
    if (changes.length === 0) throw missing('updateRegistrationAttribute needs attributes (option or extensions.platform121.registrationAttributes)', 'attributes');
    const programId = targetProgramId(request, ctx, request.options.programId);
    const merge = request.options.mergeLabels !== false;
    const program = programId === rt.settings.programId ? await rt.client.getProgram() : await rt.client.request<Record<string, unknown>>({ method: 'GET', path: `/programs/${programId}`, query: { formatProgramReturnDto: true }, operation: 'get program', idempotent: true }).then((r) => r.data ?? {});
    const current = new Map<string, Record<string, unknown>>();
    for (const a of Array.isArray(program.programRegistrationAttributes) ? program.programRegistrationAttributes : []) {
      if (isRecord(a) && typeof a.name === 'string') current.set(a.name, a);
    }
    let updated = 0;
    let unchanged = 0;
    for (const change of changes) {
      const name = String(change.name);
      const now = current.get(name) ?? {};
      const body: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(change)) {
        if (key === 'name') continue;
        const next = merge && (key === 'label' || key === 'placeholder') && isRecord(value) ? { ...(isRecord(now[key]) ? now[key] : {}), ...value } : value;
        if (JSON.stringify(now[key]) !== JSON.stringify(next)) body[key] = next;
      }
      if (Object.keys(body).length === 0) {
        unchanged++;
        continue;
      }
      await patchAttribute(rt.client, name, body, programId);
      updated++;
    }
    return { summary: { programId, updated, unchanged } };
  },
};

// ---- upsertMessageTemplate ---------------------------------------------------------------------------------------

const templateSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type', 'language'],
  properties: {
    type: { type: 'string', minLength: 1, maxLength: 255 },
    language: { type: 'string', pattern: '^[a-z]{2}$' },
    message: { type: 'string', minLength: 1 },
    contentSid: { type: 'string', minLength: 1 },
    label: labelSchema,
    isSendMessageTemplate: { type: 'boolean', description: 'Default false.' },
  },
} as const satisfies ConstOptionsSchema;

export const messageTemplateOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    templates: { type: 'array', items: templateSchema, description: 'Default extensions.platform121.messageTemplates of the case.' },
    programId: programIdSchema,
  },
} as const satisfies ConstOptionsSchema;

function templateChanges(now: MessageTemplate, want: MessageTemplate): Partial<MessageTemplate> {
  const body: Partial<MessageTemplate> = {};
  if (want.message !== undefined && want.message !== now.message) body.message = want.message;
  if (want.contentSid !== undefined && want.contentSid !== now.contentSid) body.contentSid = want.contentSid;
  if (want.isSendMessageTemplate !== now.isSendMessageTemplate) body.isSendMessageTemplate = want.isSendMessageTemplate;
  if (want.label && JSON.stringify(want.label) !== JSON.stringify(now.label)) body.label = want.label;
  return body;
}

export const upsertMessageTemplate: ActionDefinition<Platform121Settings, typeof messageTemplateOptionsSchema> = {
  description:
    'Creates or updates message templates of the program (GET, then POST new ones and PATCH /{type}/{language} changed ones; unchanged ones are not sent).',
  optionsSchema: messageTemplateOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const given = request.options.templates ?? fromCase(request, 'messageTemplates');
    const wanted: MessageTemplate[] = (Array.isArray(given) ? given.filter(isRecord) : []).map((t) => ({
      type: String(t.type),
      language: String(t.language),
      isSendMessageTemplate: t.isSendMessageTemplate === true,
      ...(typeof t.message === 'string' ? { message: t.message } : {}),
      ...(typeof t.contentSid === 'string' ? { contentSid: t.contentSid } : {}),
      ...(isRecord(t.label) ? { label: Object.fromEntries(Object.entries(t.label).map(([k, v]) => [k, String(v)])) } : {}),
    }));
    if (wanted.length === 0) throw missing('upsertMessageTemplate needs templates (option or extensions.platform121.messageTemplates)', 'templates');
    const programId = targetProgramId(request, ctx, request.options.programId);
    const existing = await getMessageTemplates(rt.client, programId);
    let created = 0;
    let updated = 0;
    let unchanged = 0;
    for (const want of wanted) {
      const now = existing.find((t) => t.type === want.type && t.language === want.language);
      if (!now) {
        await createMessageTemplate(rt.client, want, programId);
        created++;
        continue;
      }
      const body = templateChanges(now, want);
      if (Object.keys(body).length === 0) {
        unchanged++;
        continue;
      }
      // 121 checks the message/contentSid rule on the PATCH body, so it always carries the one the type needs.
      if (want.contentSid !== undefined) body.contentSid = want.contentSid;
      else if (want.message !== undefined) body.message = want.message;
      await updateMessageTemplate(rt.client, want.type, want.language, body, programId);
      updated++;
    }
    return { summary: { programId, created, updated, unchanged } };
  },
};
