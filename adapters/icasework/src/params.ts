/**
 * Canonical case -> iCasework request parameters: the customer block (createcase `Customer.*`, updatecustomer
 * without the prefix), documents (`DocumentN.*`) and the case's own fields.
 */
import type { CanonicalCase, Document, Party } from 'caseway/core';
import type { Params } from './client';
import { toContactLanguage } from './rules';

/** Every customer parameter the seed lists, in its order (createcase prefixes them with `Customer.`). */
export const CUSTOMER_FIELDS = [
  'Id', 'Title', 'FirstName', 'Surname', 'Organisation', 'Address', 'Town', 'County', 'Country', 'Postcode', 'Email',
  'Phone', 'Mobile', 'ContactMethod', 'ContactTime', 'ContactLanguage', 'ContactConsent', 'Category', 'Gender',
  'EthnicOrigin', 'Sexuality', 'Faith', 'DateOfBirth', 'AgeGroup',
  'Disability1', 'Disability2', 'Disability3', 'Disability4', 'Disability5', 'Disability6', 'Disability7', 'Disability8', 'Disability9',
] as const;

/** updatecustomer also takes these (reference: atlassian updatecustomer page). */
export const UPDATE_CUSTOMER_EXTRA_FIELDS = ['NewId', 'AlternativeId1', 'AlternativeId2', 'City', 'State', 'ZIPCode'] as const;

/** The fields a party's `extensions.icasework` may set. */
const PARTY_EXTENSION_FIELDS: readonly string[] = [...CUSTOMER_FIELDS, ...UPDATE_CUSTOMER_EXTRA_FIELDS];

export const DEFAULT_CUSTOMER_ROLES = ['applicant', 'creditor', 'customer', 'beneficiary'];

