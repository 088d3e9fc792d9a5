/**
 * Seeded programs and registrations of the sandbox, after 121's own seeds: program 2 is the "Westeros" test program
 * (seed test-multiple, program-test.json; attributes fullName, phoneNumber, house dropdown ...), program 3 is an
 * NLRC-OCW-like visa program (seed nlrc-multiple). Fictional people only.
 */

export interface SandboxAttribute {
  name: string;
  type: 'text' | 'tel' | 'numeric' | 'boolean' | 'dropdown' | 'date';
  options?: string[];
  isRequired?: boolean;
  label?: string;
  /** Further fields of the attribute entity (placeholder, scoring, pattern, showInPeopleAffectedTable ...). */
  extra?: Record<string, unknown>;
}

export interface SandboxFspConfig {
  name: string;
  fspName: string;
  label: Record<string, string>;
  /** Attributes the FSP needs on every registration. */
  requiredAttributes?: string[];
  /** Configuration properties ([{name, value, updated}]; e.g. Excel's columnToMatch). */
  properties?: Array<{ name: string; value: string | number | boolean | string[]; updated: string }>;
}

export interface SandboxProgram {
  id: number;
  titlePortal: Record<string, string>;
  currency: string;
  languages: string[];
  paymentAmountMultiplierFormula: string | null;
  enableMaxPayments: boolean;
  enableScope: boolean;
  allowEmptyPhoneNumber: boolean;
  fullnameNamingConvention: string[];
  attributes: SandboxAttribute[];
  fspConfigs: SandboxFspConfig[];
  targetNrRegistrations?: number | null;
  budget?: number | null;
  /** Other fields of a program created over POST /api/programs (description, location, ngo ...). */
  extra?: Record<string, unknown>;
}

const SEEDED = '2026-01-01T00:00:00.000Z';

export function westerosProgram(id = 2): SandboxProgram {
  return {
    id,
    targetNrRegistrations: 250,
    budget: 10000,
    titlePortal: { en: 'Cash program Westeros' },
    currency: 'MWK',
    languages: ['ar', 'en', 'es', 'fr', 'nl'],
    paymentAmountMultiplierFormula: '1 + 1 * dragon',
    enableMaxPayments: false,
    enableScope: false,
    allowEmptyPhoneNumber: false,
    fullnameNamingConvention: ['fullName'],
    attributes: [
      { name: 'fullName', type: 'text', label: 'Full name' },
      { name: 'dob', type: 'date', label: 'Birth date' },
      { name: 'house', type: 'dropdown', options: ['lannister', 'stark', 'greyjoy'], isRequired: true, label: 'House' },
      { name: 'dragon', type: 'numeric', label: 'Dragon count' },
      { name: 'knowsNothing', type: 'boolean', label: 'Knows nothing' },
      { name: 'motto', type: 'text', label: 'Motto' },
      { name: 'whatsappPhoneNumber', type: 'tel', label: 'WhatsApp Nr.' },
      { name: 'phoneNumber', type: 'tel', label: 'Phone Nr.' },
      { name: 'healthArea', type: 'text', label: 'Health area' },
    ],
    fspConfigs: [
      { name: 'ironBank', fspName: 'Excel', label: { en: 'Iron Bank' }, properties: [{ name: 'columnToMatch', value: 'phoneNumber', updated: SEEDED }] },
      { name: 'gringotts', fspName: 'Excel', label: { en: 'Gringotts' }, properties: [{ name: 'columnToMatch', value: 'phoneNumber', updated: SEEDED }] },
      {
        name: 'Intersolve-voucher-paper',
        fspName: 'Intersolve-voucher-paper',
        label: { en: 'Albert Heijn voucher paper' },
        properties: [
          { name: 'username', value: 'intersolve-user', updated: SEEDED },
          { name: 'password', value: 'intersolve-secret', updated: SEEDED },
        ],
      },
      {
        name: 'Intersolve-voucher-whatsapp',
        fspName: 'Intersolve-voucher-whatsapp',
        label: { en: 'Albert Heijn voucher WhatsApp' },
        requiredAttributes: ['whatsappPhoneNumber'],
      },
    ],
  };
}

export function ocwProgram(id = 3): SandboxProgram {
  return {
    id,
    titlePortal: { en: 'NLRC OCW program' },
    currency: 'EUR',
    languages: ['en', 'nl'],
    paymentAmountMultiplierFormula: null,
    enableMaxPayments: true,
    enableScope: false,
    allowEmptyPhoneNumber: false,
    fullnameNamingConvention: ['fullName'],
    attributes: [
      { name: 'fullName', type: 'text' },
      { name: 'phoneNumber', type: 'tel' },
      { name: 'whatsappPhoneNumber', type: 'tel' },
      { name: 'addressStreet', type: 'text' },
      { name: 'addressHouseNumber', type: 'numeric' },
      { name: 'addressHouseNumberAddition', type: 'text' },
      { name: 'addressPostalCode', type: 'text' },
      { name: 'addressCity', type: 'text' },
    ],
    fspConfigs: [
      { name: 'Intersolve-visa', fspName: 'Intersolve-visa', label: { en: 'Visa debit card' } },
      {
        name: 'Intersolve-voucher-whatsapp',
        fspName: 'Intersolve-voucher-whatsapp',
        label: { en: 'Albert Heijn voucher WhatsApp' },
        requiredAttributes: ['whatsappPhoneNumber'],
      },
    ],
  };
}

/** Registrations seeded into program 2 (like services/121-service/test/registrations/pagination/pagination-data.ts). */
export const WESTEROS_SEED_ROWS: Array<Record<string, unknown>> = [
  {
    referenceId: 'westeros123456789',
    preferredLanguage: 'en',
    fullName: 'John Snow',
    dob: '31-08-1990',
    house: 'stark',
    dragon: 1,
    knowsNothing: true,
    phoneNumber: '14155235554',
    programFspConfigurationName: 'ironBank',
    whatsappPhoneNumber: '14155235554',
    motto: 'Winter is coming',
  },
  {
    referenceId: 'westeros987654321',
    preferredLanguage: 'nl',
    fullName: 'Arya Stark',
    dob: '31-08-1999',
    house: 'stark',
    dragon: 0,
    knowsNothing: false,
    phoneNumber: '14155235555',
    programFspConfigurationName: 'gringotts',
    motto: 'A girl is no one',
  },
  {
    referenceId: 'westeros135792468',
    preferredLanguage: 'en',
    fullName: 'Tyrion Lannister',
    dob: '15-01-1985',
    house: 'lannister',
    dragon: 0,
    knowsNothing: false,
    phoneNumber: '14155235556',
    programFspConfigurationName: 'ironBank',
    motto: 'A Lannister always pays his debts',
  },
];
