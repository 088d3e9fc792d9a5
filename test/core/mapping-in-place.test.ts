/**
 * applyMappingInPlace (what a delivery uses on the case it has just decrypted) must give what applyMapping gives on a
 * copy: copies read the case as it was before any write (a swap stays a swap), copied and set values are not shared
 * with the case or the config, and no mapping leaves the case untouched.
 */
import { applyMapping, applyMappingInPlace, type Mapping } from '../../src/core/routing/mapping';
import type { CanonicalCase } from '../../src/core/model/canonical.generated';

const fresh = (): CanonicalCase => ({
  type: 'etd-application',
  status: 'new',
  summary: 'original summary',
  source: { system: 'peer-a', id: 'ref-1' },
  parties: [{ roles: ['applicant'], person: { surname: 'Doe' } }],
  notes: [{ text: 'a note' }],
  extensions: { peerA: { first: 'one', second: 'two', nested: { level: 'x' } } },
});

const mappings: Array<[string, Mapping]> = [
  ['swap by copy (each copy reads the case before any write)', { copy: { 'extensions.peerA.first': 'extensions.peerA.second', 'extensions.peerA.second': 'extensions.peerA.first' } }],
  ['copy then remove the source', { copy: { 'extensions.peerB.nested': 'extensions.peerA.nested' }, remove: ['extensions.peerA.nested'] }],
  ['set and remove', { set: { summary: 'fixed text', 'extensions.peerB.flag': true }, remove: ['notes'] }],
  ['copy over a value that is set after it', { copy: { summary: 'source.id' }, set: { summary: 'set wins' } }],
];

describe('applyMappingInPlace', () => {
  it.each(mappings)('%s: same result as applyMapping', (_name, mapping) => {
    const expected = applyMapping(fresh(), mapping);
    const kase = fresh();
    const out = applyMappingInPlace(kase, mapping);
    expect(out).toEqual(expected);
    expect(out).toBe(kase); // rewritten in place, no copy of the whole case
  });

  it('a swap really swaps (the negative: reading after writing would give "two" twice)', () => {
    const out = applyMappingInPlace(fresh(), mappings[0][1]);
    expect(out.extensions?.peerA).toMatchObject({ first: 'two', second: 'one' });
  });

  it('a copied value is not shared with its source', () => {
    const out = applyMappingInPlace(fresh(), { copy: { 'extensions.peerB.nested': 'extensions.peerA.nested' } });
    (out.extensions?.peerB as { nested: { level: string } }).nested.level = 'changed';
    expect(out.extensions?.peerA).toMatchObject({ nested: { level: 'x' } });
  });

  it('a set value is not shared with the configuration', () => {
    const mapping: Mapping = { set: { 'extensions.peerB.obj': { k: 'v' } } };
    const out = applyMappingInPlace(fresh(), mapping);
    (out.extensions?.peerB as { obj: { k: string } }).obj.k = 'changed';
    expect(mapping.set).toEqual({ 'extensions.peerB.obj': { k: 'v' } });
  });

  it('no mapping: the case is returned as it is', () => {
    const kase = fresh();
    expect(applyMappingInPlace(kase, undefined)).toBe(kase);
    expect(kase).toEqual(fresh());
  });
});
