/**
 * The sandbox peer's validation of `{"etdApp": {...}}`, driven by the spec's tables (spec-tables.ts) and answering in
 * the spec's error block: `[{"<dotted path>": "<message>"}]`, messages `Required`, `Maximum length exceeded (N)`,
 * `Invalid format`; one error per field (checked in that order), fields in the order of the spec's tables.
 *
 * Readings of the spec (not of the adapter):
 * - `""` is "not given": the example request sends `""` for optional dates, which would otherwise be invalid dates.
 *   A required field that is `""` is therefore `Required`. An empty list is given (`transitCountries: []` is a direct
 *   journey). `null` is not a string: `Invalid format`.
 * - Enumerations (title, reason, transport modes, y/n) match regardless of case: the example sends "stolen", "car".
 * - Dates: 'yyyy-mm-dd' and a real calendar day (ajv's `date` format). Number (`years`): a JSON number >= 0 or a
 *   string of digits.
 * - What the spec leaves TBD is lenient by default and tightened by the options: any title beyond Mr/Mrs only when
 *   `titles`/`extraTitles` are given; the spec names "Postcode Regex", "Email Regex", "Passport Regex" but never
 *   defines them, so postcode, email, phone and passport number are checked only against configured `patterns`;
 *   `maxLengths` by dotted path without indexes; properties the spec does not define are ignored unless `unknownFields: 'reject'`.
 */
import type { ValidateFunction } from 'ajv';
import { compileOnce, createAjv, isRecord } from 'caseway/core';
import { ETD_APP, REASONS, SPEC_TITLES, TRANSPORT_MODES, type Field, type Lookup } from './spec-tables';

/** The TBD tunables (the connection's `inbound.validation` block has this shape). */
export interface SandboxValidation {
  titles?: string[];
  extraTitles?: string[];
  caseInsensitiveEnums?: boolean;
  unknownFields?: 'reject' | 'keep';
  patterns?: { postcode?: string; email?: string; phone?: string; passportNumber?: string };
  maxLengths?: Record<string, number>;
}

export type FieldError = Record<string, string>;

const REQUIRED = 'Required';
const INVALID = 'Invalid format';
const tooLong = (n: number): string => `Maximum length exceeded (${n})`;

const ajv = createAjv();
const isDate: ValidateFunction = compileOnce(ajv, { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$', format: 'date' });

const given = (v: unknown): boolean => v !== undefined && v !== '';

export function createSandboxValidator(options: SandboxValidation = {}): (body: unknown) => FieldError[] {
  const fold = options.caseInsensitiveEnums === false ? (s: string) => s : (s: string) => s.toLowerCase();
  const oneOf = (values: string[]) => {
    const set = new Set(values.map(fold));
    return (v: string) => set.has(fold(v));
  };
  const titled = options.titles || options.extraTitles ? oneOf([...SPEC_TITLES, ...(options.titles ?? []), ...(options.extraTitles ?? [])]) : () => true;
  const reason = oneOf(REASONS);
  const mode = oneOf(TRANSPORT_MODES);
  const yn = oneOf(['y', 'n']);
  const pattern = (source: string | undefined) => (source ? ((re: RegExp) => (v: string) => re.test(v))(new RegExp(source)) : () => true);
  const postcode = pattern(options.patterns?.postcode);
  const email = pattern(options.patterns?.email);
  const phone = pattern(options.patterns?.phone);
  const passport = pattern(options.patterns?.passportNumber);

  /** One field's message, or undefined when it is fine. `value` is given (not undefined, not ""). */
  function check(field: Field, value: unknown, schemaPath: string): string | undefined {
    const max = options.maxLengths?.[schemaPath] ?? field.max;
    if (field.kind === 'strings' || field.kind === 'modes') {
      if (!Array.isArray(value)) return INVALID;
      if (max !== undefined && value.length > max) return tooLong(max);
      const ok = field.kind === 'modes' ? (v: string) => mode(v) : () => true;
      return value.every((v) => typeof v === 'string' && ok(v)) ? undefined : INVALID;
    }
    if (field.kind === 'number') {
      if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? undefined : INVALID;
      if (typeof value !== 'string') return INVALID;
      if (max !== undefined && value.length > max) return tooLong(max);
      return /^\d+$/.test(value) ? undefined : INVALID;
    }
    if (typeof value !== 'string') return INVALID;
    if (max !== undefined && value.length > max) return tooLong(max);
    const formats: Partial<Record<Field['kind'], (v: string) => boolean>> = {
      date: (v) => isDate(v) === true,
      yn,
      title: titled,
      reason,
      email,
      postcode,
      passport,
      phone,
    };
    return (formats[field.kind] ?? (() => true))(value) ? undefined : INVALID;
  }

  return (body) => {
    if (!isRecord(body) || !isRecord(body.etdApp)) return [{ etdApp: isRecord(body) && given(body.etdApp) ? INVALID : REQUIRED }];
    const app = body.etdApp;
    const at: Lookup = (path) => {
      let node: unknown = app;
      for (const key of path.split('.')) node = isRecord(node) ? node[key] : undefined;
      return typeof node === 'string' ? node.toLowerCase() : node; // conditions compare meanings: 'Y' is not valid anyway when case matters
    };
    const errors: FieldError[] = [];
    const walk = (fields: Field[], holder: Record<string, unknown>, path: string, schemaPath: string): void => {
      for (const field of fields) {
        const name = field.alias !== undefined && !given(holder[field.name]) && given(holder[field.alias]) ? field.alias : field.name;
        const here = path ? `${path}.${name}` : name;
        const schemaHere = schemaPath ? `${schemaPath}.${field.name}` : field.name;
        const value = holder[name];
        const required = typeof field.required === 'function' ? field.required(at) : field.required === true;
        if (!given(value)) {
          if (required) errors.push({ [here]: REQUIRED });
          continue;
        }
        if (field.kind === 'block') {
          if (!isRecord(value)) errors.push({ [here]: INVALID });
          else if (!field.open) walk(field.fields ?? [], value, here, schemaHere);
          continue;
        }
        if (field.kind === 'blocks') {
          if (!Array.isArray(value)) errors.push({ [here]: INVALID });
          else value.forEach((item, i) => (isRecord(item) ? walk(field.fields ?? [], item, `${here}.${i}`, schemaHere) : errors.push({ [`${here}.${i}`]: INVALID })));
          continue;
        }
        const message = check(field, value, schemaHere);
        if (message) errors.push({ [here]: message });
      }
      if (options.unknownFields === 'reject') {
        const known = new Set(fields.flatMap((f) => (f.alias ? [f.name, f.alias] : [f.name])));
        for (const key of Object.keys(holder)) if (!known.has(key)) errors.push({ [path ? `${path}.${key}` : key]: INVALID });
      }
    };
    walk(ETD_APP, app, '', '');
    return errors;
  };
}
