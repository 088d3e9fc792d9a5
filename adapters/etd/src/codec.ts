/**
 * Lossless mapping between an etdApp object and a canonical case.
 *
 * People (applicant, passport applicant, representative, father, mother, countersignatory) become parties with
 * their names, birth data, addresses, contacts and identity documents in the standard fields. Every other field,
 * and every empty block, stays where it was in extensions.etd (the etdApp minus what moved into parties), so
 * caseToEtdApp(etdAppToCase(app)) deep-equals app. A field moves only when it holds a string; anything else stays
 * in the extension untouched. The representative block's field names are TBD (the spec gives it no field list): text in
 * a field it does not declare is that person's data too, so it goes to the party's person.attributes.
 */
import type { Address, CanonicalCase, Contact, IdentityDocument, Party, Person } from 'caseway/core';
import { deepClone, defineKey, deletePath, ensureObject, getPath, isPlainObject, setPath, type JsonObject, type JsonValue } from './json';
import type { PassportIssuedInUKField } from './settings';
import { BASE_SCHEMA, canonicalEnumValue, REPRESENTATIVE_PATH, schemaNodeAt } from './validator';

export const ADAPTER = 'etd';
export const CASE_TYPE = 'etd-application';
export const REF_KIND = 'appRefNumber';

type PersonText = 'title' | 'forenames' | 'surname' | 'fullName' | 'birthDate' | 'nationality' | 'citizenship' | 'immigrationStatus' | 'profession';
type DocField = 'number' | 'issuingCountry' | 'placeOfIssue' | 'issueDate';
type ContactKind = 'phone' | 'home-phone' | 'email';

type Slot =
  | { kind: 'person'; field: PersonText }
  | { kind: 'birthPlace'; field: 'city' | 'country' }
  | { kind: 'relationship' }
  | { kind: 'address'; field: 'street' | 'town' | 'postcode' | 'country' }
  | { kind: 'contact'; contact: ContactKind }
  | { kind: 'document'; docType: string; field: DocField };

interface FieldMap {
  etd: string[];
  slot: Slot;
}

interface PartyMap {
  roles: string[];
  /** The block whose presence makes the party exist (absent for the applicant, who always exists). */
  block?: string[];
  fields: FieldMap[];
}

const person = (field: PersonText): Slot => ({ kind: 'person', field });
const birth = (field: 'city' | 'country'): Slot => ({ kind: 'birthPlace', field });
const address = (field: 'street' | 'town' | 'postcode' | 'country'): Slot => ({ kind: 'address', field });
const contact = (kind: ContactKind): Slot => ({ kind: 'contact', contact: kind });
const doc = (docType: string, field: DocField): Slot => ({ kind: 'document', docType, field });
const relationship: Slot = { kind: 'relationship' };

function fields(prefix: string, map: Array<[string, Slot]>): FieldMap[] {
  return map.map(([path, slot]) => ({ etd: [...(prefix ? prefix.split('.') : []), ...path.split('.')], slot }));
}

function parentMap(role: 'father' | 'mother', block: string): PartyMap {
  return {
    roles: [role, 'parent'],
    block: block.split('.'),
    fields: fields(block, [
      ['fullName', person('fullName')],
      ['birthCountry', birth('country')],
      ['birthTown', birth('city')],
      ['birthDate', person('birthDate')],
      ['citizenShip', person('citizenship')],
      ['immigrationStatus', person('immigrationStatus')],
      ['passport.docNumber', doc('passport', 'number')],
      ['passport.placeOfIssue', doc('passport', 'placeOfIssue')],
      ['passport.dateOfIssue', doc('passport', 'issueDate')],
      ['citizenship.docNumber', doc('citizenship', 'number')],
      ['citizenship.placeOfIssue', doc('citizenship', 'placeOfIssue')],
      ['citizenship.dateOfIssue', doc('citizenship', 'issueDate')],
    ]),
  };
}

