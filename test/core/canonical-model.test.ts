import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createAjv } from '../../src/core/config/ajv';
import schema from '../../schemas/canonical-case.schema.json';

const root = path.resolve(__dirname, '../..');

describe('canonical model', () => {
  it('the TypeScript types are generated from the current JSON Schema (run `npm run gen:types` if this fails)', () => {
    const script = `import('${path.join(root, 'scripts/gen-types.mjs')}').then(async (m) => process.stdout.write(await m.generateCanonicalTypes()))`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    expect(out.stdout).toBe(readFileSync(path.join(root, 'src/core/model/canonical.generated.ts'), 'utf8'));
  });

  it('accepts a full case and rejects unknown top-level fields', () => {
    const validate = createAjv().compile(schema);
    const full = {
      hubId: 'h', type: 'maintenance', status: 'open', source: { system: 'isupport', id: 'US-UK(NI)-2015-100_0453-US' },
      references: [{ system: 'icasework', id: '492233', kind: 'caseid' }],
      parties: [{ roles: ['creditor'], person: { forenames: 'A', surname: 'B', birthDate: '1990-01-01', identityDocuments: [{ type: 'passport', number: 'X1' }] }, addresses: [{ lines: ['1 Road'], country: 'GB' }], contacts: [{ kind: 'email', value: 'a@example.org' }] }],
      notes: [{ text: 'n' }], documents: [{ name: 'd.pdf', mimeType: 'application/pdf', url: 'https://x' }], payments: [{ amount: 10, currency: 'EUR' }],
      extensions: { isupport: { anything: 1 } },
    };
    expect(validate(full)).toBe(true);
    expect(validate({ ...full, surname: 'x' })).toBe(false);
  });
});
