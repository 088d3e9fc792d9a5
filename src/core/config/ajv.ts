import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/** One shared ajv instance: all errors at once, formats on, no coercion (config means what it says). */
export function createAjv(): Ajv {
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  addFormats(ajv);
  return ajv;
}

const compiled = new WeakMap<Ajv, WeakMap<object, ValidateFunction>>();

/**
 * Compiles a schema once per ajv instance. Adapter schemas are shared by every connection of that adapter, and ajv
 * refuses to compile a second schema with the same $id.
 */
export function compileOnce(ajv: Ajv, schema: Record<string, unknown>): ValidateFunction {
  let cache = compiled.get(ajv);
  if (!cache) {
    cache = new WeakMap();
    compiled.set(ajv, cache);
  }
  let validate = cache.get(schema);
  if (!validate) {
    const id = typeof schema.$id === 'string' ? schema.$id : undefined;
    validate = (id && ajv.getSchema(id)) || ajv.compile(schema);
    cache.set(schema, validate);
  }
  return validate;
}

/** Turns ajv errors into (path, reason) pairs an integrator can act on; drops oneOf/anyOf noise when a precise error exists. */
export function describeAjvErrors(errors: ErrorObject[] | null | undefined, basePath = ''): Array<{ path: string; reason: string }> {
  if (!errors) return [];
  const precise = errors.filter((e) => !['oneOf', 'anyOf', 'if'].includes(e.keyword));
  const chosen = precise.length ? precise : errors;
  const seen = new Set<string>();
  const out: Array<{ path: string; reason: string }> = [];
  for (const e of chosen) {
    let path = basePath + e.instancePath;
    let reason = e.message ?? 'is invalid';
    if (e.keyword === 'additionalProperties') {
      const prop = (e.params as { additionalProperty: string }).additionalProperty;
      path = `${path}/${prop}`;
      reason = 'is not a known property';
    } else if (e.keyword === 'required') {
      const prop = (e.params as { missingProperty: string }).missingProperty;
      path = `${path}/${prop}`;
      reason = 'is required';
    } else if (e.keyword === 'enum') {
      reason = `must be one of: ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
    }
    const key = `${path}|${reason}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path, reason });
    }
  }
  // ajv's order depends on schema traversal; sorting by path keeps messages stable and reads like the file.
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
