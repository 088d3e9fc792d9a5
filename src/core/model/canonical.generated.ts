/* Generated from schemas/canonical-case.schema.json by `npm run gen:types`. Do not edit. */

/**
 * The hub's one model of a case. Every adapter translates its peer's format to and from this shape. Peer-specific fields that have no standard home go in extensions.<peer> so nothing is dropped.
 */
export interface CanonicalCase {
  /**
   * Assigned by the hub at intake; stable for the life of the case.
   */
  hubId?: string;
  /**
   * Kind of case, e.g. etd-application, maintenance, complaint, cash-assistance.
   */
  type: string;
  subtype?: string;
  /**
   * The peer's status word as received (e.g. included, declined, Open).
   */
  status?: string;
  title?: string;
  summary?: string;
  /**
   * ISO-8601 date-time the source received the case.
   */
  receivedAt?: string;
  createdAt?: string;
  updatedAt?: string;
  closedAt?: string;
  source: SourceRef;
  /**
   * Ids of the same case in other systems (cross-references).
   */
  references?: CrossReference[];
  parties: Party[];
  notes?: Note[];
  documents?: Document[];
  payments?: Payment[];
  events?: CaseEvent[];
  extensions?: Extensions;
}
export interface SourceRef {
  /**
   * Adapter name of the system the case came from (etd, icasework, platform121, isupport).
   */
  system: string;
  /**
   * Config connection name the case came in through.
   */
  connection?: string;
  /**
   * The case's id in the source system, if it has one.
   */
  id?: string;
  /**
   * Stable id of the source event; the hub de-duplicates on it.
   */
  eventId?: string;
}
export interface CrossReference {
  system: string;
  connection?: string;
  id: string;
  /**
   * What the id names in that system, e.g. caseid, referenceId, appRefNumber, requestId.
   */
  kind?: string;
}
export interface Party {
  /**
   * Identifier of the party inside this case (or the peer's own person id).
   */
  id?: string;
  /**
   * Items: applicant, creditor, debtor, child, caseworker, parent, father, mother, countersignatory, representative, passport-applicant, customer, beneficiary, other-name ...
   */
  roles: string[];
  /**
   * Relationship to the main party, in the peer's words.
   */
  relationship?: string;
  person?: Person;
  organisation?: {
    name?: string;
    id?: string;
  };
  addresses?: Address[];
  contacts?: Contact[];
  preferences?: {
    contactMethod?: string;
    contactTime?: string;
    contactConsent?: string;
    language?: string;
  };
  extensions?: Extensions;
}
export interface Person {
  title?: string;
  forenames?: string;
  surname?: string;
  fullName?: string;
  otherNames?: {
    forenames?: string;
    surname?: string;
    fullName?: string;
  }[];
  /**
   * yyyy-mm-dd when known in full.
   */
  birthDate?: string;
  birthPlace?: {
    city?: string;
    country?: string;
  };
  gender?: string;
  nationality?: string;
  citizenship?: string;
  immigrationStatus?: string;
  profession?: string;
  /**
   * Preferred language (ISO 639-1 where known).
   */
  language?: string;
  identityDocuments?: IdentityDocument[];
  /**
   * Other person attributes in the peer's words (ethnic origin, disability1..9, category ...).
   */
  attributes?: {
    [k: string]: string | number | boolean | null;
  };
}
export interface IdentityDocument {
  /**
   * passport, citizenship, bno-hk-id, registration, national-id ...
   */
  type: string;
  number?: string;
  issuingCountry?: string;
  placeOfIssue?: string;
  issueDate?: string;
  expiryDate?: string;
  issuedInUK?: boolean;
}
export interface Address {
  /**
   * residential, postal, work ...
   */
  kind?: string;
  lines?: string[];
  town?: string;
  county?: string;
  postcode?: string;
  country?: string;
}
export interface Contact {
  kind: 'phone' | 'mobile' | 'home-phone' | 'whatsapp' | 'email' | 'fax' | 'other';
  value: string;
  preferred?: boolean;
}
/**
 * Namespaced bag: extensions.<adapter> holds that peer's fields that have no standard home.
 */
export interface Extensions {
  [k: string]: {
    [k: string]: unknown;
  };
}
export interface Note {
  id?: string;
  text: string;
  type?: string;
  createdAt?: string;
  author?: string;
  visibleToCustomer?: boolean;
}
export interface Document {
  id?: string;
  name: string;
  mimeType?: string;
  url?: string;
  public?: boolean;
  category?: string;
  createdAt?: string;
}
export interface Payment {
  id?: string;
  /**
   * The payment run or instalment the transaction belongs to.
   */
  paymentId?: string;
  direction?: 'in' | 'out';
  amount?: number;
  currency?: string;
  status?: string;
  date?: string;
  method?: string;
  partyId?: string;
  extensions?: Extensions;
}
export interface CaseEvent {
  id?: string;
  /**
   * status-change, data-change, fsp-change, note-added ...
   */
  type: string;
  field?: string;
  oldValue?: string | null;
  newValue?: string | null;
  reason?: string;
  at?: string;
  by?: string;
}
