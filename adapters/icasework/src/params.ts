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

/** Person attributes in any casing: `ethnicOrigin`, `EthnicOrigin`, `ethnic_origin`. */
function attribute(attrs: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!attrs) return undefined;
  const want = name.toLowerCase();
  for (const [k, v] of Object.entries(attrs)) if (k.replace(/[_\s-]/g, '').toLowerCase() === want) return str(v);
  return undefined;
}

function booleanWord(v: unknown): string | undefined {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return str(v);
}

export interface CustomerOptions {
  /** Send the party's own id as the customer's Id (updatecustomer needs one; createcase would update that customer). */
  useIdFromParty?: boolean;
}

/** A party as the seed's customer parameters (no prefix). Values in party.extensions.icasework win. */
export function customerParams(party: Party, opts: CustomerOptions = {}): Record<string, string> {
  const person = party.person ?? {};
  const out: Params = {};
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
  const language = party.preferences?.language ?? person.language;
  if (opts.useIdFromParty) out.Id = party.id;
  out.Title = person.title;
  out.FirstName = forenames;
  out.Surname = surname;
  out.Organisation = party.organisation?.name;
  out.Address = address?.lines?.filter((l) => l !== '').join('\n');
  out.Town = address?.town;
  out.County = address?.county;
  out.Country = address?.country;
  out.Postcode = address?.postcode;
  out.Email = contact('email');
  out.Phone = contact('phone', 'home-phone');
  out.Mobile = contact('mobile', 'whatsapp');
  out.ContactMethod = party.preferences?.contactMethod;
  out.ContactTime = party.preferences?.contactTime;
  out.ContactLanguage = language;
  out.ContactConsent = party.preferences?.contactConsent;
  out.Category = attribute(person.attributes, 'Category');
  out.Gender = person.gender;
  out.EthnicOrigin = attribute(person.attributes, 'EthnicOrigin');
  out.Sexuality = attribute(person.attributes, 'Sexuality');
  out.Faith = attribute(person.attributes, 'Faith');
  out.DateOfBirth = person.birthDate;
  out.AgeGroup = attribute(person.attributes, 'AgeGroup');
  for (let i = 1; i <= 9; i++) out[`Disability${i}`] = attribute(person.attributes, `Disability${i}`);
  // Peer-specific values kept on the party (e.g. a case that came from iCasework) override the derived ones.
  const ext = party.extensions?.icasework ?? {};
  for (const field of [...CUSTOMER_FIELDS, ...UPDATE_CUSTOMER_EXTRA_FIELDS]) {
    const v = str(ext[field]);
    if (v !== undefined) out[field] = v;
  }
  // Held to ISO 639-1 (fr-FR -> fr); a value that is not one is left for the rule check to refuse, never guessed.
  if (out.ContactLanguage !== undefined) out.ContactLanguage = toContactLanguage(out.ContactLanguage);
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(out)) if (v !== undefined && v !== '') clean[k] = v;
  return clean;
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