/** Which etdApp fields become which party's standard fields. */
export const PARTY_MAPS: readonly PartyMap[] = [
  {
    roles: ['applicant'],
    fields: [
      ...fields('appDetails', [
        ['title', person('title')],
        ['forenames', person('forenames')],
        ['surname', person('surname')],
        ['address.numberAndStreet', address('street')],
        ['address.town', address('town')],
        ['address.postcode', address('postcode')],
        ['address.country', address('country')],
        ['birthDate', person('birthDate')],
        ['birthCity', birth('city')],
        ['birthCountry', birth('country')],
        ['contactPhone', contact('phone')],
        ['homePhone', contact('home-phone')],
        ['email', contact('email')],
      ]),
      ...fields('passportDetails', [
        ['nationality', person('nationality')],
        ['docNumber', doc('passport', 'number')],
        ['countryOfIssue', doc('passport', 'issuingCountry')],
        ['cityOfIssue', doc('passport', 'placeOfIssue')],
        ['dateOfIssue', doc('passport', 'issueDate')],
      ]),
      ...fields('furtherInformation', [['BNOHongKongIdCard', doc('bno-hk-id', 'number')]]),
      ...fields('firstTimeApp.applicantInfo', [
        ['docNumber', doc('registration', 'number')],
        ['placeOfIssue', doc('registration', 'placeOfIssue')],
        ['dateOfIssue', doc('registration', 'issueDate')],
      ]),
    ],
  },
  {
    roles: ['passport-applicant'],
    block: ['passportDetails', 'passportApplicant'],
    fields: fields('passportDetails.passportApplicant', [
      ['title', person('title')],
      ['forenames', person('forenames')],
      ['surname', person('surname')],
      ['birthDate', person('birthDate')],
      ['birthCity', birth('city')],
      ['birthCountry', birth('country')],
      ['relationship', relationship],
    ]),
  },
  {
    roles: ['representative'],
    block: ['representative'],
    fields: fields('representative', [
      ['title', person('title')],
      ['forenames', person('forenames')],
      ['surname', person('surname')],
      ['dateOfBirth', person('birthDate')],
      ['cityOfBirth', birth('city')],
      ['countryOfBirth', birth('country')],
      ['relationshipToApplicant', relationship],
    ]),
  },
  parentMap('father', 'firstTimeApp.parentDetails.fatherDetails'),
  parentMap('mother', 'firstTimeApp.parentDetails.motherDetails'),
  {
    roles: ['countersignatory'],
    block: ['firstTimeApp', 'countersignature'],
    fields: fields('firstTimeApp.countersignature', [
      ['fullName', person('fullName')],
      ['country', address('country')],
      ['numberAndStreet', address('street')],
      ['town', address('town')],
      ['postcode', address('postcode')],
      ['email', contact('email')],
      ['contactphone', contact('phone')],
      ['relationship', relationship],
      ['nationality', person('nationality')],
      ['profession', person('profession')],
    ]),
  },
];

const OTHER_NAMES_PATH = ['appDetails', 'other'];
/** The representative fields the schema declares (our guesses); any other name in the block is the form's own. */
const REPRESENTATIVE_DECLARED = new Set(Object.keys(schemaNodeAt(BASE_SCHEMA, ['etdApp', ...REPRESENTATIVE_PATH])?.properties ?? {}));
const ISSUED_IN_UK_NAMES: readonly PassportIssuedInUKField[] = ['passportIssuedInUK', 'passwordIssuedInUK'];

// ---- slots: reading and writing one standard field of a party ----

function personOf(party: Party): Person {
  party.person ??= {};
  return party.person;
}

function residentialAddress(party: Party, create: boolean): Address | undefined {
  const found = party.addresses?.find((a) => a.kind === 'residential') ?? party.addresses?.[0];
  if (found || !create) return found;
  const created: Address = { kind: 'residential' };
  (party.addresses ??= []).push(created);
  return created;
}

function identityDocument(party: Party, type: string, create: boolean): IdentityDocument | undefined {
  const found = party.person?.identityDocuments?.find((d) => d.type === type);
  if (found || !create) return found;
  const created: IdentityDocument = { type };
  (personOf(party).identityDocuments ??= []).push(created);
  return created;
}

function setSlot(party: Party, slot: Slot, value: string): void {
  switch (slot.kind) {
    case 'person':
      personOf(party)[slot.field] = value;
      return;
    case 'birthPlace':
      (personOf(party).birthPlace ??= {})[slot.field] = value;
      return;
    case 'relationship':
      party.relationship = value;
      return;
    case 'address': {
      const a = residentialAddress(party, true) as Address;
      if (slot.field === 'street') a.lines = [value];
      else a[slot.field] = value;
      return;
    }
    case 'contact': {
      const c: Contact = { kind: slot.contact, value };
      (party.contacts ??= []).push(c);
      return;
    }
    case 'document':
      (identityDocument(party, slot.docType, true) as IdentityDocument)[slot.field] = value;
      return;
  }
}

