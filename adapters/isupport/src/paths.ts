/**
 * A small path language for layout files, pointing into a canonical case or party:
 *   person.surname              nested property
 *   addresses[0].lines[1]       array element by index
 *   contacts[kind=email].value  the first element whose `kind` is "email" (or, for arrays such as roles, contains it)
 * Reading returns undefined when anything along the way is missing; writing creates what is missing.
 */

type Segment = { key: string; index?: number; match?: { field: string; value: string } };

const cache = new Map<string, Segment[]>();

export function parsePath(path: string): Segment[] {
  const known = cache.get(path);
  if (known) return known;
  const segments: Segment[] = [];
  for (const part of path.split('.')) {
    const m = /^([A-Za-z0-9_$-]+)(?:\[(?:(\d+)|([A-Za-z0-9_]+)=([^\]]*))\])?$/.exec(part);
    if (!m) throw new Error(`invalid path segment "${part}" in "${path}"`);
    const seg: Segment = { key: m[1] };
    if (m[2] !== undefined) seg.index = Number(m[2]);
    if (m[3] !== undefined) seg.match = { field: m[3], value: m[4] };
    segments.push(seg);
  }
  cache.set(path, segments);
  return segments;
}

/** Throws with the reason when a path is not valid in the path language. */
export function checkPath(path: string): void {
  parsePath(path);
}

function matches(item: unknown, match: { field: string; value: string }): boolean {
  if (!item || typeof item !== 'object') return false;
  const v = (item as Record<string, unknown>)[match.field];
  return Array.isArray(v) ? v.includes(match.value) : v === match.value;
}

export function getPath(root: unknown, path: string): unknown {
  let cur: unknown = root;
  for (const seg of parsePath(path)) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[seg.key];
    if (seg.index !== undefined) {
      cur = Array.isArray(cur) ? cur[seg.index] : undefined;
    } else if (seg.match) {
      cur = Array.isArray(cur) ? cur.find((item) => matches(item, seg.match!)) : undefined;
    }
  }
  return cur;
}

/** Sets a value, creating objects and array elements on the way. */
export function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const segs = parsePath(path);
  let cur: Record<string, unknown> = root;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (seg.index === undefined && !seg.match) {
      if (last) {
        cur[seg.key] = value;
        return;
      }
      if (!cur[seg.key] || typeof cur[seg.key] !== 'object') cur[seg.key] = {};
      cur = cur[seg.key] as Record<string, unknown>;
      continue;
    }
    if (!Array.isArray(cur[seg.key])) cur[seg.key] = [];
    const arr = cur[seg.key] as unknown[];
    let idx: number;
    if (seg.index !== undefined) {
      idx = seg.index;
      while (arr.length <= idx) arr.push(last ? undefined : {});
    } else {
      const match = seg.match!;
      idx = arr.findIndex((item) => matches(item, match));
      if (idx < 0) {
        arr.push({ [match.field]: match.value });
        idx = arr.length - 1;
      }
    }
    if (last) {
      arr[idx] = value;
      return;
    }
    if (!arr[idx] || typeof arr[idx] !== 'object') arr[idx] = {};
    cur = arr[idx] as Record<string, unknown>;
  }
}

/** A value as one CSV cell: strings as they are, numbers and booleans printed, anything else empty. */
export function asCell(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return undefined;
}
