/**
 * /openapi.json (OpenAPI 3.1); /docs, Swagger UI for it (served from the installed swagger-ui-dist, same origin,
 * with a try-it that calls this hub); and /docs/plain, the same document as a page that needs no script.
 * The document is built from the endpoint specs the ops plugins validate with, the core API's specs, and every
 * other route the app serves (the adapters' webhook intake), found by walking the Express router.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import express, { type Express } from 'express';
import type { WebhookApiDoc, WebhookSourceDefinition } from '../core/adapter';
import type { Hub } from '../core/hub';
import { buildOpenApi, coreEndpoints, htmlPage, json, openApiPath, type DiscoveredRoute, type EndpointSpec, type JsonSchema } from './api-spec';
import { PAGE_CSP, securityHeaders, type EndpointRegistry } from './console';
import { html, type Html } from './html';
import { layout } from './views';

interface Layer {
  name?: string;
  rawPath?: string;
  route?: { path: string | string[]; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every method + path routed by the app (and routers mounted at its root); mounted sub-apps are left out. */
export function listRoutes(app: Express): Array<{ method: string; path: string }> {
  const out: Array<{ method: string; path: string }> = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const path of Array.isArray(layer.route.path) ? layer.route.path : [layer.route.path]) {
          for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push({ method, path });
        }
      } else if (layer.name === 'router' && (layer.rawPath === undefined || layer.rawPath === '/') && layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk(((app as unknown as { router?: { stack: Layer[] } }).router?.stack ?? []) as Layer[]);
  return out;
}