function getSlot(party: Party, slot: Slot): string | undefined {
  switch (slot.kind) {
    case 'person':
      return party.person?.[slot.field];
    case 'birthPlace':
      return party.person?.birthPlace?.[slot.field];
    case 'relationship':
      return party.relationship;
    case 'address': {
      const a = residentialAddress(party, false);
      if (slot.field === 'street') return a?.lines?.length ? a.lines.join(', ') : undefined;
      return a?.[slot.field];
    }
    case 'contact': {
      const contacts = party.contacts ?? [];
      const found = contacts.find((c) => c.kind === slot.contact) ?? (slot.contact === 'phone' ? contacts.find((c) => c.kind === 'mobile') : undefined);
      return found?.value;
    }
    case 'document':
      return identityDocument(party, slot.docType, false)?.[slot.field];
  }
}

// ---- etdApp -> canonical ----

export interface CaseMeta {
  connection: string;
  appRefNumber: string;
  eventId: string;
  receivedAt: string;
}

/** A node of the tree of the key paths the party maps name (real keys, so any key, "" or one holding NUL included). */
interface PathNode {
  children: Map<string, PathNode>;
}

const PATH_ROOT: PathNode = { children: new Map() };

/** The nodes along a path, from its first key; created at load time only. */
function nodesAlong(path: readonly string[]): PathNode[] {
  const out: PathNode[] = [];
  let node = PATH_ROOT;
  for (const key of path) {
    let child = node.children.get(key);
    if (!child) node.children.set(key, (child = { children: new Map() }));
    out.push(child);
    node = child;
  }
  return out;
}

/**
 * The party maps with what intake needs looked up once: each field's node and the nodes of the objects it sits in
 * (an object emptied by moving fields out is dropped only when a moved field or a party's block was in it).
 */
const INDEXED_MAPS = PARTY_MAPS.map((map) => ({
  map,
  blockNodes: map.block ? nodesAlong(map.block) : [],
  fields: map.fields.map((field) => {
    const nodes = nodesAlong(field.etd);
    return { field, node: nodes[nodes.length - 1], parents: nodes.slice(0, -1) };
  }),
}));
const OTHER_NAMES_PARENTS = nodesAlong(OTHER_NAMES_PATH).slice(0, -1);

/**
 * A copy of JSON data without the string leaves whose path nodes are in `moved` (what became party fields); `node`
 * is the path tree's node for `value` (undefined off the tree and inside arrays, where no moved field sits).
 * Replaces clone-then-delete, which cost about a third of the mapping.
 */
function copyWithout(value: JsonValue, node: PathNode | undefined, moved: ReadonlySet<PathNode>): JsonValue {
  if (Array.isArray(value)) return value.map((item) => copyWithout(item, undefined, moved));
  if (!isPlainObject(value)) return value;
  const out: JsonObject = {};
  for (const k of Object.keys(value)) {
    const child = node?.children.get(k);
    if (child && moved.has(child)) continue;
    defineKey(out, k, copyWithout(value[k], child, moved));
  }
  return out;
}

/** Removes objects that became empty because their fields moved into parties (the reverse recreates them). */
function pruneMoved(value: JsonObject, node: PathNode, touched: ReadonlySet<PathNode>): void {
  for (const k of Object.keys(value)) {
    const child = node.children.get(k);
    const item = value[k];
    // Off the path tree nothing moved, so nothing there can have been emptied.
    if (!child || !isPlainObject(item)) continue;
    pruneMoved(item, child, touched);
    if (touched.has(child) && Object.keys(item).length === 0) delete value[k];
  }
}

function yesNo(value: JsonValue | undefined): boolean | undefined {
  if (typeof value !== 'string') return undefined;
  const v = value.toLowerCase();
  return v === 'y' ? true : v === 'n' ? false : undefined;
}

