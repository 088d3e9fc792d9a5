/**
 * Validates an ETD application body ({"etdApp": {...}}) against schemas/etd-application.schema.json and turns
 * ajv's findings into the spec's error list: one single-key object per field, keyed by the dotted path inside
 * etdApp, with one of the spec's three messages. Used by the inbound endpoint and by the sandbox peer alike.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import schemaFile from '../../../schemas/etd-application.schema.json';
import { canonicalJson, deepClone, defineKey, isPlainObject, type JsonObject, type JsonValue } from './json';
import { DEFAULT_CASE_INSENSITIVE_ENUMS, type ValidationPatterns, type ValidationSettings } from './settings';

/** The spec's messages, verbatim. */
export const MESSAGES = {
  required: 'Required',
  invalidFormat: 'Invalid format',
  maxLength: (max: number): string => `Maximum length exceeded (${max})`,
} as const;

/** One entry of the 422 "errors" array: {"appDetails.birthDate": "Invalid format"}. */
export type FieldError = Record<string, string>;

export const BASE_SCHEMA = schemaFile as unknown as JsonObject;

/** Defaults for the spec's named-but-undefined regexes (see README). Every one accepts "" (= not given). */
export const DEFAULT_PATTERNS: Required<ValidationPatterns> = {
  // Any country's postcode: letters/digits, inner spaces or hyphens; the 9-character limit is the spec's maxLength.
  postcode: '^[A-Za-z0-9](?:[A-Za-z0-9 -]*[A-Za-z0-9])?$',
  email: '^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$',
  // At least five digits; digits, spaces, brackets, hyphens and a leading + only.
  phone: '^(?=(?:\\D*\\d){5})\\+?[0-9 ()-]+$',
  // ICAO 9303 document numbers are alphanumeric; allow 5 to 20 characters for non-UK passports.
  passportNumber: '^[A-Za-z0-9]{5,20}$',
};

/** Where titles are validated (each gets the configured title list). */
export const TITLE_PATHS: readonly string[][] = [
  ['appDetails', 'title'],
  ['representative', 'title'],
  ['passportDetails', 'passportApplicant', 'title'],
];

/** The 2016 revision's block whose field names the spec leaves undefined in our copy. */
export const REPRESENTATIVE_PATH: readonly string[] = ['representative'];

function appSchema(schema: JsonObject): JsonObject {
  const props = schema.properties as JsonObject;
  return props.etdApp as JsonObject;
}

/** The schema node of a field, following properties (and items for arrays); undefined when the path is unknown. */
export function schemaNodeAt(root: JsonObject, path: readonly string[]): JsonObject | undefined {
  let node: JsonObject | undefined = root;
  for (const segment of path) {
    if (!node) return undefined;
    if (node.type === 'array' && isPlainObject(node.items)) node = node.items;
    const props: JsonValue | undefined = node.properties;
    // Own properties only: a name such as "__proto__" or "toString" (from settings) is not a field.
    const next: JsonValue | undefined = isPlainObject(props) && Object.hasOwn(props, segment) ? props[segment] : undefined;
    node = isPlainObject(next) ? next : undefined;
  }
  return node;
}

export const DEFAULT_TITLES: readonly string[] = (schemaNodeAt(appSchema(BASE_SCHEMA), TITLE_PATHS[0])?.enum as string[]).filter((t) => t !== '');

/** yyyy-mm-dd naming a day that exists (leap years included). */
export function isRealDate(value: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(value);
  if (!m) return false;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(2000, month, 0)).getUTCDate(); // 2000 is a leap year: Feb has 29
  if (month === 2) {
    const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
    return day <= (leap ? 29 : 28);
  }
  return day <= daysInMonth;
}

function stripAdditionalProperties(node: JsonValue): void {
  if (Array.isArray(node)) node.forEach(stripAdditionalProperties);
  else if (isPlainObject(node)) {
    if (node.additionalProperties === false) delete node.additionalProperties;
    Object.values(node).forEach(stripAdditionalProperties);
  }
}

