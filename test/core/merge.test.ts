/** The merge precedence and the echo rule, as pure functions (docs/canonical-model.md). */
import type { CanonicalCase } from '../../src/core/model/canonical.generated';
import { isEcho, type EchoRecord } from '../../src/core/store/echo-store';
import { DEFAULT_MERGE_RULES, mergeRules, mergeViews, updateView, type CaseView } from '../../src/core/store/merge';
import { foldTrace, storyOf } from '../../src/ops/views';

const etd: CanonicalCase = {
  type: 'etd-application',
  status: 'submitted',
  summary: 'ETD application',
  source: { system: 'etd', connection: 'etd-form', id: 'ETD1' },
  references: [{ system: 'etd', connection: 'etd-form', id: 'ETD1', kind: 'appRefNumber' }],
  parties: [{ roles: ['applicant'], person: { forenames: 'Jane', surname: 'Doe', birthDate: '1980-02-03', identityDocuments: [{ type: 'passport', number: 'P123' }] } }],
  notes: [{ id: 'n1', text: 'Applied online' }],
  extensions: { etd: { journey: { destCountry: 'FR' } } },
};
const icw: CanonicalCase = {
  type: 'EmergencyTravelDocument',
  status: 'Open',
  summary: 'thin copy',
  source: { system: 'icasework', connection: 'icasework', id: '500' },
  references: [{ system: 'icasework', connection: 'icasework', id: '500', kind: 'caseid' }],
  parties: [{ roles: ['customer'], person: { forenames: 'Jane', surname: 'Doe' } }],
  notes: [{ id: 'c1', text: 'Called back', author: 'Caseworker' }],
  extensions: { icasework: { team: 'Consular' } },
};
const view = (c: CanonicalCase, at: string): CaseView => ({ system: c.source.system, connection: c.source.connection!, source: 's', eventId: `${c.source.id}-${at}`, eventKey: 'k', at, case: c });

describe('merged case', () => {
  const views = [view(icw, '2026-01-02T00:00:00Z'), view(etd, '2026-01-01T00:00:00Z')];

  it('keeps the origin fields, adds the later view\'s ids, notes and status (defaults)', () => {
    const m = mergeViews('H1', views, { origin: 'etd-form', references: [{ system: 'etd', connection: 'iizuka', id: '9', kind: 'appRefNumber' }, { system: 'hub', id: 'H1' }] })!;
    expect(m.hubId).toBe('H1');
    expect(m.type).toBe('etd-application');
    expect(m.summary).toBe('ETD application');
    expect(m.source).toEqual(etd.source);
    expect(m.parties).toEqual(etd.parties);
    expect(m.status).toBe('Open');
    expect(m.notes?.map((n) => n.id)).toEqual(['n1', 'c1']);
    expect(m.references?.map((r) => `${r.system}:${r.id}`)).toEqual(['etd:ETD1', 'icasework:500', 'etd:9']);
    expect(m.extensions).toEqual({ etd: etd.extensions!.etd, icasework: icw.extensions!.icasework });
  });

  it('an id recorded under a kind and as a source shows under the kind, whichever was recorded first', () => {
    const sourceFirst = [
      { system: 'icasework', connection: 'icasework', id: '777', kind: 'source' },
      { system: 'icasework', connection: 'icasework', id: '777', kind: 'caseid' },
    ];
    for (const references of [sourceFirst, [...sourceFirst].reverse()]) {
      const m = mergeViews('H1', [view(etd, '2026-01-01T00:00:00Z')], { origin: 'etd-form', references })!;
      expect(m.references?.filter((r) => r.id === '777')).toEqual([{ system: 'icasework', connection: 'icasework', id: '777', kind: 'caseid' }]);
    }
    // The negative: a source reference alone is kept as it is.
    const alone = mergeViews('H1', [view(etd, '2026-01-01T00:00:00Z')], { origin: 'etd-form', references: [sourceFirst[0]] })!;
    expect(alone.references?.filter((r) => r.id === '777')).toEqual([sourceFirst[0]]);
  });

  it('follows the configured rule per field group', () => {
    const m = mergeViews('H1', views, { origin: 'etd-form', rules: mergeRules({ status: 'origin', parties: 'latest', details: 'latest' }) })!;
    expect(m.status).toBe('submitted');
    expect(m.parties).toEqual(icw.parties);
    expect(m.type).toBe('EmergencyTravelDocument');
    expect(m.summary).toBe('thin copy');
    expect(mergeRules(undefined)).toEqual(DEFAULT_MERGE_RULES);
  });

  it('fills what the origin lacks from later views, and answers null without views', () => {
    const { status: _s, ...noStatus } = etd;
    const m = mergeViews('H1', [view(noStatus, '2026-01-01T00:00:00Z'), view(icw, '2026-01-02T00:00:00Z')], { origin: 'etd-form', rules: mergeRules({ status: 'origin' }) })!;
    expect(m.status).toBe('Open');
    expect(mergeViews('H1', [])).toBeNull();
  });

  it("accumulates one system's events into its view: lists add up, the newest scalars win", () => {
    const next: CanonicalCase = { ...icw, status: 'Closed', notes: [{ id: 'c2', text: 'Closed it' }], parties: [] };
    const v = updateView(icw, next);
    expect(v.status).toBe('Closed');
    expect(v.notes?.map((n) => n.id)).toEqual(['c1', 'c2']);
    expect(v.parties).toEqual(icw.parties);
  });
});