export function etdAppToCase(etdApp: JsonObject, meta: CaseMeta): CanonicalCase {
  // Which string fields move into which party (a path claimed by an earlier map stays with it), then the rest of the
  // application, copied without them, is the extension.
  const moved = new Set<PathNode>();
  const touched = new Set<PathNode>();
  const plans: Array<{ roles: readonly string[]; hasBlock: boolean; fields: Array<{ slot: Slot; value: string }> }> = [];
  for (const { map, blockNodes, fields: indexed } of INDEXED_MAPS) {
    if (map.block && !isPlainObject(getPath(etdApp, map.block))) continue;
    const fieldsToMove: Array<{ slot: Slot; value: string }> = [];
    for (const { field, node, parents } of indexed) {
      if (moved.has(node)) continue;
      const value = getPath(etdApp, field.etd);
      if (typeof value !== 'string') continue;
      fieldsToMove.push({ slot: field.slot, value });
      moved.add(node);
      for (const n of parents) touched.add(n);
    }
    for (const n of blockNodes) touched.add(n);
    plans.push({ roles: map.roles, hasBlock: map.block !== undefined, fields: fieldsToMove });
  }
  const rest = copyWithout(etdApp, PATH_ROOT, moved) as JsonObject;
  const parties: Party[] = [];
  for (const plan of plans) {
    const party: Party = { roles: [...plan.roles] };
    for (const { slot, value } of plan.fields) setSlot(party, slot, value);
    let hasFields = plan.fields.length > 0;
    if (plan.roles[0] === 'applicant' && moveOtherNames(rest, party)) {
      for (const n of OTHER_NAMES_PARENTS) touched.add(n);
      hasFields = true;
    }
    if (plan.roles[0] === 'representative') moveRepresentativeAttributes(rest, party);
    if (plan.hasBlock || hasFields) parties.push(party);
  }
  pruneMoved(rest, PATH_ROOT, touched);

  const applicant = parties.find((p) => p.roles.includes('applicant'));
  const passport = getPath(etdApp, ['passportDetails']);
  const issuedInUK = isPlainObject(passport) ? yesNo(passport.passportIssuedInUK ?? passport.passwordIssuedInUK) : undefined;
  if (applicant && issuedInUK !== undefined) (identityDocument(applicant, 'passport', true) as IdentityDocument).issuedInUK = issuedInUK;
  const reason = getPath(etdApp, ['etdReason', 'reason']);

  const kase: CanonicalCase = {
    type: CASE_TYPE,
    ...(typeof reason === 'string' && reason !== '' ? { subtype: canonicalEnumValue(['etdReason', 'reason'], reason) } : {}),
    title: 'Emergency Travel Document application',
    receivedAt: meta.receivedAt,
    source: { system: ADAPTER, connection: meta.connection, id: meta.appRefNumber, eventId: meta.eventId },
    references: [{ system: ADAPTER, connection: meta.connection, id: meta.appRefNumber, kind: REF_KIND }],
    parties,
    // The whole application as one readable note, so a case manager that only takes notes (iCasework) gets it all.
    notes: [{ type: 'application', text: renderApplication(etdApp), createdAt: meta.receivedAt }],
    extensions: { [ADAPTER]: rest },
  };
  return kase;
}

/** "appDetails.surname: Smith" lines for every non-empty field, in the application's own order. */
export function renderApplication(etdApp: JsonObject): string {
  const lines: string[] = ['Emergency Travel Document application'];
  const walk = (value: JsonValue, path: string): void => {
    if (Array.isArray(value)) value.forEach((item, i) => walk(item, `${path}[${i}]`));
    else if (isPlainObject(value)) for (const [key, item] of Object.entries(value)) walk(item, path ? `${path}.${key}` : key);
    else if (value !== null && value !== '') lines.push(`${path}: ${String(value)}`);
  };
  walk(etdApp, '');
  return lines.join('\n');
}

/** appDetails.other -> person.otherNames, when it is a list of objects; their names leave the extension. */
function moveOtherNames(rest: JsonObject, applicant: Party): boolean {
  const other = getPath(rest, OTHER_NAMES_PATH);
  if (!Array.isArray(other) || !other.every(isPlainObject)) return false;
  const items = other as JsonObject[];
  personOf(applicant).otherNames = items.map((item) => {
    const name: { forenames?: string; surname?: string } = {};
    for (const key of ['forenames', 'surname'] as const) {
      const value = item[key];
      if (typeof value === 'string') {
        name[key] = value;
        delete item[key];
      }
    }
    return name;
  });
  if (items.every((item) => Object.keys(item).length === 0)) deletePath(rest, OTHER_NAMES_PATH);
  return true;
}

/**
 * Text in representative fields the schema does not declare (kept under unknownFields: keep) -> the representative's
 * person.attributes, so it is masked and handled as that person's data; any other value stays in the extension.
 */
function moveRepresentativeAttributes(rest: JsonObject, representative: Party): void {
  const block = getPath(rest, REPRESENTATIVE_PATH);
  if (!isPlainObject(block)) return;
  for (const key of Object.keys(block)) {
    const value = block[key];
    if (typeof value !== 'string' || REPRESENTATIVE_DECLARED.has(key)) continue;
    defineKey((personOf(representative).attributes ??= {}), key, value);
    delete block[key];
  }
}

// ---- canonical -> etdApp ----

