/**
 * The one canonical path language (grammar: docs/canonical-model.md, "Paths"). Route filters, mapping overrides and
 * adapters all read, write and remove through it:
 *   status, parties[0].person.surname, parties[roles=creditor].person.surname (or the shorthand [role=creditor]),
 *   references[system=crm].id, extensions.crm.details["CaseDetails.Team"]
 * A `[key=value]` step picks the first array element whose `key` equals value, or, when that field is an array (as
 * `roles` is), contains it. `role` is shorthand for `roles`: `[role=x]` and `[roles=x]` are the same step.
 * Code that builds paths from keys it already holds passes an array of keys instead of a string (no parsing, any key).
 */
import { isRecord } from './util';

export type PathStep = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'match'; key: string; value: string };
/** A path as text, or as plain keys (each one a key step, whatever characters it holds). */
export type Path = string | readonly string[];

export class PathSyntaxError extends Error {
  override readonly name = 'PathSyntaxError';
}

const NAME = /^[A-Za-z_$][\w$-]*/;
const MATCH_KEY = /^[A-Za-z_$][\w$-]*$/;

function parseBracket(path: string, inner: string): PathStep {
  const quoted = /^(["'])(.*)\1$/s.exec(inner);
  if (quoted) return { kind: 'key', key: quoted[2] };
  if (/^\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
  const eq = inner.indexOf('=');
  const key = inner.slice(0, eq);
  if (eq > 0 && MATCH_KEY.test(key)) return { kind: 'match', key: key === 'role' ? 'roles' : key, value: inner.slice(eq + 1) };
  throw new PathSyntaxError(`invalid path "${path}"`);
}

const parsed = new Map<string, PathStep[]>();

/** Steps: `name`, `.name`, `[0]`, `[key=value]`, and `["key.with.dots"]` for keys that are not plain names. */
export function parsePath(path: string): PathStep[] {
  const known = parsed.get(path);
  if (known) return known;
  const steps: PathStep[] = [];
  const fail = () => new PathSyntaxError(`invalid path "${path}"`);
  let i = 0;
  while (i < path.length) {
    if (path[i] === '[') {
      if (steps.length === 0) throw fail();
      const quote = path[i + 1] === '"' || path[i + 1] === "'" ? path[i + 1] : '';
      const close = quote ? path.indexOf(`${quote}]`, i + 2) + 1 : path.indexOf(']', i);
      if (close <= 0) throw fail();
      steps.push(parseBracket(path, path.slice(i + 1, close)));
      i = close + 1;
      continue;
    }
    if (path[i] === '.') {
      if (steps.length === 0) throw fail();
      i += 1;
    }
    const name = NAME.exec(path.slice(i));
    if (!name) throw fail();
    steps.push({ kind: 'key', key: name[0] });
    i += name[0].length;
  }
  if (steps.length === 0) throw fail();
  if (parsed.size > 10_000) parsed.clear();
  parsed.set(path, steps);
  return steps;
}

function stepsOf(path: Path): readonly PathStep[] {
  if (typeof path === 'string') return parsePath(path);
  return path.map((key) => ({ kind: 'key', key }));
}

/** Does an array element satisfy `[key=value]`? Array-valued fields (roles) match when they contain the value. */
export function matchesStep(element: unknown, key: string, value: string): boolean {
  if (!isRecord(element)) return false;
  const field = element[key];
  if (typeof field === 'string') return field === value;
  if (Array.isArray(field)) {
    for (const v of field) if (String(v) === value) return true;
    return false;
  }
  return field !== undefined && field !== null && String(field) === value;
}

/** Index of the first element that satisfies `[key=value]`, or -1 (a loop: this runs for every selector step). */
function indexOfMatch(array: unknown[], key: string, value: string): number {
  for (let i = 0; i < array.length; i += 1) if (matchesStep(array[i], key, value)) return i;
  return -1;
}

function own(record: Record<string, unknown>, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

/**
 * record[key] = value, also for a key named "__proto__" (plain assignment would change the prototype). Only that key
 * is an accessor on Object.prototype; every other key assigns an own, enumerable, writable property as defineProperty
 * would, at a fraction of the cost (the iSupport export reader sets ~10 paths per member row, a million rows a file).
 */
export function setOwnKey(record: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  else record[key] = value;
}

function step(current: unknown, s: PathStep): unknown {
  if (s.kind === 'key') return isRecord(current) ? own(current, s.key) : undefined;
  if (!Array.isArray(current)) return undefined;
  if (s.kind === 'index') return current[s.index];
  const index = indexOfMatch(current, s.key, s.value);
  return index < 0 ? undefined : current[index];
}

/** The value at a path, or undefined when any step is missing or does not fit (a key on an array, an index on an object). */
export function getPath(root: unknown, path: Path): unknown {
  let current = root;
  for (const s of stepsOf(path)) {
    current = step(current, s);
    if (current === undefined) return undefined;
  }
  return current;
}

/** A path as text, for messages. */
function pathText(path: Path): string {
  return typeof path === 'string' ? path : path.join('.');
}

/** What a missing step is created as: an object before a key step, an array before a selector. */
function containerFor(next: PathStep): Record<string, unknown> | unknown[] {
  return next.kind === 'key' ? {} : [];
}

/**
 * Sets a value, creating what is missing: objects after key steps, arrays before `[n]` / `[key=value]` steps; an
 * unmatched `[key=value]` step appends `{ key: value }` (`{ roles: [value] }` for roles). Throws PathSyntaxError when
 * something that is not an object (or not an array, before a selector) is in the way: nothing is overwritten.
 */
export function setPath(root: Record<string, unknown>, path: Path, value: unknown): void {
  const steps = stepsOf(path);
  let current: unknown = root;
  for (let i = 0; i < steps.length; i += 1) {
    const s = steps[i];
    const last = i === steps.length - 1;
    if (s.kind === 'key') {
      if (!isRecord(current)) throw new PathSyntaxError(`cannot set "${pathText(path)}": "${s.key}" is not inside an object`);
      if (last) return setOwnKey(current, s.key, value);
      let next = own(current, s.key);
      if (next === undefined || next === null) setOwnKey(current, s.key, (next = containerFor(steps[i + 1])));
      current = next;
      continue;
    }
    if (!Array.isArray(current)) throw new PathSyntaxError(`cannot set "${pathText(path)}": not an array before [${s.kind === 'index' ? s.index : `${s.key}=${s.value}`}]`);
    let index = s.kind === 'index' ? s.index : indexOfMatch(current, s.key, s.value);
    if (index < 0) {
      current.push(s.kind === 'match' ? { [s.key]: s.key === 'roles' ? [s.value] : s.value } : {});
      index = current.length - 1;
    }
    // An array element by index: no accessor is in the way, plain assignment is what defineProperty would do.
    if (last) {
      current[index] = value;
      return;
    }
    if (current[index] === undefined || current[index] === null) current[index] = containerFor(steps[i + 1]);
    current = current[index];
  }
}

/**
 * setPath that answers false instead of throwing PathSyntaxError: something that is not an object (or not an array,
 * before a selector) is in the way. Nothing is written then: setPath creates a step only where nothing is, and what it
 * creates fits the step after it, so it can only meet what is in the way before it has created anything.
 */
export function trySetPath(root: Record<string, unknown>, path: Path, value: unknown): boolean {
  try {
    setPath(root, path, value);
    return true;
  } catch (err) {
    if (err instanceof PathSyntaxError) return false;
    throw err;
  }
}

/** Removes what a path points at (a key, or an array element); returns the removed value, undefined when absent. */
export function removePath(root: Record<string, unknown>, path: Path): unknown {
  const steps = stepsOf(path);
  let parent: unknown = root;
  for (const s of steps.slice(0, -1)) {
    parent = step(parent, s);
    if (parent === undefined) return undefined;
  }
  const lastStep = steps[steps.length - 1];
  if (lastStep.kind === 'key') {
    if (!isRecord(parent)) return undefined;
    const removed = own(parent, lastStep.key);
    delete parent[lastStep.key];
    return removed;
  }
  if (!Array.isArray(parent)) return undefined;
  const index = lastStep.kind === 'index' ? lastStep.index : indexOfMatch(parent, lastStep.key, lastStep.value);
  return index >= 0 && index < parent.length ? parent.splice(index, 1)[0] : undefined;
}
