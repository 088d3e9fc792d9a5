/**
 * Canonical case <-> 121 registration.
 *
 * Outbound, a case becomes one flat registration row: referenceId, programFspConfigurationName, preferredLanguage,
 * phoneNumber (digits only) and the program attributes named by `attributeMapping` (canonical path -> attribute).
 * Paths are read on the case's beneficiary party:
 *   person.<field>            person.fullName, person.birthDate, person.gender ...
 *   person.attributes.<key>   free person attributes
 *   contacts.<kind>           the first contact of that kind (phone, mobile, whatsapp, email ...)
 *   address.<field>           the first address (address.postcode, address.town, address.lines[0] ...)
 *   preferences.<field>       party preferences (language, contactMethod ...)
 *   case.<path>               any case field (case.title, case.extensions.icasework.category ...)
 * Inbound, a registration becomes a canonical case with the person as party `beneficiary`; mapped attributes go back
 * to their canonical paths, other attributes to person.attributes, and 121's own fields to extensions.platform121.
 * Paths are canonical paths (docs/canonical-model.md, "Paths"), read and written with the core's path module.
 */
import type { CanonicalCase, CaseEvent, Contact, Party, Payment, Person } from 'caseway/core';
import { getPath, isRecord, PermanentError, setPath } from 'caseway/core';
import { coerceForType, digitsOnly, fromDdMmYyyy, type ProgramConfig } from './program';
import { SYSTEM, referenceOf } from './reference-id';
import type { AttributeValue, ResolvedSettings } from './settings';
import { REGISTRATION_GENERIC_FIELDS, type RegistrationEvent, type RegistrationView, type Transaction } from './types';

export const DEFAULT_PARTY_ROLES = ['beneficiary', 'applicant', 'customer', 'passport-applicant', 'complainant'];

/** Keys a registration row may carry besides program attributes. */
const GENERIC_INPUT_KEYS = new Set([
  'referenceId',
  'programFspConfigurationName',
  'preferredLanguage',
  'paymentAmountMultiplier',
  'maxPayments',
  'scope',
  'phoneNumber',
]);

const PHONE_KINDS: ReadonlyArray<Contact['kind']> = ['phone', 'mobile', 'whatsapp', 'home-phone'];
const CONTACT_KINDS: ReadonlyArray<Contact['kind']> = ['phone', 'mobile', 'home-phone', 'whatsapp', 'email', 'fax', 'other'];

export function pickParty(c: CanonicalCase, roles: ReadonlyArray<string> = DEFAULT_PARTY_ROLES): Party | undefined {
  for (const role of roles) {
    const p = c.parties?.find((party) => party.roles?.includes(role));
    if (p) return p;
  }
  return c.parties?.[0];
}

function fullNameOf(person: Person | undefined): string | undefined {
  if (!person) return undefined;
  if (person.fullName) return person.fullName;
  const joined = [person.forenames, person.surname].filter(Boolean).join(' ').trim();
  return joined || undefined;
}

/** The object mapping paths are read from. */
function mappingView(c: CanonicalCase, party: Party | undefined): Record<string, unknown> {
  const contacts: Record<string, string> = {};
  for (const contact of party?.contacts ?? []) {
    if (contacts[contact.kind] === undefined || contact.preferred) contacts[contact.kind] = contact.value;
  }
  const person = party?.person ? { ...party.person, fullName: fullNameOf(party.person) } : {};
  return {
    person,
    contacts,
    address: party?.addresses?.[0] ?? {},
    preferences: party?.preferences ?? {},
    party: party ?? {},
    case: c,
  };
}

