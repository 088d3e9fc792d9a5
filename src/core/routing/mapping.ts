import type { Mapping } from '../config/config.generated';
import type { CanonicalCase } from '../model/canonical.generated';
import { getPath, removePath, setPath } from '../path';

/** A target's field-mapping overrides, typed from the config schema's Mapping definition. */
export type { Mapping };

/** Applies a route target's overrides to a deep copy of the case: copy, then set, then remove. */
export function applyMapping(kase: CanonicalCase, mapping: Mapping | undefined): CanonicalCase {
  return applyMappingInPlace(structuredClone(kase), mapping);
}

/**
 * The same, rewriting the case it is given (for a caller that owns it, as a delivery owns the case it has just
 * decrypted): every copied value is read, and cloned, before anything is written, so the result equals
 * applyMapping's; only the copied and set values are cloned, not the whole case.
 */
export function applyMappingInPlace(kase: CanonicalCase, mapping: Mapping | undefined): CanonicalCase {
  if (!mapping) return kase;
  const out = kase as unknown as Record<string, unknown>;
  const copies: Array<[string, unknown]> = [];
  for (const [to, from] of Object.entries(mapping.copy ?? {})) {
    const value = getPath(kase, from);
    if (value !== undefined) copies.push([to, structuredClone(value)]);
  }
  for (const [to, value] of copies) setPath(out, to, value);
  for (const [to, value] of Object.entries(mapping.set ?? {})) setPath(out, to, structuredClone(value));
  for (const path of mapping.remove ?? []) removePath(out, path);
  return kase;
}

export function mappingPaths(mapping: Mapping | undefined): string[] {
  if (!mapping) return [];
  return [...Object.entries(mapping.copy ?? {}).flat(), ...Object.keys(mapping.set ?? {}), ...(mapping.remove ?? [])];
}
