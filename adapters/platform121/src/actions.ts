/** The hub-facing actions: upsertRegistration, setStatus, addNote. Each delivers one case. */
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult, JsonSchema, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import type { CaseEvent } from 'caseway/core';
import { CasewayError, RetryableError } from 'caseway/core';
import { buildRegistrationRow, type RowOptions } from './codec';
import { addNotes } from './notes';
import { deriveReferenceId, knownReferenceId, referenceOf, resolveReferenceId } from './reference-id';
import { runtimeFor, type Runtime } from './runtime';
import type { AttributeValue, Platform121Settings } from './settings';
import { changeRegistrationStatus } from './status';
import { SETTABLE_STATUSES, isSettableStatus, type StatusChangeBody } from './types';

type Ctx = AdapterContext<Platform121Settings>;

function referenceIdFor(rt: Runtime, request: DeliveryRequest): string {
  return resolveReferenceId(request, rt.ctx.connection.name, rt.settings.programId, rt.settings.referenceIdPrefix);
}

/**
 * For a referenceId derived from the hub id (no 121 reference known yet), "not found" may only mean that the
 * upsert of the same case has not gone through yet (another target of the route): worth retrying. For a referenceId
 * 121 gave us, it is final.
 */
function notFoundYet(rt: Runtime, request: DeliveryRequest, err: unknown): unknown {
  if (!(err instanceof CasewayError) || err.retryable || err.context.status !== 404) return err;
  if (knownReferenceId(request, rt.ctx.connection.name)) return err;
  const derived = deriveReferenceId(request.hubId, rt.settings.programId, rt.settings.referenceIdPrefix);
  return new RetryableError(`${err.message} (not created yet?)`, { ...err.context, referenceId: derived }, err);
}

const attributeValueSchema = { anyOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] } as const;

const upsertOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    programFspConfigurationName: { type: 'string', minLength: 1 },
    attributeMapping: { type: 'object', additionalProperties: { type: 'string', minLength: 1 } },
    attributeDefaults: { type: 'object', additionalProperties: attributeValueSchema },
    partyRoles: { type: 'array', items: { type: 'string' } },
    reason: { type: 'string', minLength: 1 },
    updateFsp: { type: 'boolean' },
  },
} as const satisfies ConstOptionsSchema;

export const upsertRegistration: ActionDefinition<Platform121Settings, typeof upsertOptionsSchema> = {
  description:
    'Creates the case\'s person as a 121 registration (batched import; referenceId derived from the hub id) or, when the referenceId exists, PATCHes the changed fields.',
  optionsSchema: upsertOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const options = request.options;
    const referenceId = referenceIdFor(rt, request);
    const program = await rt.program.get();
    const { row, dropped } = buildRegistrationRow(request.case, referenceId, rt.settings, program, options);
    const outcome = await rt.batcher.submit({
      referenceId,
      row,
      reason: options.reason ?? rt.settings.updateReason,
      updateFsp: options.updateFsp === true,
    });
    return {
      references: [referenceOf(referenceId, ctx.connection.name)],
      summary: {
        referenceId,
        programId: rt.settings.programId,
        outcome: outcome.outcome,
        changedFields: outcome.changedFields.join(',') || null,
        droppedFields: dropped.join(',') || null,
        batchRows: outcome.batchRows,
      },
    };
  },
};

const statusOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: [...SETTABLE_STATUSES] },
    reason: { type: 'string', minLength: 1 },
    message: { type: 'string', minLength: 1 },
    messageTemplateKey: { type: 'string', minLength: 1 },
    confirm: { type: 'boolean' },
    confirmTimeoutMs: { type: 'integer', minimum: 0 },
  },
} as const satisfies ConstOptionsSchema;

type StatusOptions = OptionsOf<typeof statusOptionsSchema>;

function latestReason(events: CaseEvent[] | undefined): string | undefined {
  const withReason = (events ?? []).filter((e) => typeof e.reason === 'string' && e.reason.trim());
  return withReason.length ? withReason[withReason.length - 1].reason : undefined;
}

export const setStatus: ActionDefinition<Platform121Settings, typeof statusOptionsSchema> = {
  description:
    'Sets the registration status (included, paused, validated, declined) with PATCH /registrations/status filtered by referenceId, then polls registration events until 121 has applied it.',
  optionsSchema: statusOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const options = request.options;
    const status = options.status ?? request.case.status;
    const referenceId = referenceIdFor(rt, request);
    const body: StatusChangeBody = {
      status: (isSettableStatus(status) ? status : String(status)) as StatusChangeBody['status'],
      reason: options.reason ?? latestReason(request.case.events) ?? null,
      message: options.message ?? null,
      messageTemplateKey: options.messageTemplateKey ?? null,
    };
    const [outcome] = await changeRegistrationStatus({ client: rt.client, log: ctx.log }, [referenceId], body, {
      confirm: options.confirm,
      confirmTimeoutMs: options.confirmTimeoutMs ?? rt.settings.statusConfirmTimeoutMs,
      confirmIntervalMs: rt.settings.statusConfirmIntervalMs,
    });
    if (!outcome.ok) throw notFoundYet(rt, request, outcome.error);
    return {
      references: [referenceOf(referenceId, ctx.connection.name)],
      summary: {
        referenceId,
        outcome: outcome.outcome,
        previousStatus: outcome.previousStatus,
        status: outcome.status,
        confirmed: outcome.confirmed,
        eventId: outcome.eventId ?? null,
      },
    };
  },
};

const noteOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    prefix: { type: 'string', description: 'Text put before every note, e.g. "[iCasework] ".' },
  },
} as const satisfies ConstOptionsSchema;

export const addNote: ActionDefinition<Platform121Settings, typeof noteOptionsSchema> = {
  description: 'Posts each note of the case to the registration (POST /registrations/{referenceId}/notes), once per note.',
  optionsSchema: noteOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const rt = runtimeFor(ctx);
    const referenceId = referenceIdFor(rt, request);
    const prefix = typeof request.options.prefix === 'string' ? request.options.prefix : '';
    const result = await addNotes({ client: rt.client, state: ctx.state, log: ctx.log }, referenceId, request.deliveryId, request.case.notes ?? [], prefix).catch(
      (err: unknown) => {
        throw notFoundYet(rt, request, err);
      },
    );
    return {
      references: [referenceOf(referenceId, ctx.connection.name)],
      summary: { referenceId, notesPosted: result.posted, notesSkipped: result.skipped, notesVerified: result.verified },
    };
  },
};
