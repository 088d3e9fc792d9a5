/**
 * Settings defaults live in each adapter's configuration-schema.json only; the code reads them with schemaDefaults.
 * These tests hold the reader to its rules and every adapter schema's defaults to their own property schemas.
 */
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { createAjv } from '../../src/core/config/ajv';
import { propertySchema, SchemaDefaultError, schemaDefaults } from '../../src/core/config/schema-defaults';
import { resolveSettings as resolveIcasework } from '../../adapters/icasework/src/settings';
import { resolvePolling, resolveSmtp } from '../../adapters/isupport/src/settings';
import { resolveSettings as resolve121 } from '../../adapters/platform121/src/settings';

interface Example {
  mode?: 'a' | 'b';
  count?: number;
  names?: string[];
  flag?: boolean;
  nested?: { depth?: number };
  bare?: string;
}

const EXAMPLE = {
  type: 'object',
  properties: {
    mode: { enum: ['a', 'b'], default: 'b' },
    count: { type: 'integer', minimum: 0, default: 3 },
    names: { type: 'array', items: { type: 'string' }, default: ['x', 'y'] },
    flag: { type: 'boolean', default: false },
    nested: { type: 'object', properties: { depth: { type: 'integer', default: 7 } } },
    bare: { type: 'string' },
  },
};

describe('schemaDefaults', () => {
  const defaultOf = schemaDefaults<Example>(EXAMPLE, 'example schema');

  it('reads each default from the schema, nested blocks through propertySchema', () => {
    expect([defaultOf('mode'), defaultOf('count'), defaultOf('names'), defaultOf('flag')]).toEqual(['b', 3, ['x', 'y'], false]);
    expect(schemaDefaults<NonNullable<Example['nested']>>(propertySchema(EXAMPLE, 'nested'), 'example nested')('depth')).toBe(7);
  });

  it('hands out a copy of an array or object default, so one caller cannot change it for the others', () => {
    defaultOf('names').push('z');
    expect(defaultOf('names')).toEqual(['x', 'y']);
    expect(EXAMPLE.properties.names.default).toEqual(['x', 'y']);
  });

  it('refuses a property without a default, naming the schema and the property', () => {
    expect(() => defaultOf('bare')).toThrow(SchemaDefaultError);
    expect(() => defaultOf('bare')).toThrow('example schema: the schema\'s default for "bare" is missing');
    expect(() => defaultOf('nested')).toThrow('is missing');
  });

  it('refuses a property the schema does not have', () => {
    const loose = schemaDefaults<{ other?: number }>(EXAMPLE, 'example schema');
    expect(() => loose('other')).toThrow('"other" is missing: the schema has no such property');
  });

  it('refuses a default of another type than its property, or outside its enum', () => {
    const broken = { properties: { count: { type: 'integer', default: '3' }, ratio: { type: 'integer', default: 0.5 }, mode: { enum: ['a', 'b'], default: 'c' } } };
    // Refused when the accessor is made (the adapter's module loading), not at the first use of the default.
    const make = (properties: Record<string, unknown>) => () => schemaDefaults<Record<string, unknown>>({ properties }, 'broken schema');
    expect(make({ count: broken.properties.count })).toThrow('"count" is a string, not of the property\'s type (integer)');
    expect(make({ ratio: broken.properties.ratio })).toThrow('"ratio" is a number, not of the property\'s type (integer)');
    expect(make({ mode: broken.properties.mode })).toThrow('"mode" is not among the property\'s enum');
  });

  it('refuses something that is not an object schema', () => {
    expect(() => schemaDefaults<Example>(undefined, 'no schema')).toThrow('no schema: the schema\'s default for "*" cannot be read');
    expect(() => schemaDefaults<Example>(propertySchema(EXAMPLE, 'bare'), 'a string schema')).toThrow(SchemaDefaultError);
  });
});

/** Every `default` in a schema with the subschema that declares it, through properties, items and additionalProperties. */
function defaultsIn(schema: unknown, at: string, out: Array<{ at: string; schema: Record<string, unknown> }> = []): Array<{ at: string; schema: Record<string, unknown> }> {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return out;
  const node = schema as Record<string, unknown>;
  if ('default' in node) out.push({ at, schema: node });
  const properties = node.properties;
  if (typeof properties === 'object' && properties !== null) for (const [key, sub] of Object.entries(properties)) defaultsIn(sub, `${at}.${key}`, out);
  for (const key of ['items', 'additionalProperties']) defaultsIn(node[key], `${at}[${key}]`, out);
  return out;
}

const ADAPTERS_DIR = path.resolve(__dirname, '../../adapters');
const schemaFiles = readdirSync(ADAPTERS_DIR)
  .map((name) => path.join(ADAPTERS_DIR, name, 'configuration-schema.json'))
  .filter((file) => existsSync(file));

