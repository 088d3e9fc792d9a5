/**
 * The merged canonical case: built from what each system last said about a case (its view) by the precedence in
 * docs/canonical-model.md. The originating system's fields are never replaced by a thinner view; a later view adds
 * what it knows (its ids, notes, documents, payments, events); a conflict in a field group is settled by the rule
 * the config sets for that group (`hub.merge`). Pure functions: no Redis, no clock.
 */
import type { MergeRule, MergeSettings } from '../config/types';
import type { CanonicalCase, CrossReference } from '../model/canonical.generated';

/** What one system (one connection) last said about a case, and the event that brought it. */
export interface CaseView {
  system: string;
  connection: string;
  source: string;
  eventId: string;
  eventKey: string;
  /** When the hub accepted the event that last changed this view. */
  at: string;
  case: CanonicalCase;
}

export type MergeRules = Required<MergeSettings>;

export const DEFAULT_MERGE_RULES: MergeRules = { status: 'latest', parties: 'origin', details: 'origin', extensions: 'origin' };

export function mergeRules(settings: MergeSettings | undefined): MergeRules {
  return { ...DEFAULT_MERGE_RULES, ...(settings ?? {}) };
}

const DETAIL_FIELDS = ['type', 'subtype', 'title', 'summary', 'receivedAt', 'createdAt'] as const;
const STATUS_FIELDS = ['status', 'closedAt'] as const;
type ScalarField = (typeof DETAIL_FIELDS)[number] | (typeof STATUS_FIELDS)[number];

const present = (v: unknown): boolean => v !== undefined && v !== null && v !== '';

/** Appends the items of `more` whose key is not in `base` yet, keeping order. */
function union<T>(base: T[] | undefined, more: T[] | undefined, key: (item: T) => string): T[] | undefined {
  if (!more?.length) return base;
  const out = [...(base ?? [])];
  const seen = new Set(out.map(key));
  for (const item of more) {
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(item);
  }
  return out;
}

const refKey = (r: CrossReference): string => `${r.system}|${r.connection ?? ''}|${r.id}`;
const idOr = (item: { id?: string }, fallback: () => unknown): string => (item.id ? `id:${item.id}` : JSON.stringify(fallback()));

/** Adds the list-shaped facts of `more` to `base` (notes, documents, payments, events, references). */
function addLists(out: CanonicalCase, more: CanonicalCase): void {
  const notes = union(out.notes, more.notes, (n) => idOr(n, () => [n.text, n.createdAt]));
  const documents = union(out.documents, more.documents, (d) => idOr(d, () => [d.name, d.url]));
  const payments = union(out.payments, more.payments, (p) => idOr(p, () => p));
  const events = union(out.events, more.events, (e) => idOr(e, () => e));
  const references = union(out.references, more.references, refKey);
  if (notes) out.notes = notes;
  if (documents) out.documents = documents;
  if (payments) out.payments = payments;
  if (events) out.events = events;
  if (references) out.references = references;
}

/**
 * A system's view after one more event from it: the event's scalar fields and parties win (it is the system's own
 * latest word), lists accumulate (a peer event may carry only what is new, e.g. fresh notes).
 */
export function updateView(previous: CanonicalCase | undefined, next: CanonicalCase): CanonicalCase {
  if (!previous) return structuredClone(next);
  const out = structuredClone(next);
  out.notes = previous.notes;
  out.documents = previous.documents;
  out.payments = previous.payments;
  out.events = previous.events;
  out.references = previous.references;
  for (const k of ['notes', 'documents', 'payments', 'events', 'references'] as const) if (out[k] === undefined) delete out[k];
  addLists(out, structuredClone(next));
  if (!out.parties?.length && previous.parties?.length) out.parties = structuredClone(previous.parties);
  for (const f of [...DETAIL_FIELDS, ...STATUS_FIELDS]) if (!present(out[f]) && present(previous[f])) (out as Record<ScalarField, unknown>)[f] = previous[f];
  if (previous.extensions) out.extensions = { ...structuredClone(previous.extensions), ...(out.extensions ?? {}) };
  return out;
}

