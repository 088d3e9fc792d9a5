import fc from 'fast-check';
import { matchesFilter, type Filter } from '../../src/core/routing/filter';
import { applyMapping } from '../../src/core/routing/mapping';
import { getPath, parsePath, PathSyntaxError, setPath } from '../../src/core/path';
import type { CanonicalCase } from '../../src/core/model/canonical.generated';

const kase: CanonicalCase = {
  type: 'cash-assistance',
  status: 'declined',
  source: { system: 'platform121', id: 'ref-1' },
  references: [{ system: 'platform121', id: 'ref-1', kind: 'referenceId' }],
  parties: [
    { roles: ['beneficiary'], person: { fullName: 'A B' } },
    { roles: ['caseworker', 'customer'], person: { surname: 'C' } },
  ],
  events: [{ type: 'status-change', field: 'status', newValue: 'declined' }],
  extensions: { platform121: { programId: 2 } },
};

describe('canonical paths', () => {
  it('reads keys, indexes and [key=value] matches (role matches inside roles arrays)', () => {
    expect(getPath(kase, 'parties[1].person.surname')).toBe('C');
    expect(getPath(kase, 'parties[role=customer].person.surname')).toBe('C');
    expect(getPath(kase, 'references[system=platform121].id')).toBe('ref-1');
    expect(getPath(kase, 'extensions.platform121.programId')).toBe(2);
    expect(getPath(kase, 'parties[role=debtor].person')).toBeUndefined();
    expect(getPath({ d: { 'CaseDetails.Team': 'T1' } }, 'd["CaseDetails.Team"]')).toBe('T1');
    expect(getPath({ d: { 'a]b': 1 } }, "d['a]b']")).toBe(1);
  });

  it('rejects malformed paths', () => {
    for (const bad of ['', 'a..b', 'parties[', 'a]b', '.a', 'a.', '[0]', 'a["x]', 'a.b c']) expect(() => parsePath(bad)).toThrow(PathSyntaxError);
  });

  it('setPath then getPath returns the value for any key path', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[a-z][a-z0-9]{0,6}$/), { minLength: 1, maxLength: 5 }), fc.jsonValue(), (keys, value) => {
        const root: Record<string, unknown> = {};
        setPath(root, keys.join('.'), value);
        expect(getPath(root, keys.join('.'))).toEqual(value);
      }),
    );
  });
});

describe('filters', () => {
  const cases: Array<[Filter, boolean]> = [
    [{ path: 'status', in: ['declined', 'paused'] }, true],
    [{ path: 'status', equals: 'included' }, false],
    [{ path: 'events[0].type', equals: 'status-change' }, true],
    [{ path: 'parties[role=customer]', exists: true }, true],
    [{ path: 'parties[role=debtor]', exists: true }, false],
    [{ path: 'type', matches: '^cash-' }, true],
    [{ all: [{ path: 'status', equals: 'declined' }, { not: { path: 'references[system=icasework].id', exists: true } }] }, true],
    [{ any: [{ path: 'status', equals: 'x' }, { path: 'status', equals: 'y' }] }, false],
    [{ path: 'parties[0].roles', equals: 'beneficiary' }, true],
  ];
  it.each(cases)('%j -> %s', (filter, expected) => {
    expect(matchesFilter(filter, kase)).toBe(expected);
  });
});

describe('mapping overrides', () => {
  it('copies, sets and removes on a copy, leaving the stored case untouched', () => {
    const out = applyMapping(kase, {
      copy: { 'extensions.icasework.externalId': 'source.id' },
      set: { 'parties[role=customer].roles': ['creditor'], 'extensions.icasework.caseType': 'FollowUp' },
      remove: ['events'],
    });
    expect(out.extensions?.icasework).toEqual({ externalId: 'ref-1', caseType: 'FollowUp' });
    expect(out.parties[1].roles).toEqual(['creditor']);
    expect(out.events).toBeUndefined();
    expect(kase.events).toHaveLength(1);
    expect(kase.parties[1].roles).toEqual(['caseworker', 'customer']);
  });
});
