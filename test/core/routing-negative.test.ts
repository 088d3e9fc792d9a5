/**
 * Negative cases for every filter operator (equals, in, exists, matches, all, any, not) and every mapping verb
 * (copy, set, remove): each rule is shown both holding and refusing, so an operator that always answers true (or a
 * verb that does nothing, or too much) fails a test here. Written against the public matchesFilter / applyMapping.
 */
import { matchesFilter, type Filter } from '../../src/core/routing/filter';
import { applyMapping } from '../../src/core/routing/mapping';
import type { CanonicalCase } from '../../src/core/model/canonical.generated';

const kase: CanonicalCase = {
  type: 'cash-assistance',
  status: 'declined',
  source: { system: 'peer-a', id: 'ref-1' },
  references: [{ system: 'peer-a', id: 'ref-1', kind: 'referenceId' }],
  parties: [
    { roles: ['beneficiary'], person: { fullName: 'A B' } },
    { roles: ['caseworker', 'customer'], person: { surname: 'C' } },
  ],
  events: [{ type: 'status-change', field: 'status', newValue: 'declined' }],
  extensions: { peerA: { programId: 2, team: '', nested: { level: 'x' } } },
};

const TRUE: Filter = { path: 'status', equals: 'declined' };
const FALSE: Filter = { path: 'status', equals: 'included' };

type Row = [string, Filter, boolean];
const check = (rows: Row[]) =>
  it.each(rows)('%s', (_name, filter, expected) => {
    expect(matchesFilter(filter, kase)).toBe(expected);
  });

describe('filter: equals', () => {
  check([
    ['a different value does not match', { path: 'status', equals: 'included' }, false],
    ['the same value matches', { path: 'status', equals: 'declined' }, true],
    ['a missing path does not equal a value', { path: 'extensions.peerA.missing', equals: 'declined' }, false],
    ['a missing path does not equal null', { path: 'extensions.peerA.missing', equals: null }, false],
    ['a number equals its string form', { path: 'extensions.peerA.programId', equals: '2' }, true],
    ['a number does not equal another number', { path: 'extensions.peerA.programId', equals: 3 }, false],
    ['an array matches when an item equals', { path: 'parties[1].roles', equals: 'customer' }, true],
    ['an array does not match when no item equals', { path: 'parties[1].roles', equals: 'creditor' }, false],
    ['an object equals an equal object', { path: 'extensions.peerA.nested', equals: { level: 'x' } }, true],
    ['an object does not equal a different object', { path: 'extensions.peerA.nested', equals: { level: 'y' } }, false],
  ]);
});

describe('filter: in', () => {
  check([
    ['a value outside the list does not match', { path: 'status', in: ['included', 'paused'] }, false],
    ['a value in the list matches', { path: 'status', in: ['included', 'declined'] }, true],
    ['an empty list matches nothing', { path: 'status', in: [] }, false],
    ['a missing path is in no list', { path: 'extensions.peerA.missing', in: ['declined', 'x'] }, false],
    ['an array matches when one item is in the list', { path: 'parties[1].roles', in: ['customer', 'debtor'] }, true],
    ['an array does not match when no item is in the list', { path: 'parties[1].roles', in: ['creditor', 'debtor'] }, false],
  ]);
});

describe('filter: exists', () => {
  check([
    ['exists: true refuses a missing path', { path: 'parties[role=debtor]', exists: true }, false],
    ['exists: true accepts a present path', { path: 'parties[role=customer]', exists: true }, true],
    ['exists: false refuses a present path', { path: 'status', exists: false }, false],
    ['exists: false accepts a missing path', { path: 'parties[role=debtor]', exists: false }, true],
    ['an empty string does not exist', { path: 'extensions.peerA.team', exists: true }, false],
    ['an empty string counts as absent', { path: 'extensions.peerA.team', exists: false }, true],
  ]);
});

describe('filter: matches', () => {
  check([
    ['a non-matching pattern refuses', { path: 'type', matches: '^debt-' }, false],
    ['a matching pattern accepts', { path: 'type', matches: '^cash-' }, true],
    ['a missing path matches no pattern, not even .*', { path: 'extensions.peerA.missing', matches: '.*' }, false],
    ['an object matches no pattern', { path: 'extensions.peerA.nested', matches: '.*' }, false],
    ['an array matches when an item matches', { path: 'parties[1].roles', matches: '^cust' }, true],
    ['an array does not match when no item matches', { path: 'parties[1].roles', matches: '^cred' }, false],
  ]);
});

describe('filter: conditions on one path all hold', () => {
  check([
    ['equals true but in false refuses', { path: 'status', equals: 'declined', in: ['paused'] }, false],
    ['in true but matches false refuses', { path: 'status', in: ['declined'], matches: '^inc' }, false],
    ['exists true but equals false refuses', { path: 'status', exists: true, equals: 'paused' }, false],
    ['all conditions true accepts', { path: 'status', exists: true, equals: 'declined', in: ['declined'], matches: '^dec' }, true],
  ]);
});