export interface EtdAppOptions {
  /**
   * The name passportDetails' issued-in-the-UK y/n goes out under; the other spelling is dropped (its value moves when
   * the chosen one is absent). Absent: whichever name the case holds is kept, and a value from `issuedInUK` goes
   * out as passportIssuedInUK (so caseToEtdApp(etdAppToCase(app)) deep-equals app).
   */
  passportIssuedInUKField?: PassportIssuedInUKField;
}

/** Builds the etdApp for a canonical case: the extension first, then every standard field that maps back. */
export function caseToEtdApp(kase: CanonicalCase, options: EtdAppOptions = {}): JsonObject {
  const ext = kase.extensions?.[ADAPTER];
  const app: JsonObject = isPlainObject(ext) ? deepClone(ext as JsonObject) : {};
  for (const map of PARTY_MAPS) {
    const party = kase.parties.find((p) => p.roles.includes(map.roles[0]));
    if (!party) continue;
    if (map.block) ensureObject(app, map.block);
    for (const field of map.fields) {
      const value = getSlot(party, field.slot);
      if (value !== undefined) setPath(app, field.etd, value);
    }
    if (map.roles[0] === 'applicant') restoreOtherNames(app, party);
    if (map.roles[0] === 'representative') restoreRepresentativeAttributes(app, party);
  }
  const applicant = kase.parties.find((p) => p.roles.includes('applicant'));
  const passport = getPath(app, ['passportDetails']);
  const issuedInUK = applicant ? identityDocument(applicant, 'passport', false)?.issuedInUK : undefined;
  const hasIssuedKey = isPlainObject(passport) && (passport.passportIssuedInUK !== undefined || passport.passwordIssuedInUK !== undefined);
  const issuedName = options.passportIssuedInUKField;
  if (issuedInUK !== undefined && !hasIssuedKey) setPath(app, ['passportDetails', issuedName ?? 'passportIssuedInUK'], issuedInUK ? 'y' : 'n');
  if (issuedName && isPlainObject(passport)) {
    for (const other of ISSUED_IN_UK_NAMES.filter((name) => name !== issuedName && Object.hasOwn(passport, name))) {
      if (!Object.hasOwn(passport, issuedName)) passport[issuedName] = passport[other];
      delete passport[other];
    }
  }
  if (getPath(app, ['etdReason', 'reason']) === undefined && kase.subtype && kase.type === CASE_TYPE) {
    setPath(app, ['etdReason', 'reason'], kase.subtype);
  }
  return orderLikeSchema(app, schemaNodeAt(BASE_SCHEMA, ['etdApp'])) as JsonObject;
}

function restoreOtherNames(app: JsonObject, applicant: Party): void {
  const names = applicant.person?.otherNames;
  if (!names) return;
  const existing = getPath(app, OTHER_NAMES_PATH);
  const base: JsonValue[] = Array.isArray(existing) ? existing : [];
  const merged: JsonValue[] = names.map((name, i) => {
    const item: JsonObject = isPlainObject(base[i]) ? { ...(base[i] as JsonObject) } : {};
    if (name.forenames !== undefined) item.forenames = name.forenames;
    if (name.surname !== undefined) item.surname = name.surname;
    return item;
  });
  merged.push(...base.slice(names.length));
  setPath(app, OTHER_NAMES_PATH, merged);
}

/** The representative's attributes back into its block (not over a field the schema declares: those are standard fields). */
function restoreRepresentativeAttributes(app: JsonObject, representative: Party): void {
  for (const [key, value] of Object.entries(representative.person?.attributes ?? {})) {
    if (!REPRESENTATIVE_DECLARED.has(key)) setPath(app, [...REPRESENTATIVE_PATH, key], value);
  }
}

/** Orders object keys as the spec's tables do (unknown keys after, in their own order), for readable output. */
export function orderLikeSchema(value: JsonValue, node: JsonObject | undefined): JsonValue {
  if (Array.isArray(value)) {
    const items = node && isPlainObject(node.items) ? node.items : undefined;
    return value.map((v) => orderLikeSchema(v, items));
  }
  if (!isPlainObject(value)) return value;
  const props = node && isPlainObject(node.properties) ? node.properties : {};
  const known = Object.keys(props).filter((k) => Object.hasOwn(value, k));
  const unknown = Object.keys(value).filter((k) => !Object.hasOwn(props, k));
  const out: JsonObject = {};
  for (const key of [...known, ...unknown]) {
    const child = props[key];
    defineKey(out, key, orderLikeSchema(value[key], isPlainObject(child) && Object.hasOwn(props, key) ? child : undefined));
  }
  return out;
}
