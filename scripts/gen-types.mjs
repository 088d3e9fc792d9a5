// Derives TypeScript types from the JSON Schemas that are their one source of truth: the canonical model, the config
// file, and each adapter's connection settings (adapters/<name>/configuration-schema.json). ajv validates with the
// same schemas at run time. `npm run gen:types` rewrites the generated files; test/core/generated-types.test.ts fails
// when one is stale. (Action and source options are typed from their `as const` schemas with json-schema-to-ts.)
import { compile } from 'json-schema-to-typescript';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const readJson = (file) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));
const options = (source, extra = {}) => ({
  bannerComment: `/* Generated from ${source} by \`npm run gen:types\`. Do not edit. */`,
  additionalProperties: false,
  unknownAny: true,
  style: { singleQuote: true },
  ...extra,
});
// Config and settings: plain arrays for minItems (code builds them one item at a time; ajv checks the count).
const plainArrays = { ignoreMinAndMaxItems: true };

export async function generateCanonicalTypes() {
  return compile(readJson('schemas/canonical-case.schema.json'), 'CanonicalCase', options('schemas/canonical-case.schema.json'));
}

/** The config file's types. The schema's title names the root type; definitions name the rest (Route, Target, Filter…). */
export async function generateConfigTypes() {
  return compile(readJson('schemas/caseway-config.schema.json'), 'CasewayConfig', options('schemas/caseway-config.schema.json', plainArrays));
}

/** `<Name>Settings` for an adapter (icasework -> IcaseworkSettings), whatever title the schema shows to people. */
export async function generateSettingsTypes(adapter) {
  const source = `adapters/${adapter}/configuration-schema.json`;
  const { title, ...schema } = readJson(source);
  const name = `${adapter[0].toUpperCase()}${adapter.slice(1)}Settings`;
  return compile({ ...schema, description: schema.description ?? title }, name, options(source, plainArrays));
}

/** Every generated file: its path and what it must hold. */
export async function generatedFiles() {
  const files = [
    { file: 'src/core/model/canonical.generated.ts', text: await generateCanonicalTypes() },
    { file: 'src/core/config/config.generated.ts', text: await generateConfigTypes() },
  ];
  for (const adapter of readdirSync(path.join(root, 'adapters')).sort()) {
    if (!existsSync(path.join(root, 'adapters', adapter, 'configuration-schema.json'))) continue;
    files.push({ file: `adapters/${adapter}/src/settings.generated.ts`, text: await generateSettingsTypes(adapter) });
  }
  return files;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const { file, text } of await generatedFiles()) {
    writeFileSync(path.join(root, file), text);
    console.log(`wrote ${file}`);
  }
}
