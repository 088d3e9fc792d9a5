/**
 * One description per HTTP endpoint, used twice: by `validated()` to check a request's path parameters, query and
 * body (ajv) before the handler runs, and by `buildOpenApi()` to publish the OpenAPI 3.1 document. The response
 * schemas of the core API come from the same sources the code uses (the canonical case schema, the stats fields,
 * the trace stages), so the document cannot drift from what is served.
 */
import type { WebhookApiDoc } from '../core/adapter';
import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import canonicalSchema from '../../schemas/canonical-case.schema.json';
import { STAT_FIELDS } from '../core/store/stats-store';

export type JsonSchema = Record<string, unknown>;
export type SecurityName = 'apiToken' | 'opsSession' | 'opsProxy' | 'opsLoginForm';

export interface ResponseSpec {
  description: string;
  /** content type -> schema (omit for an empty body). */
  content?: Record<string, JsonSchema>;
}

export interface EndpointSpec {
  method: 'get' | 'post' | 'put' | 'delete';
  /** Express path, e.g. /ops/cases/:hubId. */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  /** Any one of these schemes is enough; absent = public. */
  security?: SecurityName[];
  /** Only the operator role may call it. */
  operatorOnly?: boolean;
  params?: Record<string, JsonSchema>;
  query?: { properties: Record<string, JsonSchema>; required?: string[] };
  body?: { contentType: 'application/x-www-form-urlencoded' | 'application/json'; schema: JsonSchema; required?: boolean };
  responses: Record<string, ResponseSpec>;
}

export interface ValidatedInput {
  params: Record<string, unknown>;
  query: Record<string, unknown>;
  body: Record<string, unknown>;
}

const str = (extra: JsonSchema = {}): JsonSchema => ({ type: 'string', ...extra });
const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
export const json = (schema: JsonSchema) => ({ 'application/json': schema });
export const htmlPage = { 'text/html': str() };
const errorResponse = (description: string): ResponseSpec => ({ description, content: json(ref('Error')) });
/** An /api error: RFC 9457 problem details. */
const problemResponse = (description: string): ResponseSpec => ({ description, content: { 'application/problem+json': ref('Problem') } });

// ---------------------------------------------------------------------------------------------------------------
// Shared schemas (components)

function convertDraft07(schema: JsonSchema): { root: JsonSchema; definitions: Record<string, JsonSchema> } {
  const rewrite = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rewrite);
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        if (k === '$schema' || k === '$id' || k === 'definitions') continue;
        out[k] = k === '$ref' && typeof v === 'string' ? v.replace('#/definitions/', '#/components/schemas/') : rewrite(v);
      }
      return out;
    }
    return value;
  };
  const definitions = (schema.definitions ?? {}) as Record<string, JsonSchema>;
  return {
    root: rewrite(schema) as JsonSchema,
    definitions: Object.fromEntries(Object.entries(definitions).map(([name, def]) => [name, rewrite(def) as JsonSchema])),
  };
}

export const TRACE_STAGES = ['received', 'echo', 'joined', 'deduplicated', 'routed', 'filtered', 'delivered', 'skipped', 'retrying', 'failed', 'dead', 'replayed', 'discarded'];