describe('echo rule', () => {
  const sentFrom = (c: CanonicalCase) => ({ notes: (c.notes ?? []).map((n) => n.text.toLowerCase()), parties: (c.parties ?? []).map((p) => ({ surname: p.person?.surname?.toLowerCase(), forenames: p.person?.forenames?.toLowerCase(), birthDate: p.person?.birthDate })) });
  const record = (extra: Partial<EchoRecord> = {}): EchoRecord => ({ sent: [sentFrom(etd)], peerIds: ['500'], ...extra });
  const echo: CanonicalCase = { ...icw, notes: [{ text: 'Applied online' }], parties: [{ roles: ['customer'], person: { forenames: 'JANE', surname: ' Doe ' } }] };

  it('recognises content the delivery explains, from the same peer id', () => {
    expect(isEcho(record(), echo)).toBe(true);
    expect(isEcho(record({ peerIds: [] }), echo)).toBe(true);
    expect(isEcho(record({ baseline: { status: 'open' } }), echo)).toBe(true);
  });

  it('is not an echo when anything is new: no delivery, another peer id, a note, a person, a status', () => {
    expect(isEcho(null, echo)).toBe(false);
    expect(isEcho(record({ peerIds: ['501'] }), echo)).toBe(false);
    expect(isEcho(record(), { ...echo, notes: [...echo.notes!, { text: 'Called back' }] })).toBe(false);
    expect(isEcho(record(), { ...echo, parties: [{ roles: ['customer'], person: { surname: 'Smith' } }] })).toBe(false);
    expect(isEcho(record(), { ...echo, parties: [{ roles: ['customer'], person: { surname: 'Doe', birthDate: '1999-01-01' } }] })).toBe(false);
    expect(isEcho(record({ baseline: { status: 'open' } }), { ...echo, status: 'Closed' })).toBe(false);
    expect(isEcho(record(), { ...echo, status: 'declined', events: [{ type: 'status-change', field: 'status', newValue: 'declined' }] })).toBe(false);
  });
});

describe('timeline story', () => {
  it('tells the origin, views, joins and folds echoes into one line', () => {
    const at = '2026-01-01T00:00:00Z';
    expect(storyOf({ at, stage: 'received', connection: 'etd-form', summary: { view: 'origin', source: 'application' } })).toBe('origin: case created from etd-form (application)');
    expect(storyOf({ at, stage: 'received', connection: 'icasework', summary: { view: 'added' } })).toBe('view from icasework arrived');
    expect(storyOf({ at, stage: 'joined', connection: 'platform121', summary: { hubId: 'H1', system: 'platform121', kind: 'referenceId' } })).toBe('joined case H1 by platform121 referenceId');
    const folded = foldTrace([
      { at, stage: 'delivered', connection: 'icasework' },
      { at, stage: 'echo', connection: 'icasework' },
      { at, stage: 'delivered', connection: 'icasework' },
      { at, stage: 'echo', connection: 'icasework' },
      { at, stage: 'echo', connection: 'isupport' },
      { at, stage: 'received', connection: 'icasework', summary: { view: 'added' } },
      { at, stage: 'echo', connection: 'icasework' },
    ]);
    expect(folded.map((f) => [f.entry.stage, f.entry.connection, f.repeats])).toEqual([
      ['delivered', 'icasework', 1],
      ['echo', 'icasework', 2],
      ['delivered', 'icasework', 1],
      ['echo', 'isupport', 1],
      ['received', 'icasework', 1],
      ['echo', 'icasework', 1],
    ]);
    expect(storyOf(folded[1].entry)).toBe('echo from icasework, ignored');
  });
});