/** ISO 639-1 code from "en", "en-GB", "English"; lower case. */
export function normaliseLanguage(value: unknown, programLanguages: ReadonlyArray<string>): string | undefined {
  if (typeof value !== 'string' || !value.trim()) return undefined;
  const v = value.trim().toLowerCase();
  const candidates = [v, v.split(/[-_]/)[0]];
  if (programLanguages.length === 0) return candidates[1];
  for (const cand of candidates) if (programLanguages.includes(cand)) return cand;
  // English language names ("dutch") are accepted by 121 too.
  const names = new Intl.DisplayNames(['en'], { type: 'language' });
  for (const code of programLanguages) {
    if ((names.of(code.slice(0, 2)) ?? '').toLowerCase() === v) return code;
  }
  return undefined;
}

export interface RowOptions {
  programFspConfigurationName?: string;
  attributeMapping?: Record<string, string>;
  attributeDefaults?: Record<string, AttributeValue>;
  partyRoles?: string[];
}

export interface BuiltRow {
  row: Record<string, unknown>;
  /** Keys left out because the program does not know them or their value cannot be used (names only). */
  dropped: string[];
}

/** Canonical case -> flat 121 registration row. Throws PermanentError naming the missing field. */
export function buildRegistrationRow(
  c: CanonicalCase,
  referenceId: string,
  settings: ResolvedSettings,
  program: ProgramConfig | null,
  options: RowOptions = {},
): BuiltRow {
  const party = pickParty(c, options.partyRoles);
  const view = mappingView(c, party);
  const ext = isRecord(c.extensions?.[SYSTEM]) ? (c.extensions?.[SYSTEM] as Record<string, unknown>) : {};
  const row: Record<string, unknown> = { referenceId };
  const dropped: string[] = [];

  const fsp =
    options.programFspConfigurationName ??
    (typeof ext.programFspConfigurationName === 'string' ? ext.programFspConfigurationName : undefined) ??
    settings.programFspConfigurationName;
  if (!fsp) {
    throw new PermanentError('platform121: no programFspConfigurationName for the registration (set it in the connection settings or the action options)', {
      peer: SYSTEM,
      fieldErrors: [{ field: 'programFspConfigurationName', error: 'required' }],
    });
  }
  row.programFspConfigurationName = fsp;

  // Attributes carried from an earlier 121 read (round trip), then the mapping, then defaults.
  if (isRecord(ext.attributes)) {
    for (const [k, v] of Object.entries(ext.attributes)) if (v !== null && v !== undefined && v !== '') row[k] = v;
  }
  // 121's own per-registration inputs from an earlier read, where the program uses them (a formula computes the
  // multiplier; maxPayments and scope count only when enabled). Left out silently otherwise: 121 set them, not us.
  if (!program?.paymentAmountMultiplierFormula && ext.paymentAmountMultiplier !== undefined && ext.paymentAmountMultiplier !== null) {
    row.paymentAmountMultiplier = ext.paymentAmountMultiplier;
  }
  if ((!program || program.enableMaxPayments) && ext.maxPayments !== undefined && ext.maxPayments !== null) row.maxPayments = ext.maxPayments;
  if ((!program || program.enableScope) && typeof ext.scope === 'string' && ext.scope !== '') row.scope = ext.scope;
  const mapping = options.attributeMapping ? { ...settings.attributeMapping, ...options.attributeMapping } : settings.attributeMapping;
  for (const [path, attribute] of Object.entries(mapping)) {
    const value = getPath(view, path);
    if (value === undefined || value === null || value === '') continue;
    row[attribute] = value;
  }
  // The phone fallback only for programs that have a phoneNumber attribute (121 refuses unknown keys on PATCH), and
  // not for a case read from 121 (its attribute set is known: an empty phoneNumber stays empty).
  const programHasPhone = !program || program.attributes.size === 0 || program.attributes.has('phoneNumber');
  const readFrom121 = isRecord(ext.attributes) && ext.registrationId !== undefined;
  if (row.phoneNumber === undefined && programHasPhone && !readFrom121) {
    const contacts = view.contacts as Record<string, string>;
    const phone = PHONE_KINDS.map((k) => contacts[k]).find((v) => v);
    if (phone) row.phoneNumber = phone;
  }
  if (row.preferredLanguage === undefined) {
    const language = party?.person?.language ?? party?.preferences?.language;
    if (language) {
      const code = normaliseLanguage(language, program?.languages ?? []);
      if (code) row.preferredLanguage = code;
      else dropped.push('preferredLanguage');
    }
  } else {
    const code = normaliseLanguage(row.preferredLanguage, program?.languages ?? []);
    if (code) row.preferredLanguage = code;
    else {
      delete row.preferredLanguage;
      dropped.push('preferredLanguage');
    }
  }
  for (const [attribute, value] of Object.entries({ ...settings.attributeDefaults, ...(options.attributeDefaults ?? {}) })) {
    if (row[attribute] === undefined) row[attribute] = value;
  }

  for (const key of Object.keys(row)) {
    if (key === 'referenceId' || key === 'programFspConfigurationName' || key === 'preferredLanguage') continue;
    const attr = program?.attributes.get(key);
    if (program && program.attributes.size > 0 && !attr && !GENERIC_INPUT_KEYS.has(key)) {
      // 121 ignores unknown keys on import but refuses them on update: leave them out.
      delete row[key];
      dropped.push(key);
      continue;
    }
    const type = attr?.type ?? (key === 'phoneNumber' ? 'tel' : key === 'paymentAmountMultiplier' || key === 'maxPayments' ? 'numeric' : undefined);
    row[key] = type ? coerceForType(type, row[key]) : isRecord(row[key]) || Array.isArray(row[key]) ? JSON.stringify(row[key]) : row[key];
  }
  if (typeof row.phoneNumber === 'string') row.phoneNumber = digitsOnly(row.phoneNumber);
  if (program?.paymentAmountMultiplierFormula && row.paymentAmountMultiplier !== undefined) {
    delete row.paymentAmountMultiplier;
    dropped.push('paymentAmountMultiplier');
  }
  return { row, dropped };
}