function componentSchemas(): Record<string, JsonSchema> {
  const canonical = convertDraft07(canonicalSchema as JsonSchema);
  const opt = (s: JsonSchema) => s;
  const dt = str({ format: 'date-time' });
  const day = str({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' });
  const counts = (fields: readonly string[]) => ({ type: 'object', properties: Object.fromEntries(fields.map((f) => [f, { type: 'integer' }])) });
  return {
    Error: { type: 'object', required: ['error'], properties: { error: str() } },
    Problem: {
      type: 'object',
      description: 'RFC 9457 problem details.',
      required: ['type', 'title', 'status'],
      properties: { type: str({ description: 'about:blank: the HTTP status says it all' }), title: str(), status: { type: 'integer' }, detail: str(), instance: str({ description: 'The request path' }) },
      examples: [{ type: 'about:blank', title: 'Not Found', status: 404, detail: 'No connection "nope" in the config', instance: '/api/dead-letters/nope/d-1/replay' }],
    },
    CanonicalCase: canonical.root,
    ...canonical.definitions,
    CaseMeta: {
      type: 'object',
      properties: { hubId: str(), type: str(), sourceSystem: str(), sourceConnection: str(), latestPayload: str({ description: 'Reference of the latest stored (encrypted) payload.' }), createdAt: dt, updatedAt: dt },
    },
    CaseViewInfo: {
      type: 'object',
      required: ['system', 'connection', 'eventId', 'at', 'origin'],
      description: 'One system\'s view of a case, without its content.',
      properties: { system: str(), connection: str(), source: str(), eventId: str(), eventKey: str(), at: dt, origin: { type: 'boolean' }, type: str(), status: str() },
    },
    TraceEntry: {
      type: 'object',
      required: ['at', 'stage'],
      description: 'One hop of a case through the hub. Never holds personal data.',
      properties: {
        at: dt,
        stage: { type: 'string', enum: TRACE_STAGES },
        route: str(),
        target: str(),
        connection: str(),
        action: str(),
        deliveryId: str(),
        attempt: { type: 'integer' },
        durationMs: { type: 'number' },
        summary: { type: 'object', additionalProperties: { type: ['string', 'number', 'boolean', 'null'] } },
        error: { type: 'object', description: 'code, message, retryable and context of the failure (safe to show).' },
        by: str({ description: 'Who replayed or discarded (cli, api, ops:<user>).' }),
      },
    },
    RouteStats: { ...counts(STAT_FIELDS), properties: { ...counts(STAT_FIELDS).properties, lastActivity: dt } },
    DeadLetter: {
      type: 'object',
      required: ['id', 'connection', 'queue', 'action', 'hubId', 'route', 'target', 'failedReason', 'attemptsMade'],
      properties: { id: str(), connection: str(), queue: str(), action: str(), hubId: str(), route: str(), target: str(), failedReason: str(), attemptsMade: { type: 'integer' }, failedAt: dt },
    },
    Readiness: {
      type: 'object',
      required: ['ready', 'redis', 'config', 'connections'],
      properties: {
        ready: { type: 'boolean' },
        redis: str(),
        redisRole: {
          type: 'object',
          description: "The hub's Redis as it answers: its role, replicas, Sentinel master group, and whether a failover is under way (then the hub is not ready: intake answers 503)",
          required: ['role', 'failover'],
          properties: { role: str(), connectedReplicas: { type: 'integer' }, masterLinkStatus: str(), minReplicas: { type: 'integer' }, sentinel: str(), failover: { type: 'string', enum: ['none', 'switching'] }, failoverReason: str() },
        },
        config: str(),
        connections: {
          type: 'object',
          additionalProperties: {
            type: 'object',
            properties: { adapter: str(), healthy: { type: ['boolean', 'null'] }, lastSuccess: dt, lastError: dt, lastErrorMessage: str(), check: str() },
          },
        },
      },
    },
    ReconciliationRow: {
      type: 'object',
      required: ['day', 'route', 'status', 'caseGap', 'deliveryGap'],
      properties: {
        day,
        route: str(),
        ...Object.fromEntries(
          ['received', 'filtered', 'deduplicated', 'echo', 'routed', 'deliveries', 'delivered', 'targetFiltered', 'failedAttempts', 'discarded', 'replayed', 'deadOpen', 'inFlight', 'retrying', 'caseGap', 'deliveryGap'].map((f) => [f, { type: 'integer' }]),
        ),
        status: { type: 'string', enum: ['balanced', 'in-flight', 'mismatch', 'unknown'] },
        lastActivity: dt,
      },
    },
    Reconciliation: {
      type: 'object',
      required: ['checkedAt', 'days', 'rows', 'complete'],
      properties: { checkedAt: dt, days: { type: 'array', items: day }, rows: { type: 'array', items: ref('ReconciliationRow') }, complete: { type: 'boolean' } },
    },
    CircuitState: {
      type: 'object',
      required: ['state', 'consecutiveFailures'],
      properties: { state: { type: 'string', enum: ['closed', 'open', 'half-open'] }, consecutiveFailures: { type: 'integer' }, lastFailureAt: dt, lastSuccessAt: dt, since: dt },
    },
    OpsOverview: {
      type: 'object',
      required: ['generatedAt', 'periodDays', 'days', 'routes', 'connections', 'queues', 'deadLetters', 'reconciliation'],
      properties: {
        generatedAt: dt,
        periodDays: { type: 'integer' },
        days: { type: 'array', items: day },
        routes: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'enabled', 'from', 'to', 'totals', 'deadLetters', 'inFlight', 'reconciliation'],
            properties: {
              name: str(),
              description: str(),
              daily: { type: 'array', items: { type: 'object', properties: { day, received: { type: 'integer' }, delivered: { type: 'integer' }, failed: { type: 'integer' } } } },
              enabled: { type: 'boolean' },
              from: { type: 'object', properties: { connection: str(), source: str() } },
              to: { type: 'array', items: { type: 'object', properties: { id: str(), connection: str(), action: str() } } },
              totals: counts(STAT_FIELDS),
              deadLetters: { type: 'integer' },
              inFlight: { type: 'integer' },
              lastActivity: dt,
              reconciliation: {
                type: 'object',
                properties: { status: { type: 'string', enum: ['balanced', 'in-flight', 'mismatch', 'unknown'] }, unaccounted: { type: 'integer' }, mismatchedDays: { type: 'array', items: day } },
              },
            },
          },
        },
        connections: {
          type: 'array',
          items: {
            type: 'object',
            required: ['name', 'adapter', 'polls', 'attempts'],
            properties: {
              name: str(),
              adapter: str(),
              lastSuccess: dt,
              lastError: dt,
              lastErrorMessage: str(),
              polls: { type: 'array', items: { type: 'object', properties: { source: str(), lastRun: dt } } },
              circuit: ref('CircuitState'),
              queue: str(),
              attempts: { type: 'integer' },
            },
          },
        },
        queues: { type: 'array', items: { type: 'object', properties: { name: str(), counts: { type: 'object', additionalProperties: { type: 'integer' } }, backlog: { type: 'integer' }, oldestWaiting: dt, paused: { type: 'boolean' } } } },
        deadLetters: {
          type: 'object',
          properties: {
            total: { type: 'integer' },
            groups: {
              type: 'array',
              items: {
                type: 'object',
                properties: { route: str(), error: str(), count: { type: 'integer' }, connections: { type: 'array', items: str() }, newest: dt, items: { type: 'array', items: ref('DeadLetter') } },
              },
            },
          },
        },
        reconciliation: ref('Reconciliation'),
      },
    },
    CaseTimeline: {
      type: 'object',
      required: ['hubId', 'references', 'trace', 'targets'],
      properties: {
        hubId: str(),
        meta: { oneOf: [ref('CaseMeta'), { type: 'null' }] },
        references: { type: 'array', items: ref('CrossReference') },
        trace: { type: 'array', items: ref('TraceEntry') },
        targets: {
          type: 'array',
          items: { type: 'object', properties: { route: str(), target: str(), connection: str(), deliveryId: str(), stage: str(), at: dt } },
        },
      },
    },
    DryRun: {
      type: 'object',
      required: ['deadLetter', 'kind', 'masked'],
      properties: {
        deadLetter: ref('DeadLetter'),
        target: { type: 'object', properties: { id: str(), connection: str(), action: str(), mapping: { type: 'object' }, options: { type: 'object' } } },
        kind: { type: 'string', enum: ['preview', 'case', 'none'], description: "preview: the action's own peer requests; case: the mapped canonical case." },
        requests: { type: 'array', items: { type: 'object', required: ['operation'], properties: { operation: str(), body: {} } } },
        case: opt(ref('CanonicalCase')),
        masked: { type: 'boolean', description: 'True when personal data is masked (viewers).' },
        problem: str(),
        error: {
          type: 'object',
          description: "The last error as the trace recorded it: status, codes, the hub's message and field paths (never values, nor the peer's own words).",
          properties: { code: str(), status: { type: 'integer' }, peerCode: str(), retryable: { type: 'boolean' }, message: str(), fields: { type: 'array', items: str() }, fieldCodes: { type: 'array', items: str() }, hasPeerDetail: { type: 'boolean', description: "The peer's own words were kept encrypted (operators: /ops/cases/{hubId}/peer-errors, audited)." } },
        },
        permanent: { type: 'boolean', description: 'The last error was permanent: a replay without a change will fail again.' },
        diff: { type: 'array', description: 'Line diff: the request that failed (-) against the one a replay would send (+).', items: { type: 'object', properties: { op: { type: 'string', enum: [' ', '+', '-'] }, text: str() } } },
        diffNote: str(),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// The core API (src/http/app.ts)

const idParam = { id: str({ minLength: 1, maxLength: 200, description: "Any id of the case: the hub id or an id a peer system gave it (its case id, reference number ...)." }) };
const dlParams = { connection: str({ pattern: '^[a-z][a-z0-9-]{0,62}$' }), id: str({ minLength: 1, maxLength: 200 }) };

export function coreEndpoints(): EndpointSpec[] {
  const api: SecurityName[] = ['apiToken'];
  const notFound = problemResponse('No such case, dead letter or connection');
  const unauthorized = problemResponse('Missing or wrong API token (when CASEWAY_API_TOKEN is set)');
  const badRequest = problemResponse('Invalid path or query parameter (the detail names it)');
  return [
    { method: 'get', path: '/healthz', operationId: 'health', summary: 'Liveness: the process answers', tags: ['Health'], responses: { 200: { description: 'Alive', content: json({ type: 'object', properties: { status: { const: 'ok' } } }) } } },
    { method: 'get', path: '/readyz', operationId: 'readiness', summary: 'Readiness: Redis answers as a writable primary (no failover under way) and the config is loaded; Redis role; last health of each connection', tags: ['Health'], responses: { 200: { description: 'Ready', content: json(ref('Readiness')) }, 503: { description: 'Not ready', content: json(ref('Readiness')) } } },
    {
      method: 'get', path: '/api/cases/:id', operationId: 'getCase', summary: 'A case by any of its ids: the merged canonical case (personal data) and which system views it was built from', tags: ['Cases'], security: api, params: idParam,
      description: 'case is merged from each system\'s latest view by the precedence in docs/canonical-model.md (config hub.merge); views lists them (no content): system, connection, when, which event, and which one is the origin. unavailableViews names the connections whose view could not be read (its event\'s stored case is gone: lost with a Redis failover, or deleted by hand) and so is not in the merge; the event, sent again or replayed, stores it again.',
      responses: { 200: { description: 'The case', content: json({ type: 'object', required: ['hubId', 'views', 'unavailableViews'], properties: { hubId: str(), meta: ref('CaseMeta'), references: { type: 'array', items: ref('CrossReference') }, case: ref('CanonicalCase'), views: { type: 'array', items: ref('CaseViewInfo') }, unavailableViews: { type: 'array', items: str() } } }) }, 400: badRequest, 401: unauthorized, 404: notFound },
    },
    {
      method: 'get', path: '/api/cases/:id/views/:connection', operationId: 'getCaseView', summary: 'What one system (connection) last said about a case: its own view (personal data)', tags: ['Cases'], security: api, params: { ...idParam, connection: str({ pattern: '^[a-z][a-z0-9-]{0,62}$' }) },
      responses: { 200: { description: 'The view', content: json({ type: 'object', required: ['hubId', 'view'], properties: { hubId: str(), view: { type: 'object', properties: { system: str(), connection: str(), source: str(), eventId: str(), eventKey: str(), at: str({ format: 'date-time' }), case: ref('CanonicalCase') } } } }) }, 400: badRequest, 401: unauthorized, 404: notFound },
    },
    {
      method: 'get', path: '/api/cases/:id/trace', operationId: 'getCaseTrace', summary: "A case's trace: every hop with timings, no personal data", tags: ['Cases'], security: api, params: idParam,
      responses: { 200: { description: 'The trace', content: json({ type: 'object', required: ['hubId', 'trace'], properties: { hubId: str(), references: { type: 'array', items: ref('CrossReference') }, trace: { type: 'array', items: ref('TraceEntry') } } }) }, 400: badRequest, 401: unauthorized, 404: notFound },
    },
    {
      method: 'get', path: '/api/routes', operationId: 'listRoutes', summary: "Routes with one day's counters", tags: ['Routes'], security: api,
      query: { properties: { day: str({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'YYYY-MM-DD (UTC); default today.' }) } },
      responses: {
        200: {
          description: 'Routes',
          content: json({
            type: 'object',
            properties: {
              day: str(),
              routes: { type: 'array', items: { type: 'object', properties: { name: str(), from: { type: 'object', properties: { connection: str(), source: str() } }, to: { type: 'array', items: { type: 'object', properties: { id: str(), connection: str(), action: str() } } }, stats: ref('RouteStats') } } },
            },
          }),
        },
        400: badRequest,
        401: unauthorized,
      },
    },
    {
      method: 'get', path: '/api/dead-letters', operationId: 'listDeadLetters', summary: 'Dead letters (deliveries that exhausted their attempts or failed permanently)', tags: ['Dead letters'], security: api,
      query: { properties: { connection: str({ pattern: '^[a-z][a-z0-9-]{0,62}$', description: 'Only this target connection.' }) } },
      responses: { 200: { description: 'Dead letters', content: json({ type: 'object', properties: { deadLetters: { type: 'array', items: ref('DeadLetter') } } }) }, 400: badRequest, 401: unauthorized, 404: problemResponse('No such connection') },
    },
    {
      method: 'post', path: '/api/dead-letters/:connection/:id/replay', operationId: 'replayDeadLetter', summary: 'Replay a dead letter with fresh attempts (audited as "api")', tags: ['Dead letters'], security: api, params: dlParams,
      responses: { 202: { description: 'Queued again', content: json({ type: 'object', properties: { replayed: str() } }) }, 400: badRequest, 401: unauthorized, 404: notFound },
    },
    {
      method: 'delete', path: '/api/dead-letters/:connection/:id', operationId: 'discardDeadLetter', summary: 'Discard a dead letter (audited as "api")', tags: ['Dead letters'], security: api, params: dlParams,
      responses: { 200: { description: 'Discarded', content: json({ type: 'object', properties: { discarded: str() } }) }, 400: badRequest, 401: unauthorized, 404: notFound },
    },
    {
      method: 'get', path: '/api/sandboxes', operationId: 'listSandboxes', summary: 'URLs of the sandbox peers this hub started', tags: ['Sandboxes'], security: api,
      responses: { 200: { description: 'Sandboxes', content: json({ type: 'object', properties: { sandboxes: { type: 'object', additionalProperties: { type: 'object', additionalProperties: str() } } } }) }, 401: unauthorized },
    },
  ];
}

// ---------------------------------------------------------------------------------------------------------------
// Request validation

const inputAjv = new Ajv({ allErrors: true, strict: false, coerceTypes: true, useDefaults: true, allowUnionTypes: true });
addFormats(inputAjv);

function objectSchema(properties: Record<string, JsonSchema> | undefined, required: string[] = []): JsonSchema {
  return { type: 'object', properties: properties ?? {}, required };
}

function describe(where: string, validate: ValidateFunction): string {
  return (validate.errors ?? []).map((e) => `${where}${e.instancePath || ''}${e.keyword === 'required' ? `/${(e.params as { missingProperty: string }).missingProperty}` : ''} ${e.message ?? 'is invalid'}`).join('; ');
}

/** Middleware checking params, query and body against the endpoint's schemas; the checked values go to res.locals.input. */
export function validated(spec: EndpointSpec): RequestHandler {
  const params = inputAjv.compile(objectSchema(spec.params, Object.keys(spec.params ?? {})));
  const query = inputAjv.compile(objectSchema(spec.query?.properties, spec.query?.required));
  const body = spec.body ? inputAjv.compile(spec.body.schema) : undefined;
  return (req: Request, res: Response, next: NextFunction) => {
    // An empty form field (a filter left at "any") means the parameter was not given.
    const given = Object.entries(req.query as Record<string, unknown>).filter(([, v]) => v !== '');
    const input: ValidatedInput = { params: { ...req.params }, query: Object.fromEntries(given), body: { ...((req.body as Record<string, unknown> | undefined) ?? {}) } };
    const problems: string[] = [];
    if (!params(input.params)) problems.push(describe('path', params));
    if (!query(input.query)) problems.push(describe('query', query));
    if (body && !body(input.body)) problems.push(describe('body', body));
    if (problems.length) return void res.status(400).json({ error: `Invalid request: ${problems.join('; ')}` });
    res.locals.input = input;
    next();
  };
}

export function inputOf(res: Response): ValidatedInput {
  return res.locals.input as ValidatedInput;
}

// ---------------------------------------------------------------------------------------------------------------
// The document

export interface DiscoveredRoute {
  method: string;
  path: string;
  description?: string;
  /** What the adapter that mounted it says about it. */
  api?: WebhookApiDoc;
  /** The adapter that mounted it (names its security scheme). */
  adapter?: string;
}

/** A standalone JSON Schema embedded in the document: its own $schema and $id would re-root it. */
function embedded(schema: JsonSchema): JsonSchema {
  const { $schema: _schema, $id: _id, ...rest } = schema as Record<string, unknown>;
  return rest as JsonSchema;
}

export function openApiPath(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

const SECURITY_SCHEMES: Record<SecurityName, JsonSchema> = {
  apiToken: { type: 'http', scheme: 'bearer', description: 'CASEWAY_API_TOKEN; the /api endpoints are open when it is not set (local sandbox only).' },
  opsSession: { type: 'apiKey', in: 'cookie', name: 'cw_ops', description: 'Ops console session from POST /ops/login (ops.auth: login).' },
  opsProxy: { type: 'apiKey', in: 'header', name: 'X-Forwarded-User', description: 'User set by a trusted reverse proxy (ops.auth: proxy; header name configurable).' },
  opsLoginForm: { type: 'apiKey', in: 'cookie', name: 'cw_ops_login', description: 'Login-form CSRF cookie set by GET /ops/login.' },
};

const TAG_DESCRIPTIONS: Record<string, string> = {
  Health: 'Liveness and readiness probes.',
  Cases: "Cases by any of their ids, with payload or trace (integrators' API, Bearer token).",
  Routes: 'Routes and their daily counters.',
  'Dead letters': 'Deliveries that failed for good: list, replay, discard (each audited).',
  Sandboxes: 'Sandbox peers started by this hub (local runs).',
  'Ops console': 'The operations console: server-rendered pages and form actions (ops sign-in).',
  'Ops API': 'The console data as JSON (ops sign-in).',
  Metrics: 'Prometheus metrics.',
  Docs: 'This document and its pages.',
  'Webhook intake': "Endpoints that peer adapters mount to receive cases (each with the peer's own credentials).",
};

/** Every endpoint with validated input can answer 400; documented even when the spec did not list it. */
function withInputError(spec: EndpointSpec): Record<string, ResponseSpec> {
  if (spec.responses['400'] || (!spec.params && !spec.query && !spec.body)) return spec.responses;
  const api = spec.path.startsWith('/api/');
  return { ...spec.responses, 400: { description: 'Invalid input (the answer names the parameter)', content: api ? { 'application/problem+json': ref('Problem') } : spec.path.startsWith('/ops/') && !spec.path.startsWith('/ops/api/') ? htmlPage : json(ref('Error')) } };
}

export function buildOpenApi(specs: EndpointSpec[], discovered: DiscoveredRoute[], info: { title: string; version: string; serverUrl?: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const add = (method: string, path: string, op: JsonSchema) => {
    const p = openApiPath(path);
    paths[p] ??= {};
    paths[p][method] = op;
  };
  for (const spec of specs) {
    const parameters: JsonSchema[] = [
      ...Object.entries(spec.params ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
      ...Object.entries(spec.query?.properties ?? {}).map(([name, schema]) => ({ name, in: 'query', required: (spec.query?.required ?? []).includes(name), schema })),
    ];
    const op: JsonSchema = {
      operationId: spec.operationId,
      summary: spec.summary,
      ...(spec.description || spec.operatorOnly ? { description: [spec.description, spec.operatorOnly ? 'Requires the operator role; viewers get 403.' : undefined].filter(Boolean).join('\n\n') } : {}),
      tags: spec.tags,
      ...(parameters.length ? { parameters } : {}),
      ...(spec.body ? { requestBody: { required: spec.body.required ?? true, content: { [spec.body.contentType]: { schema: spec.body.schema } } } } : {}),
      responses: Object.fromEntries(
        Object.entries(withInputError(spec)).map(([status, r]) => [status, { description: r.description, ...(r.content ? { content: Object.fromEntries(Object.entries(r.content).map(([type, schema]) => [type, { schema }])) } : {}) }]),
      ),
      security: spec.security ? spec.security.map((s) => ({ [s]: [] })) : [],
    };
    add(spec.method, spec.path, op);
  }
  const securitySchemes: Record<string, JsonSchema> = { ...SECURITY_SCHEMES };
  for (const route of discovered) {
    const p = openApiPath(route.path);
    if (paths[p]?.[route.method]) continue;
    const params = [...route.path.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: str() }));
    const api = route.api;
    let security: JsonSchema[] = [];
    if (api?.securityScheme) {
      const { schemeName, ...scheme } = api.securityScheme;
      const name = schemeName ?? `${(route.adapter ?? 'webhook').replace(/[^A-Za-z0-9._-]/g, '_')}ApiKey`;
      securitySchemes[name] = scheme;
      security = [{ [name]: [] }];
    }
    const examples = Object.entries(api?.examples ?? {});
    const requestType = api?.requestContentType ?? (api?.requestSchema ? 'application/json' : '*/*');
    const responses: Record<string, JsonSchema> = api?.responses
      ? Object.fromEntries(
          Object.entries(api.responses).map(([status, r]) => {
            const shown = examples.filter(([, e]) => String(e.status) === status);
            const content = r.schema || shown.length ? { 'application/json': { schema: r.schema ? embedded(r.schema) : {}, ...(shown.length ? { examples: Object.fromEntries(shown.map(([n, e]) => [n, { summary: e.summary, value: e.response }])) } : {}) } } : undefined;
            return [status, { description: r.description, ...(content ? { content } : {}) }];
          }),
        )
      : { default: { description: "The adapter's answer to the peer" } };
    add(route.method, route.path, {
      operationId: `webhook_${route.method}_${route.path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, '')}`,
      summary: route.description ?? 'Webhook intake of a peer adapter',
      description: `Mounted by an adapter source feeding an enabled route. ${api?.authentication ? `Authentication: ${api.authentication}.` : 'The adapter parses and authenticates the request itself (see the adapter README for its body and credentials).'}`,
      tags: ['Webhook intake'],
      ...(params.length ? { parameters: params } : {}),
      ...(route.method === 'post' || route.method === 'put'
        ? {
            requestBody: {
              required: true,
              content: { [requestType]: { schema: api?.requestSchema ? embedded(api.requestSchema) : {}, ...(examples.length ? { examples: Object.fromEntries(examples.map(([n, e]) => [n, { summary: e.summary, value: e.request }])) } : {}) } },
            },
          }
        : {}),
      responses,
      security,
    });
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: info.title,
      version: info.version,
      description: 'Caseway routes cases between case-management systems. /api is the integrators\' API (Bearer token), the webhook paths are the peers\' intake (their own credentials), /ops is the operations console (ops login), /metrics is for Prometheus.',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [info.serverUrl ? { url: info.serverUrl } : { url: '/', description: 'This hub' }],
    tags: [...new Set([...specs.flatMap((s) => s.tags), ...(discovered.length ? ['Webhook intake'] : [])])].map((name) => ({ name, ...(TAG_DESCRIPTIONS[name] ? { description: TAG_DESCRIPTIONS[name] } : {}) })),
    paths: Object.fromEntries(Object.entries(paths).sort(([a], [b]) => a.localeCompare(b))),
    components: { schemas: componentSchemas(), securitySchemes },
  };
}