/** The base schema with the connection's tunables applied. Throws (naming the setting) on an unusable setting. */
export function effectiveSchema(settings: ValidationSettings = {}): JsonObject {
  const schema = deepClone(BASE_SCHEMA);
  const app = appSchema(schema);
  const titles = [...new Set([...(settings.titles ?? DEFAULT_TITLES), ...(settings.extraTitles ?? [])])].filter((t) => t !== '');
  for (const path of TITLE_PATHS) {
    const node = schemaNodeAt(app, path);
    if (node) node.enum = ['', ...titles];
  }
  for (const [dotted, max] of Object.entries(settings.maxLengths ?? {})) {
    const node = schemaNodeAt(app, dotted.split('.'));
    if (!node || dotted === '') throw new Error(`etd validation.maxLengths: unknown field "${dotted}"`);
    if (!Number.isInteger(max) || max < 1) throw new Error(`etd validation.maxLengths: "${dotted}" must be a positive integer`);
    if (node.type === 'array') node.maxItems = max;
    else if (node.type === 'string') node.maxLength = max;
    else throw new Error(`etd validation.maxLengths: "${dotted}" is not a text field or a list`);
  }
  // The representative block's field names are TBD (our guesses): none is required unless configured.
  const representative = schemaNodeAt(app, REPRESENTATIVE_PATH) as JsonObject;
  for (const name of settings.representativeRequired ?? []) {
    const node = schemaNodeAt(representative, [name]);
    if (!node) throw new Error(`etd validation.representativeRequired: unknown field "${name}"`);
    node.minLength = 1; // "" counts as not given, so it is Required too
    representative.required = [...(Array.isArray(representative.required) ? representative.required : []), name];
  }
  if (settings.unknownFields === 'keep') stripAdditionalProperties(schema);
  return schema;
}

function compilePattern(name: keyof ValidationPatterns, source: string): RegExp {
  try {
    return new RegExp(source, 'u');
  } catch {
    throw new Error(`etd validation.patterns.${name} is not a valid regular expression`);
  }
}

/** Copies the data with enumeration values spelled as the schema spells them (for case-insensitive matching). */
function normaliseEnums(node: JsonObject | undefined, data: JsonValue): JsonValue {
  if (!node) return data;
  if (typeof data === 'string' && Array.isArray(node.enum)) {
    const lower = data.toLowerCase();
    const match = node.enum.find((v): v is string => typeof v === 'string' && v.toLowerCase() === lower);
    return match ?? data;
  }
  if (Array.isArray(data) && isPlainObject(node.items)) {
    const items = node.items;
    return data.map((item) => normaliseEnums(items, item));
  }
  if (isPlainObject(data) && isPlainObject(node.properties)) {
    const props = node.properties;
    const out: JsonObject = {};
    for (const [key, value] of Object.entries(data)) {
      const child = props[key];
      defineKey(out, key, normaliseEnums(isPlainObject(child) && Object.hasOwn(props, key) ? child : undefined, value));
    }
    return out;
  }
  return data;
}

function unescapePointer(segment: string): string {
  return segment.replace(/~1/g, '/').replace(/~0/g, '~');
}

const PRIORITY: Record<string, number> = { [MESSAGES.required]: 0 };
function priority(message: string): number {
  if (message in PRIORITY) return PRIORITY[message];
  return message === MESSAGES.invalidFormat ? 2 : 1;
}

