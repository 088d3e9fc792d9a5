/**
 * iSupport's export request API (seed 5.1/5.2): GET {api}/requestCaseData/{caseId} and GET {api}/requestReferenceData/.
 * Both only acknowledge; iSupport then writes the export folder on the file server (read by the `export` source) and
 * mails a notice. The acknowledgement's body is not documented: a request id (REQ-...) is taken from it when present.
 */
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { getPath, PermanentError } from 'caseway/core';
import { createPeerHttp, unexpectedStatus } from 'caseway/core';
import { DEFAULT_API_MAX_RESPONSE_BYTES, DEFAULT_API_TIMEOUT_MS, DEFAULT_CASE_ID_ESCAPING, type ApiSettings, type IsupportSettings } from './settings';

export type CaseIdEscaping = NonNullable<ApiSettings['caseIdEscaping']>;

/**
 * The case id as one URL path segment. 'spec' (default) writes it as the seed does
 * (`/requestCaseData/US-UK(NI)-2015-100_0453-US`): parentheses and the other RFC 3986 sub-delimiters stay, while "/",
 * "?", "#", "%", spaces and non-ASCII are percent-encoded so the id stays one segment. 'strict' also encodes
 * `( ) ! ' *`, for a server that wants them escaped.
 */
export function encodeSegment(value: string, escaping: CaseIdEscaping = DEFAULT_CASE_ID_ESCAPING): string {
  const encoded = encodeURIComponent(value);
  return escaping === 'strict' ? encoded.replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`) : encoded;
}

const REQUEST_ID = /REQ-[0-9A-Za-z_-]+/;

/** The request id in an acknowledgement body (JSON requestId/requestID or a REQ-... token in text), if any. */
export function requestIdFromAck(body: unknown): string | undefined {
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    for (const key of ['requestId', 'requestID', 'RequestID', 'request_id']) if (typeof o[key] === 'string') return o[key] as string;
    return requestIdFromAck(JSON.stringify(body));
  }
  if (typeof body === 'string') return REQUEST_ID.exec(body)?.[0];
  return undefined;
}

export interface Ack {
  status: number;
  requestId?: string;
}

async function get(ctx: AdapterContext<IsupportSettings>, url: string, operation: string): Promise<Ack> {
  const s = ctx.connection.settings.api;
  const http = createPeerHttp(ctx, { baseURL: s.baseUrl.replace(/\/+$/, ''), timeoutMs: s.timeoutMs ?? DEFAULT_API_TIMEOUT_MS, peer: 'isupport', maxResponseBytes: s.maxResponseBytes ?? DEFAULT_API_MAX_RESPONSE_BYTES });
  const res = await http.get(url, { responseType: 'text', transformResponse: (d: unknown) => d });
  if (res.status < 200 || res.status >= 300) throw unexpectedStatus(ctx, operation, res.status);
  let body: unknown = res.data;
  if (typeof body === 'string' && /^\s*[[{]/.test(body)) {
    try {
      body = JSON.parse(body);
    } catch {
      // plain text after all
    }
  }
  return { status: res.status, requestId: requestIdFromAck(body) };
}

export function requestCaseData(ctx: AdapterContext<IsupportSettings>, caseId: string): Promise<Ack> {
  return get(ctx, `/requestCaseData/${encodeSegment(caseId, ctx.connection.settings.api.caseIdEscaping)}`, 'requestCaseData');
}

export function requestReferenceData(ctx: AdapterContext<IsupportSettings>): Promise<Ack> {
  return get(ctx, '/requestReferenceData/', 'requestReferenceData');
}

export type RequestCaseDataOptions = OptionsOf<typeof requestCaseDataActionOptionsSchema>;

/** The iSupport case id of a delivered case: option path, an isupport cross-reference, extensions, or the source id. */
export function isupportCaseId(request: DeliveryRequest, options: RequestCaseDataOptions): string | undefined {
  const fromPath = options.caseIdPath ? getPath(request.case, options.caseIdPath) : undefined;
  if (typeof fromPath === 'string' && fromPath.trim()) return fromPath.trim();
  const refs = [...request.references, ...(request.case.references ?? [])].filter((r) => r.system === 'isupport');
  const ref = refs.find((r) => r.kind === 'caseId' || r.kind === 'caseid') ?? refs.find((r) => !r.kind);
  if (ref) return ref.id;
  // An application id is the case id plus "/<category>-<n>" (US-UK(NI)-2015-100_0453-US/RENF-01).
  const application = refs.find((r) => r.kind === 'applicationId');
  if (application) return application.id.split('/')[0];
  const ext = request.case.extensions?.isupport?.caseId;
  if (typeof ext === 'string' && ext.trim()) return ext.trim();
  if (request.case.source.system === 'isupport' && request.case.source.id) return request.case.source.id;
  return undefined;
}

const requestCaseDataActionOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { caseIdPath: { type: 'string', description: 'Canonical path holding the iSupport case id.' } },
} as const satisfies ConstOptionsSchema;

export const requestCaseDataAction: ActionDefinition<IsupportSettings, typeof requestCaseDataActionOptionsSchema> = {
  description:
    'Asks iSupport to export one case (GET {api}/requestCaseData/{caseId}); the export folder arrives later on the file server and is read by the export source.',
  optionsSchema: requestCaseDataActionOptionsSchema,
  async deliver(request, ctx): Promise<DeliveryResult> {
    const caseId = isupportCaseId(request, request.options);
    if (!caseId) {
      throw new PermanentError('isupport: requestCaseData: the case has no iSupport case id (isupport reference, extensions.isupport.caseId or source.id)', {
        route: request.route,
        hubId: request.hubId,
        connection: ctx.connection.name,
        action: request.action,
      });
    }
    const ack = await requestCaseData(ctx, caseId);
    const references = ack.requestId ? [{ system: 'isupport', connection: ctx.connection.name, id: ack.requestId, kind: 'exportRequestId' }] : [];
    return { references, summary: { caseId, acknowledged: true, status: ack.status, requestId: ack.requestId ?? null } };
  },
};

const requestReferenceDataActionOptionsSchema = { type: 'object', additionalProperties: false, properties: {} } as const satisfies ConstOptionsSchema;

export const requestReferenceDataAction: ActionDefinition<IsupportSettings, typeof requestReferenceDataActionOptionsSchema> = {
  description:
    'Asks iSupport to export its reference tables (GET {api}/requestReferenceData/); the folder arrives later on the file server and the export source loads it into the code lookup.',
  optionsSchema: requestReferenceDataActionOptionsSchema,
  async deliver(_request, ctx): Promise<DeliveryResult> {
    const ack = await requestReferenceData(ctx);
    return { summary: { acknowledged: true, status: ack.status, requestId: ack.requestId ?? null } };
  },
};
