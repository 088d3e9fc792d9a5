/** The example routes in examples/seed-integrations.yaml pass the same validation as `npx caseway validate`. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigErrors } from '../../../src/core/errors';
import { parseConfig } from '../../../src/core/config/load';
import { AdapterRegistry, BUILTIN_ADAPTER_DIR } from '../../../src/core/registry';

const file = path.join(__dirname, '../examples/seed-integrations.yaml');
const registry = AdapterRegistry.discover([BUILTIN_ADAPTER_DIR]);

function errorsOf(text: string): string[] {
  try {
    parseConfig(text, 'examples/seed-integrations.yaml', registry, {});
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  return [];
}

describe('example routes of seed-002 integrations', () => {
  const text = readFileSync(file, 'utf8');

  it('validate', () => {
    expect(errorsOf(text)).toEqual([]);
  });

  it('a misspelt or out-of-range option is refused', () => {
    expect(errorsOf(text.replace('alignToDay: true', 'alignToDays: true')).join('\n')).toMatch(/exportList\/options/);
    expect(errorsOf(text.replace('exportType: registrations', 'exportType: vouchers')).join('\n')).toMatch(/exportType/);
    expect(errorsOf(text.replace('language: nl,', 'language: dutch,')).join('\n')).toMatch(/templates/);
  });
});
