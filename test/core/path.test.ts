/** The canonical path module: read-after-write, selector semantics and the grammar, by property and by example. */
import fc from 'fast-check';
import { getPath, parsePath, PathSyntaxError, removePath, setPath, trySetPath } from '../../src/core/path';

const name = fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,6}$/);
const scalar = fc.oneof(fc.string(), fc.integer(), fc.boolean());
const roleName = fc.constantFrom('creditor', 'debtor', 'child', 'applicant');
const party = fc.record({ id: fc.string({ maxLength: 4 }), roles: fc.uniqueArray(roleName, { maxLength: 3 }) });

describe('canonical paths (property)', () => {
  it('reads back what it wrote, through keys, indexes and selectors, on an empty root', () => {
    fc.assert(
      fc.property(fc.array(name, { minLength: 1, maxLength: 4 }), fc.option(fc.nat({ max: 3 }), { nil: undefined }), name, scalar, (keys, index, leaf, value) => {
        const path = `${keys.join('.')}${index === undefined ? '' : `[${index}]`}.${leaf}`;
        const root: Record<string, unknown> = {};
        setPath(root, path, value);
        expect(getPath(root, path)).toEqual(value);
        expect(removePath(root, path)).toEqual(value);
        expect(getPath(root, path)).toBeUndefined();
      }),
    );
  });

  it('[roles=x] and [role=x] pick the first element whose roles include x, and nothing when none does', () => {
    fc.assert(
      fc.property(fc.array(party, { maxLength: 6 }), roleName, (parties, role) => {
        const expected = parties.find((p) => p.roles.includes(role));
        const root = { parties };
        expect(getPath(root, `parties[roles=${role}]`)).toBe(expected);
        expect(getPath(root, `parties[role=${role}]`)).toBe(expected);
        expect(getPath(root, `parties[role=${role}].id`)).toBe(expected?.id);
      }),
    );
  });

  it('writing through an unmatched [role=x] appends one element with roles [x]; a matched one is changed in place', () => {
    fc.assert(
      fc.property(fc.array(party, { maxLength: 5 }), roleName, fc.string(), (parties, role, surname) => {
        const root = { parties: structuredClone(parties) };
        const before = parties.findIndex((p) => p.roles.includes(role));
        setPath(root, `parties[role=${role}].person.surname`, surname);
        expect(getPath(root, `parties[roles=${role}].person.surname`)).toBe(surname);
        expect(root.parties).toHaveLength(before < 0 ? parties.length + 1 : parties.length);
        const changed = before < 0 ? root.parties.length - 1 : before;
        expect(root.parties[changed].roles).toEqual(before < 0 ? [role] : parties[before].roles);
        // every other element is untouched
        root.parties.forEach((p, i) => i !== changed && expect(p).toEqual(parties[i]));
      }),
    );
  });

  it('[key=value] on a scalar field compares as text; [n] is the nth element', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ system: fc.constantFrom('a', 'b', 'c'), id: fc.nat() }), { maxLength: 6 }), fc.constantFrom('a', 'b', 'c'), fc.nat({ max: 6 }), (refs, system, n) => {
        const root = { references: refs };
        expect(getPath(root, `references[system=${system}]`)).toBe(refs.find((r) => r.system === system));
        expect(getPath(root, `references[${n}]`)).toBe(refs[n]);
      }),
    );
  });
});

describe('canonical paths (examples)', () => {
  it('quoted keys hold dots and brackets; a key array needs no quoting', () => {
    const root: Record<string, unknown> = {};
    setPath(root, 'extensions.x.details["CaseDetails.Team"]', 'T');
    expect(root).toEqual({ extensions: { x: { details: { 'CaseDetails.Team': 'T' } } } });
    expect(getPath(root, ['extensions', 'x', 'details', 'CaseDetails.Team'])).toBe('T');
  });

  it('refuses a malformed path, naming it', () => {
    for (const bad of ['', '[0]', 'a..b', 'a[', 'a[=x]', 'a[1x]', '.a', 'a.0']) {
      expect(() => parsePath(bad)).toThrow(PathSyntaxError);
    }
    expect(() => parsePath('a[')).toThrow('invalid path "a["');
  });

  it('does not overwrite a scalar in the way, and never writes the prototype', () => {
    const root: Record<string, unknown> = { status: 'open' };
    expect(() => setPath(root, 'status.code', 'x')).toThrow(PathSyntaxError);
    expect(root).toEqual({ status: 'open' });
    // trySetPath answers false instead, and writes nothing either (nor on the way: parties[0] stays absent).
    const nested: Record<string, unknown> = { parties: 'none', person: { name: 'x' } };
    expect(trySetPath(nested, 'parties[0].id', 'p1')).toBe(false);
    expect(trySetPath(nested, 'person.name.first', 'y')).toBe(false);
    expect(nested).toEqual({ parties: 'none', person: { name: 'x' } });
    expect(trySetPath(nested, 'person.born', '2001')).toBe(true);
    expect(nested).toEqual({ parties: 'none', person: { name: 'x', born: '2001' } });
    setPath(root, ['__proto__', 'polluted'], true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(getPath(root, ['__proto__', 'polluted'])).toBe(true);
    // As the last step too: an own key named __proto__, the prototype untouched (other keys are plain assignments).
    const other: Record<string, unknown> = {};
    setPath(other, ['__proto__'], { polluted: true });
    expect(Object.getPrototypeOf(other)).toBe(Object.prototype);
    expect(Object.keys(other)).toEqual(['__proto__']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a key step on an array and a selector on an object read nothing', () => {
    const root = { parties: [{ roles: ['a'] }], person: { roles: ['a'] } };
    expect(getPath(root, 'parties.roles')).toBeUndefined();
    expect(getPath(root, 'person[role=a]')).toBeUndefined();
    expect(getPath(root, 'parties[role=b]')).toBeUndefined();
  });
});
