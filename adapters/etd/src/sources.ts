/**
 * Source "application": Caseway as the IIZUKA Case Manager endpoint. The ETD web form posts {"etdApp": {...}} to
 * POST /etd/application (configurable); a valid application becomes one canonical case, and the form gets its
 * appRefNumber only after the hub has stored and queued it. The same content always gets the same appRefNumber.
 */
import type { AdapterContext, Emit, WebhookSourceDefinition, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { createAuthenticator } from './auth';
import { etdAppToCase } from './codec';
import { appRefNumberFor, applicationDigest } from './ids';
import { createIntakeHandler, methodNotAllowed } from './intake';
import type { JsonObject } from './json';
import { stateIdempotencyGuard } from './idempotency';
import { DEFAULT_INBOUND_API_KEY_HEADER, DEFAULT_BODY_LIMIT_BYTES, DEFAULT_IDEMPOTENCY_IN_FLIGHT_SECONDS, DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS, inboundPath, type EtdSettings } from './settings';
import applicationSchema from '../../../schemas/etd-application.schema.json';
import { createValidator } from './validator';
import seedExample from '../test/fixtures/seed-example.json';
import validApplication from '../test/fixtures/valid-application.json';

/** Maps, emits and answers with the application's reference; resolves only once the hub has the case. */
export async function intakeApplication(ctx: AdapterContext<EtdSettings>, emit: Emit, etdApp: JsonObject): Promise<string> {
  const eventId = applicationDigest(etdApp);
  const appRefNumber = appRefNumberFor(eventId);
  const kase = etdAppToCase(etdApp, { connection: ctx.connection.name, appRefNumber, eventId, receivedAt: new Date().toISOString() });
  const [result] = await emit([{ eventId, case: kase }]);
  ctx.log.info({ appRefNumber, hubId: result?.hubId, duplicate: result?.duplicate ?? false }, 'etd: application accepted');
  return appRefNumber;
}

const ERROR_BODY = { type: 'object', required: ['error'], properties: { error: { type: 'string' } } };

const applicationSourceOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { path: { type: 'string', pattern: '^/', description: 'Endpoint path (default /etd/application, or settings.inbound.path).' } },
} as const satisfies ConstOptionsSchema;

export const applicationSource: WebhookSourceDefinition<EtdSettings, typeof applicationSourceOptionsSchema> = {
  kind: 'webhook',
  description: 'POST /etd/application: receives ETD applications as the IIZUKA Case Manager would (200 appRefNumber / 422 field errors).',
  optionsSchema: applicationSourceOptionsSchema,
  api: {
    requestContentType: 'application/json; charset=utf-8',
    requestSchema: applicationSchema,
    authentication: 'an API key in the X-API-Key header (settings.inbound.apiKeyHeader), optionally limited to IP addresses per key',
    securityScheme: { type: 'apiKey', in: 'header', name: DEFAULT_INBOUND_API_KEY_HEADER, description: 'ETD intake API key (settings.inbound.apiKeys; the header name is settings.inbound.apiKeyHeader).' },
    get examples() {
      // The specification's own example request (several required fields are empty in it) and a valid one, each
      // with the answer this adapter's validator gives.
      const answer = (body: { etdApp: JsonObject }) => {
        const errors = createValidator().validate(body);
        return errors.length ? { status: 422, response: { errors } } : { status: 200, response: { appRefNumber: appRefNumberFor(applicationDigest(body.etdApp)) } };
      };
      return {
        seedExample: { summary: "The specification's example request: 422 with its field errors", request: seedExample, ...answer(seedExample) },
        validApplication: { summary: 'A valid application: 200 with its appRefNumber', request: validApplication, ...answer(validApplication) },
      };
    },
    responses: {
      200: { description: 'Stored and queued', schema: { type: 'object', required: ['appRefNumber'], properties: { appRefNumber: { type: 'string' } } } },
      400: { description: 'Malformed JSON (or a malformed Idempotency-Key header, as problem+json)', schema: ERROR_BODY },
      401: { description: 'No or unknown API key', schema: ERROR_BODY },
      403: { description: 'API key used from an address outside its allowlist', schema: ERROR_BODY },
      405: { description: 'Method not allowed', schema: ERROR_BODY },
      406: { description: 'Accept excludes application/json', schema: ERROR_BODY },
      409: { description: 'Idempotency-Key: a request with this key is still being stored (problem+json; retry)' },
      413: { description: 'Body over inbound.bodyLimitBytes', schema: ERROR_BODY },
      415: { description: 'Content-Type is not application/json', schema: ERROR_BODY },
      422: {
        description:
          "Validation errors, all at once: dotted field path -> 'Required' | 'Maximum length exceeded (N)' | 'Invalid format'; or (problem+json, same errors list) 'Idempotency-Key is already used' with another body",
        schema: { type: 'object', required: ['errors'], properties: { errors: { type: 'array', items: { type: 'object', minProperties: 1, maxProperties: 1, additionalProperties: { type: 'string' } } } } },
      },
      500: { description: 'Internal Server Error (nothing else is said)', schema: ERROR_BODY },
      503: { description: 'The hub cannot store it now (Redis unavailable, e.g. during a failover); nothing was acknowledged: retry after Retry-After seconds', schema: ERROR_BODY },
    },
  },
  mount(router, ctx, emit, options) {
    const inbound = ctx.connection.settings.inbound ?? {};
    const apiKeyHeader = inbound.apiKeyHeader ?? DEFAULT_INBOUND_API_KEY_HEADER;
    const path = inboundPath(ctx.connection.settings, options);
    const apiKeys = inbound.apiKeys ?? [];
    if (!apiKeys.length && !inbound.allowUnauthenticated) {
      ctx.log.warn({ path }, 'etd: inbound.apiKeys is empty, so every call to the intake endpoint will be refused (401)');
    }
    const handler = createIntakeHandler({
      authenticate: createAuthenticator({ apiKeys, header: apiKeyHeader, allowUnauthenticated: inbound.allowUnauthenticated }),
      apiKeyHeader,
      bodyLimitBytes: inbound.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
      validator: createValidator(inbound.validation),
      log: ctx.log,
      accept: (etdApp) => intakeApplication(ctx, emit, etdApp),
      idempotency: stateIdempotencyGuard(ctx.state, {
        ttlSeconds: inbound.idempotencyKeyTtlSeconds ?? DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS,
        inFlightSeconds: inbound.idempotencyInFlightSeconds ?? DEFAULT_IDEMPOTENCY_IN_FLIGHT_SECONDS,
      }),
    });
    router.post(path, handler);
    router.all(path, methodNotAllowed);
    ctx.log.info({ path, keys: apiKeys.length }, 'etd: intake endpoint mounted');
  },
};