describe('the adapters\' configuration schemas', () => {
  it('are all found', () => {
    expect(schemaFiles.map((f) => path.basename(path.dirname(f))).sort()).toEqual(['etd', 'icasework', 'isupport', 'platform121', 'webhook']);
  });

  it.each(schemaFiles.map((f) => [path.relative(ADAPTERS_DIR, f), f]))('%s: every default is valid against its own property schema', (_name, file) => {
    const schema: unknown = JSON.parse(readFileSync(file, 'utf8'));
    const found = defaultsIn(schema, '');
    expect(found.length).toBeGreaterThan(0);
    const ajv = createAjv();
    const invalid = found.filter(({ schema: node }) => {
      const { default: value, ...rest } = node;
      return !ajv.compile(rest)(value);
    });
    expect(invalid.map((d) => d.at)).toEqual([]);
  });

  it.each(schemaFiles.map((f) => [path.basename(path.dirname(f)), path.dirname(f)]))('%s: every action and source option default is valid against its own property schema', async (_name, dir) => {
    const adapter = ((await import(dir)) as { default: { actions: Record<string, { optionsSchema?: unknown }>; sources?: Record<string, { optionsSchema?: unknown }> } }).default;
    const ajv = createAjv();
    const schemas = [...Object.entries(adapter.actions), ...Object.entries(adapter.sources ?? {})].filter(([, d]) => d.optionsSchema);
    expect(schemas.length).toBeGreaterThan(0);
    const invalid = schemas.flatMap(([name, d]) =>
      defaultsIn(d.optionsSchema, name).filter(({ schema: node }) => {
        const { default: value, ...rest } = node;
        return !ajv.compile(rest)(value);
      }),
    );
    expect(invalid.map((d) => d.at)).toEqual([]);
  });

  it('the same check catches a default its property schema refuses', () => {
    const ajv = createAjv();
    const { default: value, ...rest } = { type: 'integer', minimum: 100, default: 5 };
    expect(ajv.compile(rest)(value)).toBe(false);
  });
});

describe('settings resolved with nothing set are the schema\'s defaults', () => {
  const read = (adapter: string): Record<string, unknown> => JSON.parse(readFileSync(path.join(ADAPTERS_DIR, adapter, 'configuration-schema.json'), 'utf8')) as Record<string, unknown>;
  const defaultsOf = (schema: unknown, keys: string[]) => Object.fromEntries(keys.map((k) => [k, (propertySchema(schema, k) as { default: unknown }).default]));

  it('iCasework', () => {
    const keys = ['urlStyle', 'authMode', 'tokenRefreshSkewSeconds', 'format', 'timeoutMs', 'readRetries', 'retryBaseDelayMs', 'retryableErrorCodes', 'maxResponseBytes'];
    expect(resolveIcasework({ key: 'k', secret: 's', account: 'acme' })).toMatchObject(defaultsOf(read('icasework'), keys));
  });

  it('121-platform', () => {
    const schema = read('platform121');
    const keys = ['attributeMapping', 'batchSize', 'batchWaitMs', 'statusConfirmTimeoutMs', 'statusConfirmIntervalMs', 'timeoutMs', 'maxResponseBytes', 'importTimeoutMs', 'maxRetries', 'retryBaseDelayMs', 'referenceIdPrefix', 'updateReason'];
    const resolved = resolve121({ baseUrl: 'http://127.0.0.1:1', programId: 1, username: 'u', password: 'p' });
    expect(resolved).toMatchObject(defaultsOf(schema, keys));
    expect({ requestsPerMinute: resolved.requestsPerMinute, loginsPerMinute: resolved.loginsPerMinute }).toEqual(defaultsOf(propertySchema(schema, 'throttle'), ['requestsPerMinute', 'loginsPerMinute']));
  });

  it('iSupport mail and polling', () => {
    const schema = read('isupport');
    const smtp = propertySchema(schema, 'smtp');
    const resolved = resolveSmtp({ host: 'mail.example' });
    expect(resolved).toMatchObject(defaultsOf(smtp, ['port', 'secure', 'subject', 'from', 'to', 'supportEmail', 'exportSupportEmail', 'timeZone']));
    // No default of its own: the support address.
    expect(resolved.deadLetterTo).toBe(resolved.supportEmail);
    const polling = propertySchema(schema, 'polling');
    expect(resolvePolling(undefined)).toEqual(defaultsOf(polling, ['stableWaitMs', 'maxFoldersPerPoll', 'emitBatchSize', 'emitBatchRows', 'maxBufferedRows', 'incompleteTimeoutMs', 'folderLockMs', 'tempSuffixes']));
  });

  it('a value that is set wins over the default', () => {
    expect(resolveIcasework({ key: 'k', secret: 's', account: 'acme', timeoutMs: 999 }).timeoutMs).toBe(999);
    expect(resolvePolling({ folderLockMs: 5000 }).folderLockMs).toBe(5000);
  });
});
