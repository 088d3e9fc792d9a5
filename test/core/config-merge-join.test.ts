/** The config keys of issue 12: hub.merge, connections.*.sources.*.join, routes[].to[].onExisting. */
import { parseConfig } from '../../src/core/config/load';
import { ConfigErrors } from '../../src/core/errors';
import { AdapterRegistry, BUILTIN_ADAPTER_DIR } from '../../src/core/registry';
import { FIXTURE_ADAPTER_DIR } from '../helpers/hub';

const registry = AdapterRegistry.discover([BUILTIN_ADAPTER_DIR, FIXTURE_ADAPTER_DIR]);

const yaml = (o: { merge?: string; join?: string; onExisting?: string }) => `
hub:
  ${o.merge ? `merge: ${o.merge}` : 'name: t'}
connections:
  inbox:
    adapter: recorder
    ${o.join ? `sources: { inbox: { join: ${o.join} } }` : ''}
  sink: { adapter: recorder }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record${o.onExisting ? `, onExisting: ${o.onExisting}` : ''} }]
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

describe('merge, join and onExisting settings', () => {
  it('accepts every documented value', () => {
    expect(errorsOf(yaml({}))).toEqual([]);
    expect(errorsOf(yaml({ merge: '{ status: origin, parties: latest, details: latest, extensions: latest }', join: 'own-id', onExisting: 'create-linked' }))).toEqual([]);
    for (const v of ['update', 'note']) expect(errorsOf(yaml({ onExisting: v }))).toEqual([]);
    expect(errorsOf(yaml({ join: 'references' }))).toEqual([]);
    const config = parseConfig(yaml({ join: 'own-id', onExisting: 'note' }), 'config/test.yaml', registry, {});
    expect(config.connections.inbox.sources?.inbox.join).toBe('own-id');
    expect(config.routes[0].to[0].onExisting).toBe('note');
  });

  it('refuses unknown values and keys with a message naming the place', () => {
    expect(errorsOf(yaml({ onExisting: 'replace' })).join('\n')).toMatch(/onExisting/);
    expect(errorsOf(yaml({ join: 'anything' })).join('\n')).toMatch(/join/);
    expect(errorsOf(yaml({ merge: '{ status: newest }' })).join('\n')).toMatch(/merge\/status/);
    expect(errorsOf(yaml({ merge: '{ people: origin }' })).join('\n')).toMatch(/merge/);
  });
});
