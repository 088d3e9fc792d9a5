/** Action submitApplication: canonical case -> etdApp -> POST {baseUrl}/application; 200 stores the appRefNumber. */
import type { ActionDefinition, DeliveryResult } from '../../../src/core/adapter';
import { PeerError } from '../../../src/core/errors';
import { unexpectedStatus } from '../../../src/core/peer-http';
import { OPERATION, postApplication } from './client';
import { ADAPTER, REF_KIND, caseToEtdApp } from './codec';
import { isPlainObject } from './json';
import type { EtdSettings } from './settings';

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

export const submitApplication: ActionDefinition<EtdSettings> = {
  description:
    'Posts the case as an ETD application ({"etdApp": ...}) to the IIZUKA Case Manager at baseUrl + /application. ' +
    '200 records the appRefNumber as a cross-reference; 422 fails permanently with the field errors; 5xx and timeouts retry.',
  optionsSchema: { type: 'object', additionalProperties: false, properties: {} },
  async preview(request) {
    return [{ operation: OPERATION, body: { etdApp: caseToEtdApp(request.case) } }];
  },
  async deliver(request, ctx): Promise<DeliveryResult> {
    const where = { connection: ctx.connection.name, peer: ADAPTER, action: request.action, route: request.route, hubId: request.hubId };
    const etdApp = caseToEtdApp(request.case);
    const reply = await postApplication(ctx, etdApp);
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
    if (reply.status === 422) {
      const fieldErrors = fieldErrorsOf(reply.body);
      throw new PeerError(`etd: ${OPERATION} rejected the application (422, ${fieldErrors.length} field error(s))`, {
        retryable: false,
        status: 422,
        code: 'PEER_VALIDATION',
        context: { ...where, fieldErrors },
      });
    }
    throw unexpectedStatus(ctx, OPERATION, reply.status, { action: request.action, route: request.route, hubId: request.hubId });
  },
};
