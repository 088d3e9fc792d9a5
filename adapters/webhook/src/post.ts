/**
 * Action `post`: the case (canonical, or shaped by a JSONata expression) as JSON to settings.url, signed per
 * Standard Webhooks with webhook-id = the delivery id, so every retry and replay carries the same id and a receiver
 * can deduplicate. 2xx delivered; 408/425/429/5xx and transport faults retry (a short Retry-After is waited out
 * within the attempt); any other status is permanent, reported with its size and digest, never its text.
 */
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult, PeerRequestPreview, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { PeerError, PermanentError, isRetryableStatus, sleep, type ErrorContext } from 'caseway/core';
import type { CrossReference } from 'caseway/core';
import { atPointer, digestOf, retryAfterMs, send } from './client';
import { loadExpression } from './expression';
import { signatureHeaders } from './signing';
import { ADAPTER, DEFAULT_MAX_RETRY_AFTER_MS, DEFAULT_METHOD, type WebhookSettings } from './settings';

/** The target's options (typed from postOptionsSchema). */
export type PostOptions = OptionsOf<typeof postOptionsSchema>;

const SIGNATURE_HEADERS = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'content-type']);

function contextOf(request: DeliveryRequest, ctx: AdapterContext<WebhookSettings>): ErrorContext {
  return { connection: ctx.connection.name, peer: ADAPTER, action: request.action, route: request.route, hubId: request.hubId };
}

interface PreparedCall {
  url: string;
  method: string;
  /** Every header except the signature trio. */
  headers: Record<string, string>;
  body: string;
  expression?: string;
}

/** The JSON the receiver gets: the canonical case, or what the route's JSONata expression makes of it. */
async function prepare(request: DeliveryRequest<PostOptions>, ctx: AdapterContext<WebhookSettings>): Promise<PreparedCall> {
  const settings = ctx.connection.settings;
  const context = contextOf(request, ctx);
  if (!settings.url) throw new PermanentError('webhook: the connection has no url, so it cannot deliver', context);
  const options = request.options;
  const where = `route "${request.route}" action ${request.action}`;
  const expression = loadExpression(options, where, ctx.connection.configDir, context);
  const kase = { ...request.case, hubId: request.hubId };
  let payload: unknown = kase;
  if (expression) {
    payload = await expression.evaluate(kase, { hubId: request.hubId, deliveryId: request.deliveryId, route: request.route, references: request.references });
    if (payload === undefined) throw new PermanentError(`webhook: ${where}: the JSONata expression ${expression.label} produced nothing for this case`, { ...context, expression: expression.label });
  }
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...settings.headers, ...options.headers })) if (!SIGNATURE_HEADERS.has(name.toLowerCase())) headers[name] = value;
  headers['Content-Type'] = 'application/json; charset=utf-8';
  headers.Accept ??= 'application/json';
  return { url: settings.url, method: settings.method ?? DEFAULT_METHOD, headers, body: JSON.stringify(payload), expression: expression?.label };
}

function referenceFrom(reply: Buffer, pointer: string, kind: string, connection: string): CrossReference | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(reply.toString('utf8'));
  } catch {
    return undefined;
  }
  const value = atPointer(parsed, pointer);
  if ((typeof value === 'string' && value !== '') || typeof value === 'number') return { system: ADAPTER, connection, id: String(value), kind };
  return undefined;
}

const postOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    expression: { type: 'string', minLength: 1, description: 'JSONata expression over the canonical case ($hubId, $deliveryId, $route, $references bound); its result is the body.' },
    expressionFile: { type: 'string', minLength: 1, description: 'A file holding the JSONata expression, relative to the config file.' },
    referencePointer: { type: 'string', pattern: '^(/.*)?$', description: 'JSON pointer into a 2xx JSON reply whose value becomes a cross-reference (system "webhook").' },
    referenceKind: { type: 'string', minLength: 1, description: 'Kind of that cross-reference (default "id").' },
    headers: { type: 'object', additionalProperties: { type: 'string' }, description: 'Headers for this target, over the connection headers.' },
  },
} as const satisfies ConstOptionsSchema;

