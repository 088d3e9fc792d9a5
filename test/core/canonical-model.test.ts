import { readFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createAjv } from '../../src/core/config/ajv';
import schema from '../../schemas/canonical-case.schema.json';

const root = path.resolve(__dirname, '../..');

describe('canonical model', () => {
  it('the TypeScript types are generated from the current JSON Schemas: canonical, config, every adapter\'s settings (run `npm run gen:types` if this fails)', () => {
    const script = `import('${path.join(root, 'scripts/gen-types.mjs')}').then(async (m) => process.stdout.write(JSON.stringify(await m.generatedFiles())))`;
    const out = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(out.stderr).toBe('');
    const files = JSON.parse(out.stdout) as Array<{ file: string; text: string }>;
    expect(files.map((f) => f.file)).toEqual(expect.arrayContaining(['src/core/model/canonical.generated.ts', 'src/core/config/config.generated.ts', 'adapters/icasework/src/settings.generated.ts']));
    for (const { file, text } of files) expect({ file, text: readFileSync(path.join(root, file), 'utf8') }).toEqual({ file, text });
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