/** Position of a field in the spec's tables (schema order), for a stable, readable error order. */
function orderKey(app: JsonObject, segments: string[]): number[] {
  const key: number[] = [];
  let node: JsonObject | undefined = app;
  for (const segment of segments) {
    if (node && node.type === 'array') {
      key.push(/^\d+$/.test(segment) ? Number(segment) : Number.MAX_SAFE_INTEGER);
      node = isPlainObject(node.items) ? node.items : undefined;
      continue;
    }
    const props: string[] = node && isPlainObject(node.properties) ? Object.keys(node.properties) : [];
    const index = props.indexOf(segment);
    key.push(index >= 0 ? index : props.length);
    const next: JsonValue | undefined = index >= 0 && node && isPlainObject(node.properties) ? node.properties[segment] : undefined;
    node = isPlainObject(next) ? next : undefined;
  }
  return key;
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Turns ajv errors into the spec's list: one message per field (Required > Maximum length > Invalid format). */
export function toFieldErrors(errors: ErrorObject[], app: JsonObject): FieldError[] {
  const byPath = new Map<string, { segments: string[]; message: string }>();
  for (const e of errors) {
    let pointer = e.instancePath;
    let message: string;
    switch (e.keyword) {
      case 'if':
      case 'anyOf':
      case 'allOf':
      case 'oneOf':
        continue; // wrappers: the precise errors come on their own
      case 'required':
        pointer += `/${(e.params as { missingProperty: string }).missingProperty.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        message = MESSAGES.required;
        break;
      case 'additionalProperties':
        pointer += `/${(e.params as { additionalProperty: string }).additionalProperty.replace(/~/g, '~0').replace(/\//g, '~1')}`;
        message = MESSAGES.invalidFormat;
        break;
      case 'minLength':
      case 'minItems':
        message = MESSAGES.required;
        break;
      case 'maxLength':
      case 'maxItems':
        message = MESSAGES.maxLength((e.params as { limit: number }).limit);
        break;
      default:
        message = MESSAGES.invalidFormat;
    }
    let segments = pointer.split('/').slice(1).map(unescapePointer);
    if (segments[0] === 'etdApp' && segments.length > 1) segments = segments.slice(1);
    const path = segments.join('.');
    const known = byPath.get(path);
    if (!known || priority(message) < priority(known.message)) byPath.set(path, { segments, message });
  }
  return [...byPath.entries()]
    .map(([path, v]) => ({ path, message: v.message, key: orderKey(app, v.segments) }))
    .sort((a, b) => compareKeys(a.key, b.key) || a.path.localeCompare(b.path))
    .map((e) => ({ [e.path]: e.message }));
}

export interface EtdValidator {
  /** Every problem with a request body at once, in the spec's shape; [] when the body is a valid application. */
  validate(body: unknown): FieldError[];
  /** The effective schema (base schema plus the connection's tunables). */
  readonly schema: JsonObject;
}

function buildValidator(settings: ValidationSettings): EtdValidator {
  const schema = effectiveSchema(settings);
  const patterns = { ...DEFAULT_PATTERNS, ...settings.patterns };
  const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
  ajv.addFormat('etd-date', { type: 'string', validate: (v: string) => v === '' || isRealDate(v) });
  const formats: Array<[string, keyof ValidationPatterns]> = [
    ['etd-postcode', 'postcode'],
    ['etd-email', 'email'],
    ['etd-phone', 'phone'],
    ['etd-passport-number', 'passportNumber'],
  ];
  for (const [format, name] of formats) {
    const re = compilePattern(name, patterns[name]);
    ajv.addFormat(format, { type: 'string', validate: (v: string) => v === '' || re.test(v) });
  }
  const fn: ValidateFunction = ajv.compile(schema);
  const caseInsensitive = settings.caseInsensitiveEnums ?? DEFAULT_CASE_INSENSITIVE_ENUMS;
  const app = appSchema(schema);
  return {
    schema,
    validate(body: unknown): FieldError[] {
      if (!isPlainObject(body)) return [{ etdApp: MESSAGES.required }];
      const data = caseInsensitive ? normaliseEnums(schema, body) : body;
      if (fn(data)) return [];
      return toFieldErrors(fn.errors ?? [], app);
    },
  };
}

const cache = new Map<string, EtdValidator>();

/** A validator for these tunables (compiled once per distinct setting). */
export function createValidator(settings: ValidationSettings = {}): EtdValidator {
  const key = canonicalJson(settings);
  let validator = cache.get(key);
  if (!validator) {
    validator = buildValidator(settings);
    cache.set(key, validator);
  }
  return validator;
}

/** The spelling of an enumeration value the schema uses (e.g. "stolen" -> "Stolen"); the value itself when none matches. */
export function canonicalEnumValue(path: readonly string[], value: string): string {
  const node = schemaNodeAt(appSchema(BASE_SCHEMA), path);
  const values = Array.isArray(node?.enum) ? node.enum : [];
  const match = values.find((v): v is string => typeof v === 'string' && v !== '' && v.toLowerCase() === value.toLowerCase());
  return match ?? value;
}