export const post: ActionDefinition<WebhookSettings, typeof postOptionsSchema> = {
  description:
    'Posts the case as JSON (canonical, or shaped by a JSONata expression) to settings.url, signed per Standard Webhooks ' +
    '(webhook-id = the delivery id, the same on every retry and replay). 2xx delivered; 408/429/5xx retry, honouring Retry-After; other 4xx fail permanently.',
  optionsSchema: postOptionsSchema,
  async preview(request, ctx): Promise<PeerRequestPreview[]> {
    const call = await prepare(request, ctx);
    let json: unknown;
    try {
      json = JSON.parse(call.body);
    } catch {
      json = call.body;
    }
    // Configured header values may be credentials: names only. The signature is made at send time.
    const headers = Object.fromEntries(Object.keys(call.headers).map((name) => [name, /^(content-type|accept)$/i.test(name) ? call.headers[name] : '[configured]']));
    return [{ operation: `${call.method} ${call.url}`, body: { headers: { ...headers, 'webhook-id': request.deliveryId, 'webhook-timestamp': '(at send time)', 'webhook-signature': 'v1,(at send time)' }, json } }];
  },
  async deliver(request, ctx): Promise<DeliveryResult> {
    const settings = ctx.connection.settings;
    const context = contextOf(request, ctx);
    if (!settings.secret) throw new PermanentError('webhook: the connection has no secret, so it cannot sign deliveries', context);
    const call = await prepare(request, ctx);
    const maxWait = settings.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS;
    for (let waited = false; ; waited = true) {
      const headers = { ...call.headers, ...signatureHeaders(settings.secret, request.deliveryId, call.body) };
      const reply = await send(ctx, { url: call.url, method: call.method, headers, body: call.body }, context);
      if (reply.status >= 200 && reply.status < 300) {
        const options = request.options;
        const ref = options.referencePointer !== undefined ? referenceFrom(reply.body, options.referencePointer, options.referenceKind ?? 'id', ctx.connection.name) : undefined;
        if (options.referencePointer !== undefined && !ref) ctx.log.warn({ route: request.route, hubId: request.hubId, pointer: options.referencePointer }, 'webhook: delivered, but the reply holds no id at referencePointer');
        ctx.log.info({ hubId: request.hubId, webhookId: request.deliveryId, status: reply.status, attempt: request.attempt }, 'webhook: delivered');
        return {
          references: ref ? [ref] : [],
          summary: { status: reply.status, webhookId: request.deliveryId, ...(ref ? { reference: ref.id } : {}), ...(call.expression ? { expression: call.expression } : {}) },
        };
      }
      const safe = { ...context, status: reply.status, responseBytes: reply.body.length, responseSha256: digestOf(reply.body), contentType: reply.headers['content-type'] ?? null };
      if (isRetryableStatus(reply.status)) {
        const wait = retryAfterMs(reply.headers['retry-after']);
        if (wait !== undefined && wait <= maxWait && !waited) {
          ctx.log.info({ hubId: request.hubId, status: reply.status, retryAfterMs: wait }, 'webhook: waiting out Retry-After before trying again');
          await sleep(wait);
          continue;
        }
        throw new PeerError(`webhook: ${call.method} answered HTTP ${reply.status}${wait !== undefined ? ` (Retry-After ${Math.ceil(wait / 1000)} s)` : ''}`, {
          retryable: true,
          status: reply.status,
          context: { ...safe, ...(wait !== undefined ? { retryAfterSeconds: Math.ceil(wait / 1000) } : {}) },
        });
      }
      throw new PeerError(`webhook: ${call.method} refused the delivery (HTTP ${reply.status}, ${reply.body.length} byte reply, sha256 ${safe.responseSha256})`, {
        retryable: false,
        status: reply.status,
        context: safe,
      });
    }
  },
};
