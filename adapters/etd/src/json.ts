/** Small JSON helpers shared by the codec, the validator and the intake pipeline. */
import { createHash } from 'node:crypto';

export type JsonValue = string | number | boolean | null | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function deepClone<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}

/** JSON with object keys sorted at every level: equal content gives equal text whatever the key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v)).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }
  return JSON.stringify(value ?? null);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** The value at a key path, or undefined when any step is missing or not an object. */
export function getPath(root: JsonObject, path: readonly string[]): JsonValue | undefined {
  let node: JsonValue | undefined = root;
  for (const key of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node;
}

/**
 * Sets a value at a key path, creating missing objects on the way. Returns false (and changes nothing) when a step
 * on the way holds something that is not an object.
 */
export function setPath(root: JsonObject, path: readonly string[], value: JsonValue): boolean {
  const parent = ensureObject(root, path.slice(0, -1));
  if (!parent) return false;
  parent[path[path.length - 1]] = value;
  return true;
}

/** The object at a key path, created (with its parents) when missing; undefined when a non-object is in the way. */
export function ensureObject(root: JsonObject, path: readonly string[]): JsonObject | undefined {
  let node: JsonObject = root;
  for (const key of path) {
    const next: JsonValue | undefined = node[key];
    if (next === undefined) {
      const created: JsonObject = {};
      node[key] = created;
      node = created;
    } else if (isPlainObject(next)) {
      node = next;
    } else {
      return undefined;
    }
  }
  return node;
}

/** Removes the key at a path; returns the removed value. */
export function deletePath(root: JsonObject, path: readonly string[]): JsonValue | undefined {
  const parent = getPath(root, path.slice(0, -1));
  if (!isPlainObject(parent)) return undefined;
  const key = path[path.length - 1];
  const value = parent[key];
  delete parent[key];
  return value;
}

/** obj[key] = value that also works for a key named "__proto__" (plain assignment would change the prototype). */
export function defineKey(obj: JsonObject, key: string, value: JsonValue): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}