/** The PATCH data for an existing registration: only keys whose value differs from what 121 holds. */
export function diffForUpdate(row: Record<string, unknown>, current: RegistrationView | undefined, updateFsp: boolean): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    if (key === 'referenceId') continue;
    if (key === 'programFspConfigurationName' && !updateFsp) continue;
    if (current && key in current) {
      const held = current[key];
      if (String(held ?? '') === String(value ?? '')) continue;
    }
    data[key] = value;
  }
  return data;
}

// ---- Inbound ------------------------------------------------------------------------------------------------------

function attributeValue(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  return JSON.stringify(v);
}

/** The canonical case type of what the 121-platform sources emit, unless a source's `caseType` option names another. */
export const DEFAULT_CASE_TYPE = 'cash-assistance';

export interface InboundContext {
  connection: string;
  settings: ResolvedSettings;
  program?: ProgramConfig | null;
  caseType?: string;
}

/** The beneficiary party and case-level fields of a registration. */
export function registrationToParty(reg: RegistrationView, inbound: InboundContext): { party: Party; caseFields: Record<string, unknown> } {
  const person: Person = {};
  const attributes: Record<string, string | number | boolean | null> = {};
  const contacts: Contact[] = [];
  const address: Record<string, unknown> = {};
  const preferences: Record<string, unknown> = {};
  const caseFields: Record<string, unknown> = {};
  const byAttribute = new Map<string, string>();
  for (const [path, attribute] of Object.entries(inbound.settings.attributeMapping)) byAttribute.set(attribute, path);

  for (const [key, raw] of Object.entries(reg)) {
    if (REGISTRATION_GENERIC_FIELDS.has(key) || raw === undefined) continue;
    const path = byAttribute.get(key);
    if (!path) {
      if (key === 'phoneNumber' && raw) contacts.push({ kind: 'phone', value: String(raw), preferred: true });
      else attributes[key] = attributeValue(raw);
      continue;
    }
    if (raw === null || raw === '') continue;
    // The first key names the view (person, contacts, address, preferences, case); the rest is a path inside it.
    const head = /^[^.[]*/.exec(path)?.[0] ?? '';
    const sub = path.slice(head.length).replace(/^\./, '');
    const type = inbound.program?.attributes.get(key)?.type;
    const value = type === 'date' || sub === 'birthDate' ? fromDdMmYyyy(String(raw)) : raw;
    if (head === 'person' && sub.startsWith('attributes.')) attributes[sub.slice('attributes.'.length)] = attributeValue(value);
    else if (head === 'person' && sub) setPath(person as Record<string, unknown>, sub, typeof value === 'object' ? JSON.stringify(value) : String(value));
    else if (head === 'contacts' && sub) contacts.push({ kind: CONTACT_KINDS.includes(sub as Contact['kind']) ? (sub as Contact['kind']) : 'other', value: String(value) });
    else if (head === 'address' && sub) setPath(address, sub, String(value));
    else if (head === 'preferences' && sub) preferences[sub] = String(value);
    else if (head === 'case' && sub) caseFields[sub] = value;
    else attributes[key] = attributeValue(raw);
  }
  // 121's computed `name` stands in for the full name only where no program attribute carries it: otherwise writing
  // the case back would put the computed name into an attribute that was empty.
  const fullNameAttribute = inbound.settings.attributeMapping['person.fullName'];
  const nameIsComputedOnly = !fullNameAttribute || (inbound.program ? inbound.program.attributes.size > 0 && !inbound.program.attributes.has(fullNameAttribute) : false);
  if (!person.fullName && nameIsComputedOnly && typeof reg.name === 'string' && reg.name) person.fullName = reg.name;
  if (typeof reg.preferredLanguage === 'string' && reg.preferredLanguage) {
    person.language = reg.preferredLanguage;
    preferences.language = reg.preferredLanguage;
  }
  if (Object.keys(attributes).length) person.attributes = attributes;
  const party: Party = { id: reg.referenceId, roles: ['beneficiary'], person };
  if (contacts.length) party.contacts = contacts;
  if (Object.keys(address).length) party.addresses = [address];
  if (Object.keys(preferences).length) party.preferences = preferences;
  return { party, caseFields };
}

/**
 * 121's own (non-person) registration fields, kept under extensions.platform121, and every program attribute as 121
 * returned it under `attributes`: whatever the mapping does with them, writing the case back loses none.
 */
export function registrationExtensions(reg: RegistrationView, programId: number): Record<string, unknown> {
  const ext: Record<string, unknown> = { programId };
  for (const key of REGISTRATION_GENERIC_FIELDS) {
    if (key === 'referenceId' || key === 'name' || key === 'preferredLanguage' || key === 'status') continue;
    if (reg[key] !== undefined) ext[key === 'id' ? 'registrationId' : key] = reg[key];
  }
  const attributes: Record<string, string | number | boolean | null> = {};
  for (const [key, raw] of Object.entries(reg)) {
    if (REGISTRATION_GENERIC_FIELDS.has(key) || raw === undefined) continue;
    attributes[key] = attributeValue(raw);
  }
  if (Object.keys(attributes).length) ext.attributes = attributes;
  return ext;
}

export function registrationToCase(reg: RegistrationView, inbound: InboundContext, eventId?: string): CanonicalCase {
  const { party, caseFields } = registrationToParty(reg, inbound);
  const c: CanonicalCase = {
    type: inbound.caseType ?? DEFAULT_CASE_TYPE,
    status: reg.status,
    createdAt: typeof reg.created === 'string' ? reg.created : undefined,
    updatedAt: typeof reg.updated === 'string' ? reg.updated : undefined,
    source: { system: SYSTEM, connection: inbound.connection, id: reg.referenceId, ...(eventId ? { eventId } : {}) },
    references: [referenceOf(reg.referenceId, inbound.connection)],
    parties: [party],
    extensions: { [SYSTEM]: registrationExtensions(reg, inbound.settings.programId) },
  };
  for (const [k, v] of Object.entries(caseFields)) setPath(c as unknown as Record<string, unknown>, k, v);
  return c;
}

export const EVENT_TYPES: Readonly<Record<string, string>> = {
  registrationStatusChange: 'status-change',
  registrationDataChange: 'data-change',
  fspChange: 'fsp-change',
  ignoredDuplicate: 'ignored-duplicate',
};

export function toCaseEvent(ev: RegistrationEvent): CaseEvent {
  const e: CaseEvent = { id: String(ev.id), type: EVENT_TYPES[ev.type] ?? ev.type, at: ev.created };
  if (ev.fieldChanged) e.field = ev.fieldChanged;
  if (ev.oldValue !== undefined) e.oldValue = ev.oldValue === null ? null : String(ev.oldValue);
  if (ev.newValue !== undefined) e.newValue = ev.newValue === null ? null : String(ev.newValue);
  if (ev.reason) e.reason = ev.reason;
  if (ev.username) e.by = ev.username;
  return e;
}

/** One registration event as a canonical case update (status = the new status for a status change). */
export function eventToCase(ev: RegistrationEvent, reg: RegistrationView, inbound: InboundContext): CanonicalCase {
  const c = registrationToCase(reg, inbound, `event:${ev.id}`);
  if (ev.type === 'registrationStatusChange' && ev.newValue) c.status = String(ev.newValue);
  c.updatedAt = ev.created;
  c.events = [toCaseEvent(ev)];
  const ext = c.extensions?.[SYSTEM] as Record<string, unknown>;
  ext.eventType = ev.type;
  ext.eventId = ev.id;
  if (ev.registrationProgramId !== undefined) ext.registrationProgramId = ev.registrationProgramId;
  return c;
}

/** One transaction as a canonical case carrying one payment. */
export function transactionToCase(tx: Transaction, inbound: InboundContext, eventId: string): CanonicalCase {
  const referenceId = String(tx.registrationReferenceId ?? '');
  const known = new Set([
    'id',
    'created',
    'updated',
    'paymentId',
    'paymentDate',
    'amount',
    'status',
    'registrationReferenceId',
    'registrationName',
    'registrationStatus',
  ]);
  const paymentExt: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tx)) if (!known.has(k) && v !== undefined) paymentExt[k] = v;
  const amount = tx.amount === undefined || tx.amount === null ? undefined : Number(tx.amount);
  const payment: Payment = {
    id: String(tx.id),
    direction: 'out',
    partyId: referenceId || undefined,
    extensions: { [SYSTEM]: { ...paymentExt, created: tx.created, updated: tx.updated } },
  };
  if (tx.paymentId !== undefined && tx.paymentId !== null) payment.paymentId = String(tx.paymentId);
  if (amount !== undefined && !Number.isNaN(amount)) payment.amount = amount;
  if (inbound.program?.currency) payment.currency = inbound.program.currency;
  if (tx.status) payment.status = String(tx.status);
  const date = tx.paymentDate ?? tx.created;
  if (date) payment.date = String(date);
  const method = tx.programFspConfigurationName ?? tx.fspName;
  if (typeof method === 'string') payment.method = method;
  const person: Person = {};
  if (typeof tx.registrationName === 'string' && tx.registrationName) person.fullName = tx.registrationName;
  return {
    type: inbound.caseType ?? DEFAULT_CASE_TYPE,
    status: typeof tx.registrationStatus === 'string' ? tx.registrationStatus : undefined,
    updatedAt: typeof tx.updated === 'string' ? tx.updated : typeof tx.created === 'string' ? tx.created : undefined,
    source: { system: SYSTEM, connection: inbound.connection, id: referenceId || undefined, eventId },
    references: referenceId ? [referenceOf(referenceId, inbound.connection)] : [],
    parties: [{ id: referenceId || undefined, roles: ['beneficiary'], person }],
    payments: [payment],
    extensions: { [SYSTEM]: { programId: inbound.settings.programId, transactionId: tx.id } },
  };
}
