/**
 * A settings schema's defaults, read from the schema itself. An adapter's configuration-schema.json is what operators
 * read (and what the console and OpenAPI show); the code resolving a connection's settings takes each default from it
 * instead of restating the value, so the two cannot drift apart.
 */

/** A JSON value's type as JSON Schema names it ("integer" for whole numbers, which are numbers too). */
function jsonTypesOf(value: unknown): string[] {
  if (value === null) return ['null'];
  if (Array.isArray(value)) return ['array'];
  if (typeof value === 'number') return Number.isInteger(value) ? ['integer', 'number'] : ['number'];
  return [typeof value];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A schema without the property, or whose property has no usable default. Raised when the code is loaded. */
export class SchemaDefaultError extends Error {
  constructor(where: string, key: string, reason: string) {
    super(`${where}: the schema's default for "${key}" ${reason}`);
    this.name = 'SchemaDefaultError';
  }
}

/**
 * Returns `defaultOf(key)`: the `default` the object schema gives its property `key`, typed as the settings type
 * generated from the same schema says. Throws SchemaDefaultError at once (when the adapter's module loads) for a
 * declared default that is not of its property's `type` or not among its `enum`, and from `defaultOf` for a property
 * the schema does not have or gives no default. A default that breaks the rest of its property schema (a minimum,
 * say) is caught by test/core/schema-defaults.test.ts, which validates every adapter's defaults with ajv.
 * `where` names the schema in the error, e.g. "<adapter> configuration-schema.json".
 */
export function schemaDefaults<S extends object>(schema: unknown, where: string): <K extends keyof S & string>(key: K) => NonNullable<S[K]> {
  const properties = isRecord(schema) && isRecord(schema.properties) ? schema.properties : undefined;
  if (!properties) throw new SchemaDefaultError(where, '*', 'cannot be read: not an object schema with properties');
  const checked = new Map<string, unknown>();
  const read = (key: string): unknown => {
    if (checked.has(key)) return checked.get(key);
    const property = properties[key];
    if (!isRecord(property)) throw new SchemaDefaultError(where, key, 'is missing: the schema has no such property');
    if (!('default' in property) || property.default === undefined || property.default === null) throw new SchemaDefaultError(where, key, 'is missing');
    const value = property.default;
    const declared = property.type === undefined ? [] : Array.isArray(property.type) ? property.type : [property.type];
    if (declared.length && !jsonTypesOf(value).some((t) => declared.includes(t))) {
      throw new SchemaDefaultError(where, key, `is a ${jsonTypesOf(value)[0]}, not of the property's type (${declared.join(', ')})`);
    }
    if (Array.isArray(property.enum) && !property.enum.includes(value)) throw new SchemaDefaultError(where, key, 'is not among the property\'s enum');
    checked.set(key, value);
    return value;
  };
  // Every default the schema declares is checked now, when the adapter's module loads, not at its first use.
  for (const [key, property] of Object.entries(properties)) if (isRecord(property) && property.default !== undefined) read(key);
  return <K extends keyof S & string>(key: K): NonNullable<S[K]> => {
    const value = read(key);
    // The generated settings type is the schema's own; the checks above tie this value to it. An array or object is
    // copied: a caller changing its settings must not change the schema's default for every other connection.
    return (typeof value === 'object' ? structuredClone(value) : value) as NonNullable<S[K]>;
  };
}

/** The object schema of property `key` of an object schema (for nested settings blocks such as `polling`). */
export function propertySchema(schema: unknown, key: string): unknown {
  return isRecord(schema) && isRecord(schema.properties) ? schema.properties[key] : undefined;
}
