/**
 * iCasework flat case records (getcasedetails / report rows: CaseDetails.*, CaseStatus*.*, MainParty.*,
 * CaseNoteN.*) -> canonical case. Mapped fields go to their canonical homes; every other non-empty field is kept
 * under extensions.icasework.details with its iCasework name, so nothing is dropped.
 */
import { createHash } from 'node:crypto';
import type { CanonicalCase, CrossReference, Note, Party } from 'caseway/core';
import type { CaseDocument, Flat } from './codec';

export const DEFAULT_HUB_ID_PATTERN = '^(hub-.+|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$';
export const DEFAULT_NOTE_PREFIX = 'CaseNote';

const CASE_FIELD_MAP: Record<string, keyof CanonicalCase> = {
  'CaseDetails.CaseType': 'type',
  'CaseStatus.Status': 'status',
  'CaseDetails.CaseLabel': 'title',
  'CaseStatusReceipt.DateReceived': 'receivedAt',
  'CaseStatusReceipt.TimeCreated': 'createdAt',
  'CaseStatusTouchTimes.LastUpdatedTime': 'updatedAt',
  'CaseStatusClosure.DateClosed': 'closedAt',
};

export interface IcaseworkNote extends Note {
  /** Stable key used to remember which notes were emitted/sent. */
  key: string;
}

/** Identifies a note in the connection state. Notes hold personal data, so the key is a digest, never the text. */
function noteKey(n: { id?: string; text: string; createdAt?: string; type?: string }): string {
  if (n.id) return `id:${n.id}`;
  return `t:${createHash('sha256').update(`${n.createdAt ?? ''}|${n.type ?? ''}|${n.text}`).digest('hex').slice(0, 32)}`;
}

/** The marker a note the hub sends carries: a digest of its stable key (never its text), the same on every attempt. */
export function noteMarker(note: { id?: string; text: string; createdAt?: string; type?: string }): string {
  return `caseway:${createHash('sha256').update(noteKey(note)).digest('hex').slice(0, 16)}`;
}

/** A marker as appended to a note's text ("\n[caseway:…]") or Type (" [caseway:…]"). */
const MARKER_SUFFIX = /\s*\[caseway:[0-9a-f]{16}\]$/;

/**
 * The case's notes from flat `CaseNoteN.Id/.Text/.Type/.CreatedBy/.DateCreated/.SelfServiceAccess` fields. The
 * hub's own note markers are removed unless keepMarkers is set.
 */
export function notesFromFlat(flat: Flat, prefix = DEFAULT_NOTE_PREFIX, opts: { keepMarkers?: boolean } = {}): IcaseworkNote[] {
  const clean = (v: string): string => (opts.keepMarkers ? v : v.replace(MARKER_SUFFIX, ''));
  const byIndex = new Map<number, Record<string, string>>();
  const re = new RegExp(`^${prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\d+)\\.(.+)$`);
  for (const [k, v] of Object.entries(flat)) {
    const m = re.exec(k);
    if (!m) continue;
    const idx = Number(m[1]);
    const rec = byIndex.get(idx) ?? {};
    rec[m[2]] = v;
    byIndex.set(idx, rec);
  }
  const notes: IcaseworkNote[] = [];
  for (const idx of [...byIndex.keys()].sort((a, b) => a - b)) {
    const r = byIndex.get(idx)!;
    const text = clean(r.Text ?? r.Notes ?? r.Note ?? '');
    if (text === '') continue;
    const note: Note = { text };
    if (r.Id) note.id = r.Id;
    if (r.Type) note.type = clean(r.Type);
    if (r.DateCreated) note.createdAt = r.DateCreated;
    if (r.CreatedBy) note.author = r.CreatedBy;
    if (r.SelfServiceAccess) note.visibleToCustomer = /^(true|yes|y|1)$/i.test(r.SelfServiceAccess);
    notes.push({ ...note, key: noteKey(note) });
  }
  return notes;
}

export { noteKey };

function mainParty(flat: Flat): { party?: Party; rest: Record<string, string> } {
  const m: Record<string, string> = {};
  for (const [k, v] of Object.entries(flat)) if (k.startsWith('MainParty.') && v !== '') m[k.slice('MainParty.'.length)] = v;
  if (Object.keys(m).length === 0) return { rest: {} };
  const used = new Set<string>();
  const take = (name: string): string | undefined => {
    const v = m[name];
    if (v !== undefined) used.add(name);
    return v;
  };
  const party: Party = { roles: ['customer'] };
  const ref = take('Reference');
  if (ref) party.id = ref;
  const person: NonNullable<Party['person']> = {};
  const title = take('Title');
  if (title) person.title = title;
  const first = take('FirstName');
  if (first) person.forenames = first;
  const last = take('LastName');
  if (last) person.surname = last;
  const full = take('FullName');
  if (full) person.fullName = full;
  const dob = take('DateOfBirth');
  if (dob) person.birthDate = dob;
  const gender = take('Gender');
  if (gender) person.gender = gender;
  const category = take('Category');
  if (category) person.attributes = { category };
  if (Object.keys(person).length) party.person = person;
  const org = take('Organisation');
  if (org) party.organisation = { name: org };
  const address: NonNullable<Party['addresses']>[number] = {};
  const street = take('Address');
  if (street) address.lines = street.split(/\r?\n/).filter((l) => l.trim() !== '');
  const town = take('Town');
  if (town) address.town = town;
  const county = take('County');
  if (county) address.county = county;
  const postcode = take('Postcode');
  if (postcode) address.postcode = postcode;
  const country = take('Country');
  if (country) address.country = country;
  if (Object.keys(address).length) party.addresses = [address];
  const contacts: NonNullable<Party['contacts']> = [];
  const email = take('EmailAddress') ?? take('Email');
  if (email) contacts.push({ kind: 'email', value: email });
  const phone = take('Phone');
  if (phone) contacts.push({ kind: 'phone', value: phone });
  const mobile = take('Mobile');
  if (mobile) contacts.push({ kind: 'mobile', value: mobile });
  if (contacts.length) party.contacts = contacts;
  const prefs: NonNullable<Party['preferences']> = {};
  const method = take('ContactMethod');
  if (method) prefs.contactMethod = method;
  const time = take('ContactTime');
  if (time) prefs.contactTime = time;
  const lang = take('ContactLanguage');
  if (lang) prefs.language = lang;
  const consent = take('ContactConsent');
  if (consent) prefs.contactConsent = consent;
  if (Object.keys(prefs).length) party.preferences = prefs;
  const rest: Record<string, string> = {};
  for (const [k, v] of Object.entries(m)) if (!used.has(k)) rest[k] = v;
  // The customer's iCasework reference, under its createcase/updatecustomer name, so it goes back as Customer.Id / Id.
  const ext: Record<string, string> = ref ? { Id: ref, ...rest } : rest;
  if (Object.keys(ext).length) party.extensions = { icasework: ext };
  return { party, rest };
}

