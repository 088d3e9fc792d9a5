/**
 * Lossless round trip: registration -> canonical -> registration is the identity for generated registrations of a
 * generated program (every attribute, paymentAmountMultiplier, maxPayments, scope), and writing a registration back
 * unchanged sends nothing; over HTTP, a changed case sends only the changed field.
 */
import fc from 'fast-check';
import { buildRegistrationRow, diffForUpdate, registrationToCase } from '../src/codec';
import { coerceForType, parseProgram } from '../src/program';
import { resolveSettings } from '../src/settings';
import type { RegistrationView } from '../src/types';
import { adapter, deliveryRequest, startEnv, type TestEnv } from './setup';

type AttrType = 'text' | 'tel' | 'numeric' | 'boolean' | 'dropdown' | 'date';

interface GenAttribute {
  name: string;
  type: AttrType;
  options: string[];
}

const NAMES = ['fullName', 'phoneNumber', 'dob', 'house', 'motto', 'dragon', 'knowsNothing', 'healthArea', 'whatsappPhoneNumber', 'village', 'householdSize', 'nationalId'];
const LANGUAGES = ['en', 'nl', 'fr', 'ar', 'es', 'sw', 'pt'];
const TYPES: AttrType[] = ['text', 'tel', 'numeric', 'boolean', 'dropdown', 'date'];

const attributeArb: fc.Arbitrary<GenAttribute[]> = fc
  .uniqueArray(
    fc.record({
      name: fc.constantFrom(...NAMES),
      type: fc.constantFrom(...TYPES),
      options: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), { minLength: 1, maxLength: 4 }),
    }),
    { selector: (a) => a.name, minLength: 1, maxLength: NAMES.length },
  )
  .map((atts) => atts.map((a) => (a.name === 'phoneNumber' || a.name === 'whatsappPhoneNumber' ? { ...a, type: 'tel' as const } : a)));

const programArb = fc.record({
  attributes: attributeArb,
  languages: fc.uniqueArray(fc.constantFrom(...LANGUAGES), { minLength: 1, maxLength: 4 }),
  formula: fc.boolean(),
  enableMaxPayments: fc.boolean(),
  enableScope: fc.boolean(),
  fsps: fc.uniqueArray(fc.stringMatching(/^[A-Za-z][A-Za-z-]{2,15}$/), { minLength: 1, maxLength: 3 }),
});

/** A value in the form GET /registrations returns it ("Number & Boolean is converted to string"). */
function valueArb(a: GenAttribute): fc.Arbitrary<string> {
  switch (a.type) {
    case 'tel':
      return fc.stringMatching(/^[1-9]\d{7,14}$/);
    case 'numeric':
      return fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true })).map((n) => String(n));
    case 'boolean':
      return fc.boolean().map(String);
    case 'dropdown':
      return fc.constantFrom(...a.options);
    case 'date':
      return fc.date({ min: new Date('1920-01-01T00:00:00Z'), max: new Date('2019-12-31T00:00:00Z'), noInvalidDate: true }).map((d) => {
        const iso = d.toISOString().slice(0, 10);
        return `${iso.slice(8, 10)}-${iso.slice(5, 7)}-${iso.slice(0, 4)}`;
      });
    case 'text':
    default:
      return fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== '');
  }
}

type GenProgram = typeof programArb extends fc.Arbitrary<infer P> ? P : never;

function registrationArb(p: GenProgram): fc.Arbitrary<RegistrationView> {
  const values: Record<string, fc.Arbitrary<string | undefined>> = {};
  for (const a of p.attributes) values[a.name] = fc.option(valueArb(a), { nil: undefined, freq: 5 });
  return fc
    .record({
      id: fc.integer({ min: 1, max: 1_000_000 }),
      referenceId: fc.stringMatching(/^[A-Za-z0-9-]{5,40}$/),
      status: fc.constantFrom('new', 'validated', 'included', 'paused', 'declined', 'completed'),
      preferredLanguage: fc.constantFrom(...p.languages),
      programFspConfigurationName: fc.constantFrom(...p.fsps),
      paymentAmountMultiplier: fc.integer({ min: 1, max: 9 }),
      maxPayments: fc.option(fc.integer({ min: 1, max: 12 }), { nil: null }),
      scope: fc.constantFrom('', 'kisumu', 'kisumu.kisumu-east'),
      values: fc.record(values),
    })
    .map(({ values: vals, ...generic }) => {
      const view: RegistrationView = { ...generic, programId: 7, registrationProgramId: 1, created: '2026-01-01T00:00:00.000Z', name: 'generated' };
      for (const [k, v] of Object.entries(vals)) if (v !== undefined) view[k] = v;
      return view;
    });
}

/** Maps some attributes to canonical paths by type (the rest travels in person.attributes and extensions). */
function mappingFor(p: GenProgram): Record<string, string> {
  const mapping: Record<string, string> = {};
  const firstOf = (type: AttrType, except: string[] = []) => p.attributes.find((a) => a.type === type && !except.includes(a.name))?.name;
  const text = firstOf('text');
  if (text) mapping['person.fullName'] = text;
  const date = firstOf('date');
  if (date) mapping['person.birthDate'] = date;
  const tel = firstOf('tel', ['phoneNumber']);
  if (tel) mapping['contacts.whatsapp'] = tel;
  const dropdown = firstOf('dropdown');
  if (dropdown) mapping[`person.attributes.${dropdown}`] = dropdown;
  const other = p.attributes.find((a) => a.type === 'text' && a.name !== text)?.name;
  if (other) mapping['address.town'] = other;
  return mapping;
}

