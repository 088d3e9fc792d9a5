/** `caseway validate` (the config loader) checks the options of the new actions and of the report source's enrichment. */
import { parseConfig } from '../../../src/core/config/load';
import { ConfigErrors } from '../../../src/core/errors';
import { AdapterRegistry, BUILTIN_ADAPTER_DIR } from '../../../src/core/registry';
import { FIXTURE_ADAPTER_DIR } from '../../../test/helpers/hub';

const registry = AdapterRegistry.discover([BUILTIN_ADAPTER_DIR, FIXTURE_ADAPTER_DIR]);

const yaml = (target: string, source = '{ reportId: R1 }') => `
connections:
  inbox: { adapter: recorder }
  icw:
    adapter: icasework
    settings: { key: k, secret: s, urlStyle: db, account: a }
    sources: { report: { options: ${source} } }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [${target}]
`;

function errorsOf(text: string): string[] {
  try {
    parseConfig(text, 'config/test.yaml', registry, {});
  } catch (err) {
    if (err instanceof ConfigErrors) return err.errors.map((e) => e.message);
    throw err;
  }
  return [];
}

describe('iCasework options in caseway validate', () => {
  it('accepts the documented options of uploadDocuments, updateCase and the report enrichment', () => {
    expect(errorsOf(yaml('{ connection: icw, action: uploadDocuments, options: { urlLoadContent: false, readBack: true } }'))).toEqual([]);
    expect(errorsOf(yaml("{ connection: icw, action: updateCase, options: { fields: { Details: summary }, style: attribute-value, externalId: source } }"))).toEqual([]);
    expect(errorsOf(yaml('{ connection: icw, action: createCase, options: { customerIdFromExtension: false } }', '{ reportId: R1, getCaseDocuments: true, keepDocumentTokens: false }'))).toEqual([]);
  });

  it.each([
    ['{ connection: icw, action: uploadDocuments, options: { readback: true } }', '{ reportId: R1 }', 'readback'],
    ['{ connection: icw, action: uploadDocuments, options: { urlLoadContent: yes-please } }', '{ reportId: R1 }', 'urlLoadContent'],
    ['{ connection: icw, action: updateCase, options: { style: sideways } }', '{ reportId: R1 }', 'style'],
    ['{ connection: icw, action: updateCase, options: { fields: { Details: "" } } }', '{ reportId: R1 }', 'fields'],
    ['{ connection: icw, action: createCase }', '{ reportId: R1, getCaseDocuments: sometimes }', 'getCaseDocuments'],
  ])('refuses %s / %s, naming %s', (target, source, name) => {
    const errors = errorsOf(yaml(target, source));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.join('\n')).toContain(name);
  });
});
