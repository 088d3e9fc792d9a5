// Derives the TypeScript types of the canonical model from its JSON Schema (the one source of truth).
// `npm run gen:types` rewrites the file; test/core/canonical-types.test.ts fails when it is stale.
import { compile } from 'json-schema-to-typescript';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export async function generateCanonicalTypes() {
  const schema = JSON.parse(readFileSync(path.join(root, 'schemas/canonical-case.schema.json'), 'utf8'));
  return compile(schema, 'CanonicalCase', {
    bannerComment: '/* Generated from schemas/canonical-case.schema.json by `npm run gen:types`. Do not edit. */',
    additionalProperties: false,
    unknownAny: true,
    style: { singleQuote: true },
  });
}
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = path.join(root, 'src/core/model/canonical.generated.ts');
  writeFileSync(out, await generateCanonicalTypes());
  console.log(`wrote ${path.relative(root, out)}`);
}
