/**
 * Canonical paths used by route filters and mapping overrides:
 *   status, parties[0].person.surname, parties[role=creditor].person.surname,
 *   references[system=platform121].id, extensions.icasework.team, extensions.icasework.details["CaseDetails.Team"]
 * A `[key=value]` step picks the first array element whose `key` equals value (or, for an array-valued key such as
 * `roles`, contains it; `role` is accepted as shorthand for `roles`).
 */
type Step = { kind: 'key'; key: string } | { kind: 'index'; index: number } | { kind: 'match'; key: string; value: string };
export class PathSyntaxError extends Error {}

const NAME = /^[A-Za-z_$][\w$-]*/;

function parseBracket(path: string, inner: string): Step {
  const quoted = /^(["'])(.*)\1$/.exec(inner);
  if (quoted) return { kind: 'key', key: quoted[2] };
  if (/^\d+$/.test(inner)) return { kind: 'index', index: Number(inner) };
  const eq = inner.indexOf('=');
  const key = inner.slice(0, eq);
  if (eq > 0 && /^[A-Za-z_$][\w$-]*$/.test(key)) return { kind: 'match', key: key === 'role' ? 'roles' : key, value: inner.slice(eq + 1) };
  throw new PathSyntaxError(`invalid path "${path}"`);
}

/** Steps: `name`, `.name`, `[0]`, `[key=value]`, and `["key.with.dots"]` for keys that are not plain names. */
export function parsePath(path: string): Step[] {
  const steps: Step[] = [];
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
  return steps;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function matches(element: unknown, key: string, value: string): boolean {
  if (!isRecord(element)) return false;
  const field = element[key];
  if (Array.isArray(field)) return field.some((v) => String(v) === value);
  return field !== undefined && field !== null && String(field) === value;
}

function step(current: unknown, s: Step): unknown {
  if (s.kind === 'key') return isRecord(current) ? current[s.key] : undefined;
  if (!Array.isArray(current)) return undefined;
  if (s.kind === 'index') return current[s.index];
  return current.find((el) => matches(el, s.key, s.value));
}

export function getPath(root: unknown, path: string): unknown {
  let current = root;
  for (const s of parsePath(path)) {
    current = step(current, s);
    if (current === undefined) return undefined;
  }
  return current;
}

/** Sets a value, creating objects along plain key steps; an unmatched [key=value] step appends { key: value }. */
export function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const steps = parsePath(path);
  let current: unknown = root;
  for (let i = 0; i < steps.length; i += 1) {
    const s = steps[i];
    const last = i === steps.length - 1;
    const nextIsArray = !last && steps[i + 1].kind !== 'key';
    if (s.kind === 'key') {
      if (!isRecord(current)) throw new PathSyntaxError(`cannot set "${path}": "${s.key}" is not inside an object`);
      if (last) {
        current[s.key] = value;
        return;
      }
      if (current[s.key] === undefined || current[s.key] === null) current[s.key] = nextIsArray ? [] : {};
      current = current[s.key];
      continue;
    }
    if (!Array.isArray(current)) throw new PathSyntaxError(`cannot set "${path}": not an array before [${s.kind === 'index' ? s.index : s.key}]`);
    let index = s.kind === 'index' ? s.index : current.findIndex((el) => matches(el, s.key, s.value));
    if (index < 0) {
      current.push(s.kind === 'match' ? { [s.key]: s.key === 'roles' ? [s.value] : s.value } : {});
      index = current.length - 1;
    }
    if (last) {
      current[index] = value;
      return;
    }
    if (current[index] === undefined || current[index] === null) current[index] = nextIsArray ? [] : {};
    current = current[index];
  }
}

export function removePath(root: Record<string, unknown>, path: string): void {
  const steps = parsePath(path);
  const parentSteps = steps.slice(0, -1);
  let parent: unknown = root;
  for (const s of parentSteps) {
    parent = step(parent, s);
    if (parent === undefined) return;
  }
  const lastStep = steps[steps.length - 1];
  if (lastStep.kind === 'key' && isRecord(parent)) delete parent[lastStep.key];
  else if (Array.isArray(parent)) {
    const index = lastStep.kind === 'index' ? lastStep.index : lastStep.kind === 'match' ? parent.findIndex((el) => matches(el, lastStep.key, lastStep.value)) : -1;
    if (index >= 0 && index < parent.length) parent.splice(index, 1);
  }
}