describe('filter: all, any, not', () => {
  check([
    ['all refuses when one member is false', { all: [TRUE, FALSE] }, false],
    ['all refuses when the last member is false', { all: [TRUE, TRUE, FALSE] }, false],
    ['all accepts when every member is true', { all: [TRUE, TRUE] }, true],
    ['any refuses when every member is false', { any: [FALSE, FALSE] }, false],
    ['any accepts when one member is true', { any: [FALSE, TRUE] }, true],
    ['an empty any matches nothing', { any: [] }, false],
    ['not refuses what its member accepts', { not: TRUE }, false],
    ['not accepts what its member refuses', { not: FALSE }, true],
    ['not not is the member itself', { not: { not: FALSE } }, false],
    ['nested: all of (any, not) refuses on the not', { all: [{ any: [FALSE, TRUE] }, { not: TRUE }] }, false],
  ]);

  it('no filter lets every case through', () => {
    expect(matchesFilter(undefined, kase)).toBe(true);
  });
});

describe('mapping: copy', () => {
  it('copies a value to the target, leaving the source in place', () => {
    const out = applyMapping(kase, { copy: { 'extensions.peerB.externalId': 'source.id' } });
    expect(out.extensions?.peerB).toEqual({ externalId: 'ref-1' });
    expect(out.source.id).toBe('ref-1');
  });

  it('a missing source creates nothing at the target', () => {
    const out = applyMapping(kase, { copy: { 'extensions.peerB.externalId': 'extensions.peerA.missing' } });
    expect(out.extensions).not.toHaveProperty('peerB');
  });

  it('copies a deep copy: changing the result leaves the stored case alone', () => {
    const out = applyMapping(kase, { copy: { 'extensions.peerB.nested': 'extensions.peerA.nested' } });
    (out.extensions?.peerB as { nested: { level: string } }).nested.level = 'changed';
    expect(kase.extensions?.peerA).toMatchObject({ nested: { level: 'x' } });
  });

  it('reads from the stored case, not from what an earlier copy wrote', () => {
    const out = applyMapping(kase, { copy: { status: 'type', 'extensions.peerB.oldStatus': 'status' } });
    expect(out.status).toBe('cash-assistance');
    expect(out.extensions?.peerB).toEqual({ oldStatus: 'declined' });
  });
});

describe('mapping: set', () => {
  it('sets the value at the target and touches nothing else', () => {
    const out = applyMapping(kase, { set: { 'extensions.peerB.caseType': 'FollowUp' } });
    expect(out.extensions?.peerB).toEqual({ caseType: 'FollowUp' });
    const { extensions: _outExt, ...outRest } = out;
    const { extensions: _inExt, ...inRest } = kase;
    expect(outRest).toEqual(inRest);
    expect(kase.extensions).not.toHaveProperty('peerB');
  });

  it('overwrites an existing value, and the stored case keeps its own', () => {
    const out = applyMapping(kase, { set: { status: 'paused', 'parties[role=customer].roles': ['creditor'] } });
    expect(out.status).toBe('paused');
    expect(out.parties[1].roles).toEqual(['creditor']);
    expect(kase.status).toBe('declined');
    expect(kase.parties[1].roles).toEqual(['caseworker', 'customer']);
  });

  it('set wins over copy on the same target', () => {
    const out = applyMapping(kase, { copy: { 'extensions.peerB.id': 'source.id' }, set: { 'extensions.peerB.id': 'fixed' } });
    expect(out.extensions?.peerB).toEqual({ id: 'fixed' });
  });
});

describe('mapping: remove', () => {
  it('removes the named path and only that one', () => {
    const out = applyMapping(kase, { remove: ['extensions.peerA.nested'] });
    expect(out.extensions?.peerA).toEqual({ programId: 2, team: '' });
    expect(out.events).toEqual(kase.events);
    expect(kase.extensions?.peerA).toHaveProperty('nested');
  });

  it('removes one matching array element, keeping the others', () => {
    const out = applyMapping(kase, { remove: ['parties[role=customer]'] });
    expect(out.parties).toEqual([kase.parties[0]]);
    expect(kase.parties).toHaveLength(2);
  });

  it('removing a missing path changes nothing', () => {
    expect(applyMapping(kase, { remove: ['extensions.peerB.nothing', 'parties[role=debtor]'] })).toEqual(kase);
  });

  it('remove runs last: it removes what copy and set wrote', () => {
    const out = applyMapping(kase, { copy: { 'extensions.peerB.id': 'source.id' }, set: { 'extensions.peerB.type': 'x' }, remove: ['extensions.peerB'] });
    expect(out.extensions).not.toHaveProperty('peerB');
  });
});

describe('mapping: none', () => {
  it('no mapping gives an equal copy, not the stored object', () => {
    const out = applyMapping(kase, undefined);
    expect(out).toEqual(kase);
    expect(out).not.toBe(kase);
  });
});
