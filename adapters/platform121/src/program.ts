/**
 * The program's configuration (GET /api/programs/{programId}?formatProgramReturnDto=true): its registration
 * attributes with their types, languages and FSP configurations. The codec uses it to send values in the form 121
 * validates (tel digits only, date DD-MM-YYYY, numbers, booleans, text as strings).
 */
import type { Platform121Client } from './client';
import { isRecord } from 'caseway/core';

export interface ProgramAttribute {
  name: string;
  type: string;
  options: string[];
  isRequired: boolean;
}

export interface ProgramConfig {
  attributes: Map<string, ProgramAttribute>;
  languages: string[];
  fspConfigurationNames: string[];
  currency?: string;
  paymentAmountMultiplierFormula?: string | null;
  /** maxPayments is used (and kept in round trips) only when the program enables it. */
  enableMaxPayments?: boolean;
  /** scope is used only when the program enables it. */
  enableScope?: boolean;
}


/** Reads the program reply tolerantly: unknown shapes give an empty config (no coercion), never a crash. */
export function parseProgram(body: Record<string, unknown>): ProgramConfig {
  const attributes = new Map<string, ProgramAttribute>();
  const rawAttributes = body.programRegistrationAttributes ?? body.programCustomAttributes ?? [];
  if (Array.isArray(rawAttributes)) {
    for (const a of rawAttributes) {
      if (!isRecord(a) || typeof a.name !== 'string') continue;
      const options = Array.isArray(a.options)
        ? a.options.map((o) => (isRecord(o) ? String(o.option ?? '') : String(o))).filter(Boolean)
        : [];
      attributes.set(a.name, { name: a.name, type: String(a.type ?? 'text'), options, isRequired: a.isRequired === true });
    }
  }
  const languages = Array.isArray(body.languages) ? body.languages.map(String) : [];
  const fspSource = body.programFspConfigurations ?? body.fspConfigurations ?? body.programFinancialServiceProviderConfigurations ?? [];
  const fspConfigurationNames = Array.isArray(fspSource)
    ? fspSource.map((c) => (isRecord(c) ? String(c.name ?? c.financialServiceProvider ?? '') : String(c))).filter(Boolean)
    : [];
  return {
    attributes,
    languages,
    fspConfigurationNames,
    currency: typeof body.currency === 'string' ? body.currency : undefined,
    paymentAmountMultiplierFormula: typeof body.paymentAmountMultiplierFormula === 'string' ? body.paymentAmountMultiplierFormula : null,
    enableMaxPayments: body.enableMaxPayments === true,
    enableScope: body.enableScope === true,
  };
}

/** Caches the program config per connection for `ttlMs`; concurrent callers share one fetch. */
export class ProgramCache {
  private value: { config: ProgramConfig; at: number } | null = null;
  private inFlight: Promise<ProgramConfig> | null = null;

  constructor(
    private readonly client: Platform121Client,
    private readonly ttlMs = 5 * 60_000,
  ) {}

  async get(): Promise<ProgramConfig> {
    if (this.value && Date.now() - this.value.at < this.ttlMs) return this.value.config;
    if (!this.inFlight) {
      this.inFlight = this.client
        .getProgram()
        .then((body) => {
          const config = parseProgram(body);
          this.value = { config, at: Date.now() };
          return config;
        })
        .finally(() => {
          this.inFlight = null;
        });
    }
    return this.inFlight;
  }
}

const TRUE_WORDS = new Set(['true', 'yes', '1', 'y', 'ja', 'oui', 'si']);
const FALSE_WORDS = new Set(['false', 'no', '0', 'n', 'nee', 'non']);

/** Digits only, no "+" (how 121 stores tel values); an international "(0)" trunk prefix is dropped. */
export function digitsOnly(value: unknown): string {
  return String(value ?? '')
    .replace(/^(\s*\+?\s*\d{1,3}\s*)\(0\)/, '$1')
    .replace(/\D/g, '');
}

/** yyyy-mm-dd (or an ISO date-time) to DD-MM-YYYY; other forms are returned unchanged for 121 to judge. */
export function toDdMmYyyy(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})/.exec(value);
  return m ? `${m[3]}-${m[2]}-${m[1]}` : value;
}

/** DD-MM-YYYY to yyyy-mm-dd; other forms unchanged. */
export function fromDdMmYyyy(value: string): string {
  const m = /^(\d{2})-(\d{2})-(\d{4})$/.exec(value);
  return m ? `${m[3]}-${m[2]}-${m[1]}` : value;
}

/** Converts a canonical value into what 121 accepts for an attribute of the given type. */
export function coerceForType(type: string | undefined, value: unknown): unknown {
  if (value === null || value === undefined) return value;
  switch (type) {
    case 'tel':
      return digitsOnly(value);
    case 'numeric': {
      if (typeof value === 'number') return value;
      const n = Number(String(value).trim());
      return String(value).trim() !== '' && !Number.isNaN(n) ? n : value;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      const w = String(value).trim().toLowerCase();
      if (TRUE_WORDS.has(w)) return true;
      if (FALSE_WORDS.has(w)) return false;
      return value;
    }
    case 'date':
      return toDdMmYyyy(String(value));
    case 'dropdown':
      return String(value);
    case 'text':
    default:
      return typeof value === 'object' ? JSON.stringify(value) : String(value);
  }
}
