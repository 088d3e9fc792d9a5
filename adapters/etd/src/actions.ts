/** Action submitApplication: canonical case -> etdApp -> POST {baseUrl}/application; 200 stores the appRefNumber. */
import type { ActionDefinition, CanonicalCase, ConstOptionsSchema, DeliveryResult, OptionsOf } from 'caseway/core';
import { PeerError } from 'caseway/core';
import { unexpectedStatus } from 'caseway/core';
import { OPERATION, postApplication } from './client';
import { ADAPTER, REF_KIND, caseToEtdApp } from './codec';
import { IDEMPOTENCY_KEY_REUSED } from './idempotency';
import { isPlainObject, type JsonObject } from './json';
import { DEFAULT_PASSPORT_ISSUED_IN_UK_FIELD, type EtdSettings } from './settings';

const MAX_MESSAGE = 200;

/**
 * The peer's 422 list as field path -> message (strings only, clipped). A message may echo personal data ("Surname X
 * (born ...)"): in `fieldErrors` the core shows only the paths and keeps the messages encrypted for operators.
 */
export function fieldErrorsOf(body: unknown): Array<Record<string, string>> {
  const errors = isPlainObject(body) ? body.errors : undefined;
  if (!Array.isArray(errors)) return [];
  const out: Array<Record<string, string>> = [];
  for (const entry of errors) {
    if (!isPlainObject(entry)) continue;
    for (const [field, message] of Object.entries(entry)) {
      if (typeof message === 'string') out.push({ [field.slice(0, MAX_MESSAGE)]: message.slice(0, MAX_MESSAGE) });
    }
  }
  return out;
}

/** The etdApp this connection's peer gets: the spelling of passportIssuedInUK is the connection's (spec versions differ). */
function etdAppFor(kase: CanonicalCase, settings: EtdSettings): JsonObject {
  return caseToEtdApp(kase, { passportIssuedInUKField: settings.passportIssuedInUKField ?? DEFAULT_PASSPORT_ISSUED_IN_UK_FIELD });
}

const submitApplicationOptionsSchema = { type: 'object', additionalProperties: false, properties: {} } as const satisfies ConstOptionsSchema;

export const submitApplication: ActionDefinition<EtdSettings, typeof submitApplicationOptionsSchema> = {
  description:
    'Posts the case as an ETD application ({"etdApp": ...}) to the IIZUKA Case Manager at baseUrl + /application. ' +
    '200 records the appRefNumber as a cross-reference; 422 fails permanently with the field errors; 5xx and timeouts retry. ' +
    'Every attempt of one delivery carries the same Idempotency-Key (the delivery id).',
  optionsSchema: submitApplicationOptionsSchema,
  async preview(request, ctx) {
    return [{ operation: OPERATION, body: { etdApp: etdAppFor(request.case, ctx.connection.settings) } }];
  },
  async deliver(request, ctx): Promise<DeliveryResult> {
    const where = { connection: ctx.connection.name, peer: ADAPTER, action: request.action, route: request.route, hubId: request.hubId };
    const etdApp = etdAppFor(request.case, ctx.connection.settings);
    const reply = await postApplication(ctx, etdApp, request.deliveryId);
    if (reply.status === 200) {
      const ref = isPlainObject(reply.body) ? reply.body.appRefNumber : undefined;
      const appRefNumber = typeof ref === 'string' || typeof ref === 'number' ? String(ref) : '';
      if (!appRefNumber) {
        // Accepted but unreadable: retrying could file the application twice, so an operator must look.
        throw new PeerError(`etd: ${OPERATION} answered 200 without an appRefNumber`, { retryable: false, status: 200, code: 'PEER_BAD_REPLY', context: where });
      }
      ctx.log.info({ appRefNumber, hubId: request.hubId, attempt: request.attempt }, 'etd: application submitted');
      return {
        references: [{ system: ADAPTER, connection: ctx.connection.name, id: appRefNumber, kind: REF_KIND }],
        summary: { appRefNumber, status: 200 },
      };
    }
    if (reply.status === 422 && isPlainObject(reply.body) && reply.body.title === IDEMPOTENCY_KEY_REUSED) {
      // The key (our delivery id) was used with another body: the case changed under one delivery id. Not retryable.
      throw new PeerError(`etd: ${OPERATION} refused the Idempotency-Key as already used with another application (422)`, {
        retryable: false,
        status: 422,
        code: 'IDEMPOTENCY_KEY_REUSED',
        context: where,
      });
    }
    if (reply.status === 422) {
      const fieldErrors = fieldErrorsOf(reply.body);
      throw new PeerError(`etd: ${OPERATION} rejected the application (422, ${fieldErrors.length} field error(s))`, {
        retryable: false,
        status: 422,
        code: 'PEER_VALIDATION',
        context: { ...where, fieldErrors },
      });
    }
    if (reply.status === 409) {
      // Idempotency-Key draft: the first attempt with this key is still being processed; ask again later.
      throw new PeerError(`etd: ${OPERATION} answered 409 (an earlier attempt with this Idempotency-Key is still in flight)`, { retryable: true, status: 409, code: 'PEER_RETRYABLE', context: { ...where, outcome: 'uncertain' } });
    }
    throw unexpectedStatus(ctx, OPERATION, reply.status, { action: request.action, route: request.route, hubId: request.hubId }, true);
  },
};
