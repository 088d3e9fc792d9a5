import type { Filter } from '../config/config.generated';
import type { CanonicalCase } from '../model/canonical.generated';
import { getPath } from '../path';

/** A route's or target's condition, typed from the config schema's Filter definition. */
export type { Filter };

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === undefined || a === null || b === undefined || b === null) return false;
  if (typeof a === 'object' || typeof b === 'object') return JSON.stringify(a) === JSON.stringify(b);
  return String(a) === String(b);
}

/** A value matches when it (or, for an array, any of its items) satisfies the condition. */
function anyOf(value: unknown, test: (v: unknown) => boolean): boolean {
  return Array.isArray(value) ? value.some(test) || test(value) : test(value);
}

export function matchesFilter(filter: Filter | undefined, kase: CanonicalCase): boolean {
  if (!filter) return true;
  if ('all' in filter) return filter.all.every((f) => matchesFilter(f, kase));
  if ('any' in filter) return filter.any.some((f) => matchesFilter(f, kase));
  if ('not' in filter) return !matchesFilter(filter.not, kase);
  const value = getPath(kase, filter.path);
  if (filter.exists !== undefined && (value !== undefined && value !== null && value !== '') !== filter.exists) return false;
  if ('equals' in filter && !anyOf(value, (v) => sameValue(v, filter.equals))) return false;
  if (filter.in && !anyOf(value, (v) => filter.in!.some((candidate) => sameValue(v, candidate)))) return false;
  if (filter.matches !== undefined) {
    const re = new RegExp(filter.matches);
    if (!anyOf(value, (v) => v !== undefined && v !== null && typeof v !== 'object' && re.test(String(v)))) return false;
  }
  return true;
}

/** Every path named in a filter, for start-up checks. */
export function filterPaths(filter: Filter | undefined): string[] {
  if (!filter) return [];
  if ('all' in filter) return filter.all.flatMap(filterPaths);
  if ('any' in filter) return filter.any.flatMap(filterPaths);
  if ('not' in filter) return filterPaths(filter.not);
  return [filter.path];
}