export interface ToCanonicalOptions {
  connection: string;
  hubIdPattern?: RegExp;
  notePrefix?: string;
  /** The notes to put on the case (e.g. only those not emitted before); default every note. */
  notes?: Note[];
  /** The case's documents (getcasedocuments), when the source asked for them. */
  documents?: CaseDocument[];
  reportId?: string;
}

/** A flat iCasework case record as a canonical case. */
export function caseFromFlat(flat: Flat, opts: ToCanonicalOptions): CanonicalCase {
  const caseId = flat['CaseDetails.CaseId'] ?? flat.CaseId ?? '';
  const notePrefix = opts.notePrefix ?? DEFAULT_NOTE_PREFIX;
  const c: CanonicalCase = {
    type: flat['CaseDetails.CaseType'] || flat['CaseDetails.FormType'] || flat.Type || 'icasework-case',
    source: { system: 'icasework', connection: opts.connection, id: caseId },
    parties: [],
  };
  for (const [field, key] of Object.entries(CASE_FIELD_MAP)) {
    const v = flat[field];
    if (v && key !== 'type') (c as unknown as Record<string, unknown>)[key] = v;
  }
  const references: CrossReference[] = [];
  if (caseId) references.push({ system: 'icasework', connection: opts.connection, id: caseId, kind: 'caseid' });
  const externalId = flat['CaseDetails.ExternalId'];
  if (externalId) {
    const pattern = opts.hubIdPattern ?? new RegExp(DEFAULT_HUB_ID_PATTERN);
    references.push(pattern.test(externalId) ? { system: 'hub', id: externalId } : { system: 'external', id: externalId, kind: 'ExternalId' });
  }
  c.references = references;
  const { party } = mainParty(flat);
  if (party) c.parties.push(party);
  const notes = opts.notes ?? notesFromFlat(flat, notePrefix).map(({ key: _key, ...n }) => n);
  if (notes.length) c.notes = notes;
  const details: Record<string, string> = {};
  const noteRe = new RegExp(`^${notePrefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\d+\\.`);
  for (const [k, v] of Object.entries(flat)) {
    if (v === '' || k.startsWith('MainParty.') || noteRe.test(k) || k === 'CaseDetails.CaseId') continue;
    if (CASE_FIELD_MAP[k]) continue;
    details[k] = v;
  }
  const ext: Record<string, unknown> = { caseId, details };
  // The case type's own fields (CaseDetails<Type>.<Field>, e.g. CaseDetailsInformationRequest.Details), by their
  // createcase/updatecase parameter names, so a case sent back to iCasework carries them again.
  const { fields, group } = typeFields(flat);
  if (Object.keys(fields).length) {
    ext.fields = fields;
    if (group) ext.typeGroup = group;
    if (fields.Details && !c.summary) c.summary = fields.Details;
  }
  if (opts.reportId) ext.reportId = opts.reportId;
  if (opts.documents?.length) c.documents = opts.documents.map(documentFromIcasework);
  c.extensions = { icasework: ext };
  return c;
}

/** Type-specific groups: CaseDetails followed by more letters (CaseDetails.* itself is the common group). */
const TYPE_GROUP = /^CaseDetails([A-Za-z0-9]+)\.(.+)$/;

/** The case type's own fields from its CaseDetails<Type>.* group(s): parameter name -> value (empty ones left out). */
export function typeFields(flat: Flat): { fields: Record<string, string>; group?: string } {
  const fields: Record<string, string> = {};
  let group: string | undefined;
  for (const [k, v] of Object.entries(flat)) {
    const m = TYPE_GROUP.exec(k);
    if (!m || v === '') continue;
    group ??= `CaseDetails${m[1]}`;
    fields[m[2]] = v;
  }
  return { fields, group };
}

/** A getcasedocuments entry as a canonical document (id D…, the download URL, category, date). */
export function documentFromIcasework(d: CaseDocument): NonNullable<CanonicalCase['documents']>[number] {
  const doc: NonNullable<CanonicalCase['documents']>[number] = { id: d.id, name: d.name };
  if (d.mimeType) doc.mimeType = d.mimeType;
  if (d.url) doc.url = d.url;
  if (d.category) doc.category = d.category;
  if (d.documentDate) doc.createdAt = d.documentDate;
  return doc;
}
