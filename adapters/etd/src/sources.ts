/**
 * Source "application": Caseway as the IIZUKA Case Manager endpoint. The ETD web form posts {"etdApp": {...}} to
 * POST /etd/application (configurable); a valid application becomes one canonical case, and the form gets its
 * appRefNumber only after the hub has stored and queued it. The same content always gets the same appRefNumber.
 */
import type { AdapterContext, Emit, WebhookSourceDefinition } from '../../../src/core/adapter';
import { createAuthenticator } from './auth';
import { etdAppToCase } from './codec';
import { appRefNumberFor, applicationDigest } from './ids';
import { createIntakeHandler, methodNotAllowed } from './intake';
import type { JsonObject } from './json';
import { DEFAULT_API_KEY_HEADER, DEFAULT_BODY_LIMIT_BYTES, inboundPath, type EtdSettings } from './settings';
import { createValidator } from './validator';

/** Maps, emits and answers with the application's reference; resolves only once the hub has the case. */
export async function intakeApplication(ctx: AdapterContext<EtdSettings>, emit: Emit, etdApp: JsonObject): Promise<string> {
  const eventId = applicationDigest(etdApp);
  const appRefNumber = appRefNumberFor(eventId);
  const kase = etdAppToCase(etdApp, { connection: ctx.connection.name, appRefNumber, eventId, receivedAt: new Date().toISOString() });
  const [result] = await emit([{ eventId, case: kase }]);
  ctx.log.info({ appRefNumber, hubId: result?.hubId, duplicate: result?.duplicate ?? false }, 'etd: application accepted');
  return appRefNumber;
}

export const applicationSource: WebhookSourceDefinition<EtdSettings> = {
  kind: 'webhook',
  description: 'POST /etd/application: receives ETD applications as the IIZUKA Case Manager would (200 appRefNumber / 422 field errors).',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { path: { type: 'string', pattern: '^/', description: 'Endpoint path (default /etd/application, or settings.inbound.path).' } },
  },
  mount(router, ctx, emit, options) {
    const inbound = ctx.connection.settings.inbound ?? {};
    const apiKeyHeader = inbound.apiKeyHeader ?? DEFAULT_API_KEY_HEADER;
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
    });
    router.post(path, handler);
    router.all(path, methodNotAllowed);
    ctx.log.info({ path, keys: apiKeys.length }, 'etd: intake endpoint mounted');
  },
};
