/** Small JSON helpers shared by the codec, the validator and the intake pipeline. */
import { createHash } from 'node:crypto';
import { getPath as readPath, removePath, setOwnKey, trySetPath } from 'caseway/core';

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

/** Object keys as JSON text with the colon after them (`"surname":`), kept for the keys seen first. */
const quotedKeys = new Map<string, string>();
/**
 * Bounds on what is kept, so that bodies cannot grow it: at most 4,096 keys (a form has a few hundred; later keys are
 * quoted each time), each of at most 64 characters (the form's longest is ~30).
 */
const QUOTED_KEYS_MAX = 4096;
const QUOTED_KEY_MAX_LENGTH = 64;

function quotedKey(key: string): string {
  let quoted = quotedKeys.get(key);
  if (quoted === undefined) {
    quoted = `${JSON.stringify(key)}:`;
    if (quotedKeys.size < QUOTED_KEYS_MAX && key.length <= QUOTED_KEY_MAX_LENGTH) quotedKeys.set(key, quoted);
  }
  return quoted;
}

/** How many quoted keys are kept (for the test of the bounds). */
export function quotedKeysKept(): number {
  return quotedKeys.size;
}

/**
 * JSON with object keys sorted at every level: equal content gives equal text whatever the key order. Its text is the
 * content digest behind an application's event id, so it must never change for a JSON value: a test holds it to the
 * plain map-and-join definition over generated values. Built by appending (and each key quoted once per process):
 * JSON.stringify per key was half of its time.
 */
export function canonicalJson(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value ?? null);
  let out: string;
  if (Array.isArray(value)) {
    out = '[';
    for (let i = 0; i < value.length; i++) {
      if (i > 0) out += ',';
      out += canonicalJson(value[i]);
    }
    return `${out}]`;
  }
  const object = value as Record<string, unknown>;
  const keys = Object.keys(object).sort();
  out = '{';
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out += ',';
    out += quotedKey(keys[i]);
    out += canonicalJson(object[keys[i]]);
  }
  return `${out}}`;
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/*
 * Key paths (arrays of keys) into ETD JSON, read and written with the core's canonical path module: an array is a
 * path of plain key steps, so keys with dots or brackets need no quoting.
 */

function isJsonValue(value: unknown): value is JsonValue {
  return value === null || ['string', 'number', 'boolean', 'object'].includes(typeof value);
}

/** The value at a key path, or undefined when any step is missing or not an object. */
export function getPath(root: JsonObject, path: readonly string[]): JsonValue | undefined {
  const value = readPath(root, path);
  return isJsonValue(value) ? value : undefined;
}

/**
 * Sets a value at a key path, creating missing objects on the way. Returns false (and changes nothing) when a step
 * on the way holds something that is not an object.
 */
export function setPath(root: JsonObject, path: readonly string[], value: JsonValue): boolean {
  return trySetPath(root, path, value);
}

/** The object at a key path, created (with its parents) when missing; undefined when a non-object is in the way. */
export function ensureObject(root: JsonObject, path: readonly string[]): JsonObject | undefined {
  const found = getPath(root, path);
  if (found !== undefined) return isPlainObject(found) ? found : undefined;
  const created: JsonObject = {};
  return setPath(root, path, created) ? created : undefined;
}

/** Removes the key at a path; returns the removed value. */
export function deletePath(root: JsonObject, path: readonly string[]): JsonValue | undefined {
  const removed = removePath(root, path);
  return isJsonValue(removed) ? removed : undefined;
}

/** obj[key] = value that also works for a key named "__proto__": the core path module's one implementation. */
export function defineKey(obj: JsonObject, key: string, value: JsonValue): void {
  setOwnKey(obj, key, value);
}
