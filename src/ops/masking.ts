/**
 * Masks personal data for viewers: names, birth dates and places, identity document numbers, contacts, addresses and
 * free text. Three layers, each enough on its own for its own shape:
 * 1. the canonical case's personal fields by position (parties[].person, addresses, contacts, notes ...);
 * 2. any key that names personal data, wherever it sits (extensions, a peer's request body);
 * 3. any string that contains a personal value found in layer 1 (e.g. a peer body that puts "Jane Doe" in a field
 *    with a neutral name).
 */
import type { CanonicalCase } from '../core/model/canonical.generated';

export const MASK = '[masked]';

const PERSONAL_KEY = new RegExp(
  [
    'name', 'birth', 'dob', 'passport', 'docnumber', 'documentnumber', 'idnumber', 'nationalid', 'nino', 'ssn',
    'phone', 'mobile', 'tel$', '^tel', 'fax', 'whatsapp', 'e-?mail', 'address', 'street', 'postcode', 'postal', 'zip',
    'town', 'city', 'county', 'line[0-9]', '^lines$', 'house', 'flat', 'signature', 'note', 'comment', 'text$', 'summary',
    '^title$', 'forename', 'surname',
  ].join('|'),
  'i',
);

type Json = unknown;

function maskLeaf(value: Json): Json {
  if (value === null || value === undefined || value === '') return value;
  if (typeof value === 'object') return maskAll(value);
  return MASK;
}

function maskAll(value: Json): Json {
  if (Array.isArray(value)) return value.map(maskAll);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskAll(v)]));
  return value === null || value === undefined || value === '' ? value : MASK;
}

/** Strings of a case that are personal data, for value-based masking of other shapes. */
export function personalValues(kase: CanonicalCase | null | undefined): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.trim().length >= 3) out.add(v.trim());
  };
  for (const party of kase?.parties ?? []) {
    const p = party.person;
    if (p) {
      [p.title, p.forenames, p.surname, p.fullName, p.birthDate, p.birthPlace?.city].forEach(add);
      for (const o of p.otherNames ?? []) [o.forenames, o.surname, o.fullName].forEach(add);
      for (const d of p.identityDocuments ?? []) add(d.number);
      if (p.forenames && p.surname) add(`${p.forenames} ${p.surname}`);
    }
    for (const a of party.addresses ?? []) [...(a.lines ?? []), a.town, a.postcode].forEach(add);
    for (const c of party.contacts ?? []) add(c.value);
  }
  return [...out].sort((a, b) => b.length - a.length);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Masks personal data in any JSON value: by key name, and every occurrence of the given personal values. */
export function maskJson(value: Json, values: string[] = []): Json {
  const pattern = values.length ? new RegExp(values.map(escapeRegExp).join('|'), 'gi') : undefined;
  const walk = (v: Json, key?: string): Json => {
    if (key !== undefined && PERSONAL_KEY.test(key)) return maskLeaf(v);
    if (Array.isArray(v)) return v.map((item) => walk(item));
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, item]) => [k, walk(item, k)]));
    if (typeof v === 'string' && pattern) {
      pattern.lastIndex = 0;
      return pattern.test(v) ? v.replace(pattern, MASK) : v;
    }
    return v;
  };
  return walk(value);
}

/** A copy of the canonical case with every personal field masked (the shape is kept, so a viewer sees what is set). */
export function maskCase(kase: CanonicalCase): CanonicalCase {
  const values = personalValues(kase);
  const { parties, notes, events, ...rest } = structuredClone(kase);
  const out = maskJson(rest, values) as CanonicalCase;
  out.parties = (parties ?? []).map((party) => {
    const { person, addresses, contacts, ...other } = party;
    return {
      ...(maskJson(other, values) as typeof other),
      ...(person ? { person: maskAll(person) as typeof person } : {}),
      ...(addresses ? { addresses: addresses.map((a) => ({ ...(maskAll(a) as typeof a), kind: a.kind, country: a.country })) } : {}),
      ...(contacts ? { contacts: contacts.map((c) => ({ ...c, value: MASK })) } : {}),
    };
  });
  if (notes) out.notes = notes.map((n) => ({ ...(maskJson(n, values) as typeof n), text: MASK }));
  if (events) out.events = events.map((e) => ({ ...(maskJson(e, values) as typeof e), ...(e.oldValue ? { oldValue: MASK } : {}), ...(e.newValue ? { newValue: MASK } : {}) }));
  return out;
}