/** Which webhook source serves which path: each source mounts on a scratch router that is only read, never served. */
export function webhookRoutes(hub: Hub): Map<string, { description: string; api?: WebhookApiDoc; adapter?: string }> {
  const out = new Map<string, { description: string; api?: WebhookApiDoc; adapter?: string }>();
  const seen = new Set<string>();
  for (const route of hub.config.routes) {
    if (route.enabled === false) continue;
    const key = `${route.from.connection}.${route.from.source}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const conn = hub.runtime.connections.get(route.from.connection);
    const def = conn?.adapter.sources[route.from.source];
    if (!conn || def?.kind !== 'webhook') continue;
    const scratch = express.Router();
    try {
      (def as WebhookSourceDefinition<unknown>).mount(scratch, conn.ctx, async () => { throw new Error('documentation only'); }, conn.config.sources?.[route.from.source]?.options ?? {});
    } catch {
      continue;
    }
    const api = (def as WebhookSourceDefinition<unknown>).api;
    for (const r of listRoutes({ router: scratch } as unknown as Express)) out.set(`${r.method} ${r.path}`, { description: `${def.description} (source ${key}, adapter ${conn.adapter.name})`, api, adapter: conn.adapter.name });
  }
  return out;
}

/** The package version, from package.json (two levels up from src/ops, three from dist/src/ops). */
function packageVersion(): string {
  for (const up of ['../..', '../../..']) {
    const file = path.resolve(__dirname, up, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
  }
  return '0.0.0';
}

function schemaText(schema: unknown): string {
  return JSON.stringify(schema, null, 2);
}

function docsPage(doc: JsonSchema): string {
  const paths = doc.paths as Record<string, Record<string, JsonSchema>>;
  const byTag = new Map<string, Array<{ method: string; path: string; op: JsonSchema }>>();
  for (const [path, ops] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(ops)) {
      const tag = ((op.tags as string[] | undefined) ?? ['Other'])[0];
      byTag.set(tag, [...(byTag.get(tag) ?? []), { method, path, op }]);
    }
  }
  const opHtml = ({ method, path, op }: { method: string; path: string; op: JsonSchema }): Html => {
    const params = (op.parameters as Array<{ name: string; in: string; required: boolean; schema: JsonSchema }> | undefined) ?? [];
    const security = (op.security as Array<Record<string, unknown>> | undefined) ?? [];
    const body = op.requestBody as { content: Record<string, { schema: JsonSchema }> } | undefined;
    const responses = op.responses as Record<string, { description: string; content?: Record<string, { schema?: JsonSchema }> }>;
    return html`<div class="op" id="${String(op.operationId)}">
  <div><span class="method ${method}">${method}</span><code>${path}</code> <strong>${String(op.summary ?? '')}</strong></div>
  ${op.description ? html`<p class="muted">${String(op.description)}</p>` : ''}
  <p class="muted">Auth: ${security.length ? security.map((s) => Object.keys(s)[0]).join(' or ') : 'none'}</p>
  ${params.length ? html`<table><thead><tr><th>Parameter</th><th>In</th><th>Required</th><th>Schema</th></tr></thead><tbody>${params.map((p) => html`<tr><td><code>${p.name}</code></td><td>${p.in}</td><td>${p.required ? 'yes' : 'no'}</td><td><code>${JSON.stringify(p.schema)}</code></td></tr>`)}</tbody></table>` : ''}
  ${body ? Object.entries(body.content).map(([type, c]) => html`<details><summary>Request body (${type})</summary><pre>${schemaText(c.schema)}</pre></details>`) : ''}
  <ul>${Object.entries(responses).map(([status, r]) => html`<li><strong>${status}</strong> ${r.description}${r.content ? html` <span class="muted">(${Object.keys(r.content).join(', ')})</span>${Object.values(r.content).map((c) => (c.schema && Object.keys(c.schema).length > 1 ? html`<details><summary>schema</summary><pre>${schemaText(c.schema)}</pre></details>` : ''))}` : ''}</li>`)}</ul>
</div>`;
  };
  const info = doc.info as { title: string; version: string; description: string };
  const body = html`<div class="docs"><h1>${info.title} <span class="badge">${info.version}</span></h1>
<p>${info.description}</p>
<p>Machine-readable: <a href="/openapi.json">/openapi.json</a> (OpenAPI ${String(doc.openapi)}). Shared schemas (the canonical case and others) are listed at the end.</p>
<nav>${[...byTag.keys()].map((t) => html`<a href="#tag-${t.replace(/\W+/g, '-')}">${t}</a> · `)}<a href="#schemas">Schemas</a></nav>
${[...byTag].map(([tag, ops]) => html`<h2 id="tag-${tag.replace(/\W+/g, '-')}">${tag}</h2>${ops.map(opHtml)}`)}
<h2 id="schemas">Schemas</h2>
${Object.entries((doc.components as { schemas: Record<string, JsonSchema> }).schemas).map(([name, schema]) => html`<details id="schema-${name}"><summary><code>${name}</code></summary><pre>${schemaText(schema)}</pre></details>`)}
</div>`;
  return layout('API docs', { active: 'docs' }, body);
}

/** Files of swagger-ui-dist the /docs page loads, and our own initializer (no inline script under the CSP). */
const SWAGGER_FILES: Record<string, string> = { 'swagger-ui.css': 'text/css', 'swagger-ui-bundle.js': 'text/javascript', 'swagger-ui-standalone-preset.js': 'text/javascript', 'favicon-32x32.png': 'image/png' };
const SWAGGER_INIT = `'use strict';
window.addEventListener('load', function () {
  window.ui = SwaggerUIBundle({
    url: '/openapi.json',
    dom_id: '#swagger-ui',
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: 'StandaloneLayout',
    validatorUrl: null,
    tryItOutEnabled: false,
    persistAuthorization: false,
  });
});
`;
const SWAGGER_CSS_FIX = '.swagger-ui .topbar { display: none; } body { margin: 0; } .caseway-bar { font: 14px system-ui, sans-serif; padding: 8px 20px; background: #16202e; } .caseway-bar a { color: #dfe7f5; margin-right: 16px; text-decoration: none; }';

function swaggerPage(): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Caseway API docs</title>
<link rel="icon" href="/docs/assets/favicon-32x32.png">
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="stylesheet" href="/docs/assets/caseway.css">
</head>
<body>
<div class="caseway-bar"><a href="/ops">Caseway ops</a><a href="/openapi.json">openapi.json</a><a href="/docs/plain">plain page (no script)</a></div>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-ui-standalone-preset.js"></script>
<script src="/docs/assets/init.js"></script>
</body>
</html>`;
}

/** Swagger UI styles elements inline, so /docs allows inline styles (not scripts); everything else stays same-origin. */
export const DOCS_CSP = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

export function apiDocsPlugin(registry: EndpointRegistry) {
  return (app: Express, hub: Hub): void => {
    const own: EndpointSpec[] = [
      { method: 'get', path: '/openapi.json', operationId: 'openapi', summary: 'This OpenAPI 3.1 document', tags: ['Docs'], responses: { 200: { description: 'The document', content: json({ type: 'object' }) } } },
      { method: 'get', path: '/docs', operationId: 'docs', summary: 'Swagger UI for this document (served by the hub, try-it calls this hub)', tags: ['Docs'], responses: { 200: { description: 'The page', content: htmlPage } } },
      { method: 'get', path: '/docs/plain', operationId: 'docsPlain', summary: 'The API documentation as a page that needs no script', tags: ['Docs'], responses: { 200: { description: 'The page', content: htmlPage } } },
      { method: 'get', path: '/docs/assets/:file', operationId: 'docsAsset', summary: "Swagger UI's files (from swagger-ui-dist) and its initializer", tags: ['Docs'], params: { file: { type: 'string', pattern: '^[a-z0-9.-]{1,64}$' } }, responses: { 200: { description: 'The file', content: { 'text/javascript': { type: 'string' }, 'text/css': { type: 'string' }, 'image/png': { type: 'string', contentMediaType: 'image/png' } } }, 404: { description: 'No such file', content: json({ $ref: '#/components/schemas/Error' }) } } },
    ];
    own.forEach((s) => registry.add(s));
    let webhooks: Map<string, { description: string; api?: WebhookApiDoc; adapter?: string }> | undefined;
    const document = () => {
      webhooks ??= webhookRoutes(hub);
      const specs = [...coreEndpoints(), ...registry.specs];
      const known = new Set(specs.map((s) => `${s.method} ${openApiPath(s.path)}`));
      const discovered: DiscoveredRoute[] = listRoutes(app)
        .filter((r) => !known.has(`${r.method} ${openApiPath(r.path)}`))
        .map((r) => ({ ...r, ...webhooks?.get(`${r.method} ${r.path}`) }));
      return buildOpenApi(specs, discovered, { title: `Caseway${hub.config.hub?.name ? ` (${hub.config.hub.name})` : ''} HTTP API`, version: packageVersion(), serverUrl: hub.config.hub?.publicUrl });
    };
    app.get('/openapi.json', (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.json(document());
    });
    app.get('/docs', securityHeaders(DOCS_CSP), (_req, res) => {
      res.type('html').send(swaggerPage());
    });
    app.get('/docs/plain', securityHeaders(PAGE_CSP), (_req, res) => {
      res.type('html').send(docsPage(document()));
    });
    const swaggerDir = path.dirname(require.resolve('swagger-ui-dist/package.json'));
    app.get('/docs/assets/:file', securityHeaders(DOCS_CSP), (req, res) => {
      const file = String(req.params.file);
      res.setHeader('Cache-Control', 'public, max-age=3600');
      if (file === 'init.js') return void res.type('text/javascript').send(SWAGGER_INIT);
      if (file === 'caseway.css') return void res.type('text/css').send(SWAGGER_CSS_FIX);
      const type = SWAGGER_FILES[file];
      if (!type) return void res.status(404).json({ error: 'Not Found' });
      res.type(type).send(readFileSync(path.join(swaggerDir, file)));
    });
  };
}