describe('registration -> canonical -> registration', () => {
  it('is the identity for generated registrations of a generated program, and writes nothing back', () => {
    fc.assert(
      fc.property(
        programArb.chain((p) => fc.tuple(fc.constant(p), registrationArb(p))),
        ([p, view]) => {
          const program = parseProgram({
            languages: p.languages,
            paymentAmountMultiplierFormula: p.formula ? '1 + 1 * x' : null,
            enableMaxPayments: p.enableMaxPayments,
            enableScope: p.enableScope,
            programRegistrationAttributes: p.attributes.map((a) => ({ name: a.name, type: a.type, options: a.options.map((o) => ({ option: o })) })),
            fspConfigurations: p.fsps.map((name) => ({ name })),
          });
          const settings = resolveSettings({
            baseUrl: 'http://127.0.0.1:1',
            programId: 7,
            username: 'u@example.org',
            password: 'x',
            programFspConfigurationName: 'someOtherFsp',
            attributeMapping: mappingFor(p),
          });
          const c = registrationToCase(view, { connection: 'p121', settings, program });
          const { row, dropped } = buildRegistrationRow(c, view.referenceId, settings, program);

          const expected: Record<string, unknown> = {
            referenceId: view.referenceId,
            programFspConfigurationName: view.programFspConfigurationName,
            preferredLanguage: view.preferredLanguage,
          };
          for (const a of p.attributes) if (view[a.name] !== undefined) expected[a.name] = coerceForType(a.type, view[a.name]);
          if (!p.formula) expected.paymentAmountMultiplier = view.paymentAmountMultiplier;
          if (p.enableMaxPayments && view.maxPayments !== null) expected.maxPayments = view.maxPayments;
          if (p.enableScope && view.scope) expected.scope = view.scope;

          expect(row).toEqual(expected);
          expect(dropped).toEqual([]);
          // Every value equals what 121 holds, in 121's own string form: an update would send nothing.
          expect(diffForUpdate(row, view, true)).toEqual({});
        },
      ),
      { numRuns: 300 },
    );
  });

  it('fails when an attribute is lost (the property can fail)', () => {
    const settings = resolveSettings({ baseUrl: 'http://127.0.0.1:1', programId: 7, username: 'u', password: 'x', programFspConfigurationName: 'a' });
    const program = parseProgram({ languages: ['en'], programRegistrationAttributes: [{ name: 'village', type: 'text' }] });
    const view: RegistrationView = { id: 1, referenceId: 'ref-00001', status: 'new', preferredLanguage: 'en', programFspConfigurationName: 'a', village: 'Kisumu' };
    const c = registrationToCase(view, { connection: 'p121', settings, program });
    delete (c.extensions?.platform121 as { attributes?: unknown }).attributes;
    delete c.parties[0].person?.attributes;
    const { row } = buildRegistrationRow(c, view.referenceId, settings, program);
    expect(diffForUpdate(row, view, true)).toEqual({});
    expect(row.village).toBeUndefined();
  });
});

describe('over HTTP: read from 121, write back', () => {
  let env: TestEnv;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    await env.teardown();
  });
  beforeEach(() => env.sb.reset());

  it('an unchanged registration sends nothing; a changed attribute sends only that attribute', async () => {
    const h = env.harness();
    const source = adapter.sources.registrations;
    if (source.kind !== 'poll') throw new Error('poll source expected');
    await source.poll(h.ctx, h.emit, {});
    const john = h.emitted.find((e) => e.case.source.id === 'westeros123456789')?.case;
    if (!john) throw new Error('John was not emitted');
    expect(john.extensions?.platform121).toEqual(
      expect.objectContaining({ attributes: expect.objectContaining({ dragon: '1', knowsNothing: 'true', phoneNumber: '14155235554' }), paymentAmountMultiplier: 1, scope: '' }),
    );
    const refs = john.references ?? [];
    const same = await adapter.actions.upsertRegistration.deliver(deliveryRequest(structuredClone(john), { references: refs }), h.ctx);
    expect(same.summary).toEqual(expect.objectContaining({ outcome: 'unchanged', droppedFields: null }));

    const edited = structuredClone(john);
    (edited.extensions?.platform121 as { attributes: Record<string, unknown> }).attributes.dragon = '3';
    const changed = await adapter.actions.upsertRegistration.deliver(deliveryRequest(edited, { references: refs, deliveryId: 'd-2' }), h.ctx);
    expect(changed.summary).toEqual(expect.objectContaining({ outcome: 'updated', changedFields: 'dragon' }));
    expect(env.sb.apiRequests({ method: 'PATCH' })).toHaveLength(1);
    expect(env.sb.registration('westeros123456789')).toEqual(expect.objectContaining({ dragon: '3', knowsNothing: 'true', motto: 'Winter is coming', house: 'stark' }));
  });
});