function pick<T>(ordered: CaseView[], origin: CaseView, rule: MergeRule, get: (c: CanonicalCase) => T | undefined, has: (v: T | undefined) => boolean): T | undefined {
  if (rule === 'latest') {
    for (let i = ordered.length - 1; i >= 0; i -= 1) {
      const v = get(ordered[i].case);
      if (has(v)) return v;
    }
    return undefined;
  }
  const own = get(origin.case);
  if (has(own)) return own;
  for (const view of ordered) {
    const v = get(view.case);
    if (has(v)) return v;
  }
  return undefined;
}

/** Views in the order they arrived (ties: by connection name, so the result does not depend on storage order). */
export function orderViews(views: CaseView[]): CaseView[] {
  return [...views].sort((a, b) => (a.at === b.at ? a.connection.localeCompare(b.connection) : a.at < b.at ? -1 : 1));
}

/**
 * Builds the merged case. `origin` names the connection that created the hub case (the first view when unknown);
 * `references` are the cross-references the hub recorded (e.g. ids a delivery got back), added to the views' own.
 */
export function mergeViews(
  hubId: string,
  views: CaseView[],
  options: { origin?: string; references?: CrossReference[]; rules?: MergeRules } = {},
): (CanonicalCase & { hubId: string }) | null {
  if (views.length === 0) return null;
  const rules = options.rules ?? DEFAULT_MERGE_RULES;
  const ordered = orderViews(views);
  const origin = ordered.find((v) => v.connection === options.origin) ?? ordered[0];
  const out = structuredClone(origin.case) as CanonicalCase & { hubId: string };
  out.hubId = hubId;
  const others = ordered.filter((v) => v !== origin);

  for (const f of DETAIL_FIELDS) setScalar(out, f, pick(ordered, origin, rules.details, (c) => c[f], present));
  for (const f of STATUS_FIELDS) setScalar(out, f, pick(ordered, origin, rules.status, (c) => c[f], present));
  const updated = ordered.map((v) => v.case.updatedAt).filter((v): v is string => present(v)).sort();
  if (updated.length) out.updatedAt = updated[updated.length - 1];

  const parties = pick(ordered, origin, rules.parties, (c) => c.parties, (p) => Boolean(p?.length));
  if (parties) out.parties = structuredClone(parties);

  const adapters = new Set(ordered.flatMap((v) => Object.keys(v.case.extensions ?? {})));
  if (adapters.size) {
    const extensions: Record<string, Record<string, unknown>> = {};
    for (const name of [...adapters].sort()) {
      const block = pick(ordered, origin, rules.extensions, (c) => c.extensions?.[name], (b) => b !== undefined);
      if (block !== undefined) extensions[name] = structuredClone(block);
    }
    out.extensions = extensions;
  }

  for (const view of others) addLists(out, structuredClone(view.case));
  // One id known under two kinds (a delivery's `caseid`, and `source` from the peer's own event about the same case)
  // shows under the delivery's kind, whichever was written first: which came first is a race between the peer's poll
  // and the delivery's outcome write.
  const stored = (options.references ?? []).filter((r) => !(r.system === 'hub' && r.id === hubId)).sort((a, b) => Number(a.kind === 'source') - Number(b.kind === 'source'));
  const references = union(out.references, stored, refKey);
  if (references) out.references = references;
  return out;
}

function setScalar(out: CanonicalCase, field: ScalarField, value: unknown): void {
  const target = out as Record<ScalarField, unknown>;
  if (present(value)) target[field] = value;
  else delete target[field];
}

/** The views in arrival order without their content (no personal data): which system, when, which event. */
export function viewSummary(views: CaseView[], origin: string | undefined): Array<Omit<CaseView, 'case'> & { origin: boolean; type?: string; status?: string }> {
  const ordered = orderViews(views);
  const first = ordered.find((v) => v.connection === origin) ?? ordered[0];
  return ordered.map(({ case: c, ...rest }) => ({ ...rest, origin: rest.connection === first.connection, type: c.type, status: c.status }));
}
