import type { Mapping } from '../config/config.generated';
import type { CanonicalCase } from '../model/canonical.generated';
import { getPath, removePath, setPath } from '../path';

/** A target's field-mapping overrides, typed from the config schema's Mapping definition. */
export type { Mapping };

/** Applies a route target's overrides to a deep copy of the case: copy, then set, then remove. */
export function applyMapping(kase: CanonicalCase, mapping: Mapping | undefined): CanonicalCase {
  const out = structuredClone(kase) as unknown as Record<string, unknown>;
  if (mapping) {
    for (const [to, from] of Object.entries(mapping.copy ?? {})) {
      const value = getPath(kase, from);
      if (value !== undefined) setPath(out, to, structuredClone(value));
    }
    for (const [to, value] of Object.entries(mapping.set ?? {})) setPath(out, to, structuredClone(value));
    for (const path of mapping.remove ?? []) removePath(out, path);
  }
  return out as unknown as CanonicalCase;
}

export function mappingPaths(mapping: Mapping | undefined): string[] {
  if (!mapping) return [];
  return [...Object.entries(mapping.copy ?? {}).flat(), ...Object.keys(mapping.set ?? {}), ...(mapping.remove ?? [])];
}