/** The party that becomes the iCasework customer: the configured role, else the first of the default roles. */
export function pickCustomer(c: CanonicalCase, role?: string): Party | undefined {
  const roles = role ? [role] : DEFAULT_CUSTOMER_ROLES;
  for (const r of roles) {
    const p = c.parties.find((party) => party.roles.includes(r));
    if (p) return p;
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v === '' ? undefined : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/** The person's attributes by name in any casing (`ethnicOrigin`, `EthnicOrigin`, `ethnic_origin`); the first of each wins. */
function attributesByName(attrs: Record<string, unknown> | undefined): Map<string, unknown> {
  const byName = new Map<string, unknown>();
  if (!attrs) return byName;
  for (const [k, v] of Object.entries(attrs)) {
    const name = k.replace(/[_\s-]/g, '').toLowerCase();
    if (!byName.has(name)) byName.set(name, v);
  }
  return byName;
}

function booleanWord(v: unknown): string | undefined {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return str(v);
}

export interface CustomerOptions {
  /** Send the party's own id as the customer's Id (updatecustomer needs one; createcase would update that customer). */
  useIdFromParty?: boolean;
}

/**
 * The customer fields customerParams derives from a party (Id only when asked for): an extension's value for one of
 * them is sent in its place; the extension's other fields are sent after them.
 */
const DERIVED_FIELDS = new Set<string>(CUSTOMER_FIELDS);
const DISABILITY_FIELDS = CUSTOMER_FIELDS.filter((field) => field.startsWith('Disability'));

/**
 * A party as the seed's customer parameters (no prefix). Values in party.extensions.icasework win. Only the fields
 * that have a value are set, one by one in the seed's order: an object given all ~40 fields and then filtered took
 * ~9-16 µs a call on a 2-vCPU host (past a dozen keyed additions V8 turns such an object into a dictionary).
 */
export function customerParams(party: Party, opts: CustomerOptions = {}): Record<string, string> {
  const person = party.person ?? {};
  let forenames = person.forenames;
  let surname = person.surname;
  if (!forenames && !surname && person.fullName) {
    const parts = person.fullName.trim().split(/\s+/);
    surname = parts.pop();
    forenames = parts.length ? parts.join(' ') : undefined;
  }
  const address = party.addresses?.[0];
  const contact = (...kinds: string[]): string | undefined => {
    for (const kind of kinds) {
      const preferred = party.contacts?.find((c) => c.kind === kind && c.preferred);
      const any = preferred ?? party.contacts?.find((c) => c.kind === kind);
      if (any) return any.value;
    }
    return undefined;
  };
  const attributes = attributesByName(person.attributes);
  const attribute = (name: string): string | undefined => (attributes.size === 0 ? undefined : str(attributes.get(name.toLowerCase())));
  // Peer-specific values kept on the party (e.g. a case that came from iCasework) override the derived ones.
  const ext = party.extensions?.icasework ?? {};
  const out: Record<string, string> = {};
  const put = (field: string, derived: string | undefined): void => {
    const value = str(ext[field]) ?? derived;
    if (value !== undefined && value !== '') out[field] = value;
  };
  if (opts.useIdFromParty) put('Id', party.id);
  put('Title', person.title);
  put('FirstName', forenames);
  put('Surname', surname);
  put('Organisation', party.organisation?.name);
  put('Address', address?.lines?.filter((l) => l !== '').join('\n'));
  put('Town', address?.town);
  put('County', address?.county);
  put('Country', address?.country);
  put('Postcode', address?.postcode);
  put('Email', contact('email'));
  put('Phone', contact('phone', 'home-phone'));
  put('Mobile', contact('mobile', 'whatsapp'));
  put('ContactMethod', party.preferences?.contactMethod);
  put('ContactTime', party.preferences?.contactTime);
  put('ContactLanguage', party.preferences?.language ?? person.language);
  put('ContactConsent', party.preferences?.contactConsent);
  put('Category', attribute('Category'));
  put('Gender', person.gender);
  put('EthnicOrigin', attribute('EthnicOrigin'));
  put('Sexuality', attribute('Sexuality'));
  put('Faith', attribute('Faith'));
  put('DateOfBirth', person.birthDate);
  put('AgeGroup', attribute('AgeGroup'));
  for (const field of DISABILITY_FIELDS) put(field, attribute(field));
  // The fields only a party's extension can set (Id unless asked for above, the update-only ones) come last.
  for (const field of PARTY_EXTENSION_FIELDS) {
    if (DERIVED_FIELDS.has(field) && (field !== 'Id' || opts.useIdFromParty)) continue;
    const value = str(ext[field]);
    if (value !== undefined) out[field] = value;
  }
  // Held to ISO 639-1 (fr-FR -> fr); a value that is not one is left for the rule check to refuse, never guessed.
  if (out.ContactLanguage !== undefined) out.ContactLanguage = toContactLanguage(out.ContactLanguage);
  return out;
}

/** `DocumentN.Name/.MimeType/.URL/.URLPublic` (and `.URLLoadContent=true` when asked) for documents that have a URL. */
export function documentsAsParams(docs: Document[], opts: { loadContent?: boolean } = {}): Record<string, string> {
  const out: Record<string, string> = {};
  let n = 0;
  for (const doc of docs) {
    if (!doc.url) continue;
    n++;
    out[`Document${n}.Name`] = doc.name.slice(0, 100);
    if (doc.mimeType) out[`Document${n}.MimeType`] = doc.mimeType.slice(0, 100);
    out[`Document${n}.URL`] = doc.url;
    if (doc.public !== undefined) out[`Document${n}.URLPublic`] = doc.public ? 'true' : 'false';
    if (opts.loadContent) out[`Document${n}.URLLoadContent`] = 'true';
  }
  return out;
}

/** The case's documents that have a URL, as createcase parameters. */
export function documentParams(c: CanonicalCase): Record<string, string> {
  return documentsAsParams(c.documents ?? []);
}

/** Reads a dotted path (`summary`, `extensions.isupport.caseCategory`, `parties.0.person.surname`) from the case. */
export function readPath(c: CanonicalCase, path: string): string | undefined {
  let cur: unknown = c;
  for (const part of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return booleanWord(cur);
}

/** Parameters the client sets itself; a passthrough field may not set them. */
const RESERVED_PARAMS = new Set(['Key', 'Signature', 'Format', 'db', 'access_token', 'Type']);

/**
 * The case's own createcase fields: `fields` maps a parameter name to a dotted path in the canonical case; a case
 * that carries `extensions.icasework.fields` (parameter -> value) adds those as they are.
 */
export function caseFieldParams(c: CanonicalCase, fields: Record<string, string>, reserved: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [param, path] of Object.entries(fields)) {
    const v = readPath(c, path);
    if (v !== undefined) out[param] = v;
  }
  const extra = c.extensions?.icasework?.fields;
  if (extra && typeof extra === 'object' && !Array.isArray(extra)) {
    for (const [param, v] of Object.entries(extra as Record<string, unknown>)) {
      if (RESERVED_PARAMS.has(param) || reserved.includes(param)) continue;
      const s = str(v);
      if (s !== undefined) out[param] = s;
    }
  }
  return out;
}

/** ISO date-time -> the zone-less XML date-time iCasework's docs show (1980-03-23T10:20:15), in UTC. */
export function toIcaseworkDateTime(value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (/^\d{4}-\d{2}-\d{2}$/.test(value)) return `${value}T00:00:00`;
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(value)) return value;
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().slice(0, 19);
}
