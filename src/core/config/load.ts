/**
 * Reads, substitutes and validates the integrator's YAML. Every problem is reported at once, each naming the file,
 * the path inside it and the reason; the hub refuses to start on any of them.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import type { JsonSchema, RegisteredAdapter } from '../adapter';
import { ConfigError, ConfigErrors } from '../errors';
import type { AdapterRegistry } from '../registry';
import { filterPaths } from '../routing/filter';
import { mappingPaths } from '../routing/mapping';
import { parsePath } from '../path';
import configSchema from '../../../schemas/caseway-config.schema.json';
import { compileOnce, createAjv, describeAjvErrors } from './ajv';
import { substituteEnv } from './env';
import type { CasewayConfig, LoadedConfig } from './types';

const ajv = createAjv();
const validateShape = ajv.compile(configSchema);

export const DEFAULT_CONFIG_FILE = 'config/caseway.yaml';

/** A sandbox supplies the connection's required settings, so only the given ones are checked before it starts. */
const relaxed = new WeakMap<JsonSchema, JsonSchema>();
export function relaxRequired(schema: JsonSchema): JsonSchema {
  let out = relaxed.get(schema);
  if (!out) {
    const { required: _dropped, $id: _id, ...rest } = schema;
    out = rest;
    relaxed.set(schema, out);
  }
  return out;
}

function known(names: string[]): string {
  return names.length ? ` (known: ${names.join(', ')})` : ' (none defined)';
}

function checkSchema(errors: ConfigError[], file: string, at: string, schema: JsonSchema | undefined, value: unknown): void {
  if (!schema) return;
  const validate = compileOnce(ajv, schema);
  if (!validate(value ?? {})) {
    for (const e of describeAjvErrors(validate.errors, at)) errors.push(new ConfigError(file, e.path, e.reason));
  }
}

function checkPaths(errors: ConfigError[], file: string, at: string, paths: string[]): void {
  for (const p of paths) {
    try {
      parsePath(p);
    } catch {
      errors.push(new ConfigError(file, at, `invalid canonical path "${p}"`));
    }
  }
}

function checkReferences(config: CasewayConfig, file: string, registry: AdapterRegistry): ConfigError[] {
  const errors: ConfigError[] = [];
  const adapters = new Map<string, RegisteredAdapter>();
  for (const [name, conn] of Object.entries(config.connections)) {
    const adapter = registry.get(conn.adapter);
    if (!adapter) {
      errors.push(new ConfigError(file, `/connections/${name}/adapter`, `unknown adapter "${conn.adapter}"${known(registry.names())}`));
      continue;
    }
    adapters.set(name, adapter);
    if (conn.sandbox && !adapter.sandbox) errors.push(new ConfigError(file, `/connections/${name}/sandbox`, `adapter "${adapter.name}" has no sandbox`));
    const schema = conn.sandbox ? relaxRequired(adapter.settingsSchema) : adapter.settingsSchema;
    checkSchema(errors, file, `/connections/${name}/settings`, schema, conn.settings);
    for (const [sourceName, source] of Object.entries(conn.sources ?? {})) {
      const def = adapter.sources[sourceName];
      if (!def) {
        errors.push(new ConfigError(file, `/connections/${name}/sources/${sourceName}`, `unknown source "${sourceName}" for adapter "${adapter.name}"${known(Object.keys(adapter.sources))}`));
        continue;
      }
      checkSchema(errors, file, `/connections/${name}/sources/${sourceName}/options`, def.optionsSchema, source.options);
    }
  }
  const routeNames = new Set<string>();
  config.routes.forEach((route, r) => {
    const at = `/routes/${r}`;
    if (routeNames.has(route.name)) errors.push(new ConfigError(file, `${at}/name`, `route name "${route.name}" is used twice`));
    routeNames.add(route.name);
    const fromAdapter = adapters.get(route.from.connection);
    if (!config.connections[route.from.connection]) {
      errors.push(new ConfigError(file, `${at}/from/connection`, `unknown connection "${route.from.connection}"${known(Object.keys(config.connections))}`));
    } else if (fromAdapter && !fromAdapter.sources[route.from.source]) {
      errors.push(new ConfigError(file, `${at}/from/source`, `unknown source "${route.from.source}" for adapter "${fromAdapter.name}"${known(Object.keys(fromAdapter.sources))}`));
    }
    checkPaths(errors, file, `${at}/filter`, filterPaths(route.filter));
    const targetIds = new Set<string>();
    route.to.forEach((target, t) => {
      const tat = `${at}/to/${t}`;
      const id = target.id ?? `${target.connection}-${target.action}`.toLowerCase();
      if (targetIds.has(id)) errors.push(new ConfigError(file, tat, `target id "${id}" is used twice in route "${route.name}" (give each target an id)`));
      targetIds.add(id);
      const adapter = adapters.get(target.connection);
      if (!config.connections[target.connection]) {
        errors.push(new ConfigError(file, `${tat}/connection`, `unknown connection "${target.connection}"${known(Object.keys(config.connections))}`));
      } else if (adapter) {
        const action = adapter.actions[target.action];
        if (!action) {
          errors.push(new ConfigError(file, `${tat}/action`, `unknown action "${target.action}" for adapter "${adapter.name}"${known(Object.keys(adapter.actions).sort())}`));
        } else {
          checkSchema(errors, file, `${tat}/options`, action.optionsSchema, target.options);
        }
      }
      checkPaths(errors, file, `${tat}/filter`, filterPaths(target.filter));
      checkPaths(errors, file, `${tat}/mapping`, mappingPaths(target.mapping));
    });
  });
  return errors;
}

/** Validates config text; throws ConfigErrors listing every problem. */
export function parseConfig(text: string, file: string, registry: AdapterRegistry, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new ConfigErrors(doc.errors.map((e) => new ConfigError(file, `line ${e.linePos?.[0]?.line ?? '?'}`, `YAML: ${e.message.split('\n')[0]}`)));
  }
  const raw: unknown = doc.toJS();
  const envErrors: ConfigError[] = [];
  const substituted = substituteEnv(raw, file, env, '', envErrors);
  if (!validateShape(substituted)) {
    const shapeErrors = describeAjvErrors(validateShape.errors).map((e) => new ConfigError(file, e.path, e.reason));
    throw new ConfigErrors([...shapeErrors, ...envErrors]);
  }
  const config = substituted as unknown as CasewayConfig;
  const errors = [...envErrors, ...checkReferences(config, file, registry)];
  if (errors.length) throw new ConfigErrors(errors);
  return {
    ...config,
    file,
    routes: config.routes.map((route) => ({
      ...route,
      to: route.to.map((t) => ({ ...t, id: t.id ?? `${t.connection}-${t.action}`.toLowerCase() })),
    })),
  };
}

export function loadConfig(file: string, registry: AdapterRegistry, env: NodeJS.ProcessEnv = process.env): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigErrors([new ConfigError(file, '', `cannot read file (${(err as NodeJS.ErrnoException).code ?? 'error'})`)]);
  }
  return parseConfig(text, path.relative(process.cwd(), path.resolve(file)) || file, registry, env);
}
