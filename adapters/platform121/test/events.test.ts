/** The events source over real HTTP: durable cursor, inclusive bound, de-duplication, restarts, canonical mapping. */
import type { PollSourceDefinition } from '../../../src/core/adapter';
import { runtimeFor } from '../src/runtime';
import { EVENTS_CURSOR_KEY, type EventsCursor } from '../src/sources/events';
import { eventually } from '../../../test/helpers/hub';
import { adapter, countingEmit, startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(async () => {
  env.sb.reset();
  // A source starting "now" must not start in the same millisecond as the seed's events (the bound is inclusive).
  const seeded = Date.now();
  await eventually(async () => Date.now() > seeded, 1000, 'the clock to pass the seed');
});

const events = adapter.sources.events as PollSourceDefinition<unknown>;
const WANTED = new Set(['registrationStatusChange', 'registrationDataChange', 'fspChange']);

describe('events source', () => {
  it('emits a portal status change as a canonical case carrying the person data', async () => {
    const h = env.harness();
    expect(await events.poll(h.ctx, h.emit, {})).toEqual({ emitted: 0, lagSeconds: undefined });
    env.sb.portalChangeStatus('westeros123456789', 'declined', 'Fraud suspected');
    env.sb.portalChangeStatus('westeros987654321', 'paused', 'Moved away');
    env.sb.portalUpdate('westeros135792468', { motto: 'Hear me roar' }, 'Typo');
    env.sb.clearRequests();

    const outcome = await events.poll(h.ctx, h.emit, {});
    expect(outcome?.emitted).toBe(3);
    expect(outcome?.lagSeconds).toBeGreaterThanOrEqual(0);
    // One events call and one filtered registrations call for the whole batch.
    expect(env.sb.apiRequests({ method: 'GET' }).map((r) => r.path)).toEqual(['/api/programs/2/registration-events', '/api/programs/2/registrations']);
    const regsCall = env.sb.apiRequests({ method: 'GET', path: '/registrations' })[0];
    expect(String(regsCall.query['filter.id'])).toMatch(/^\$in:\d+,\d+,\d+$/);

    const declined = env.sb.events({ referenceId: 'westeros123456789' }).at(-1);
    const first = h.emitted[0];
    expect(first.eventId).toBe(`event:${declined?.id}`);
    expect(first.case).toEqual({
      type: 'cash-assistance',
      status: 'declined',
      createdAt: expect.any(String),
      updatedAt: declined?.created,
      source: { system: 'platform121', connection: h.ctx.connection.name, id: 'westeros123456789', eventId: `event:${declined?.id}` },
      references: [{ system: 'platform121', connection: h.ctx.connection.name, id: 'westeros123456789', kind: 'referenceId' }],
      parties: [
        {
          id: 'westeros123456789',
          roles: ['beneficiary'],
          person: {
            fullName: 'John Snow',
            birthDate: '1990-08-31',
            language: 'en',
            attributes: { house: 'stark', motto: 'Winter is coming', dragon: '1', knowsNothing: 'true' },
          },
          contacts: [
            { kind: 'whatsapp', value: '14155235554' },
            { kind: 'phone', value: '14155235554', preferred: true },
          ],
          preferences: { language: 'en' },
        },
      ],
      events: [
        {
          id: String(declined?.id),
          type: 'status-change',
          field: 'status',
          oldValue: 'new',
          newValue: 'declined',
          reason: 'Fraud suspected',
          at: declined?.created,
          by: 'portal-user@example.org',
        },
      ],
      extensions: {
        platform121: expect.objectContaining({
          programId: 2,
          registrationId: declined?.registrationId,
          registrationProgramId: 1,
          fspName: 'Excel',
          programFspConfigurationName: 'ironBank',
          personAffectedSequence: 'PA #1',
          eventType: 'registrationStatusChange',
        }),
      },
    });
    expect(h.emitted[1].case.status).toBe('paused');
    expect(h.emitted[1].case.events?.[0]).toEqual(expect.objectContaining({ type: 'status-change', newValue: 'paused', reason: 'Moved away' }));
    expect(h.emitted[2].case.status).toBe('new');
    expect(h.emitted[2].case.events?.[0]).toEqual(
      expect.objectContaining({ type: 'data-change', field: 'motto', oldValue: 'A Lannister always pays his debts', newValue: 'Hear me roar', reason: 'Typo' }),
    );
    expect(h.emitted[2].case.parties[0].person?.attributes?.motto).toBe('Hear me roar');
  });

  it('maps FSP changes and ignores event types not asked for', async () => {
    const h = env.harness();
    await events.poll(h.ctx, h.emit, {});
    env.sb.portalUpdate('westeros987654321', { programFspConfigurationName: 'ironBank' }, 'Bank changed');
    env.sb.portalChangeStatus('westeros987654321', 'validated');
    await events.poll(h.ctx, h.emit, { eventTypes: ['fspChange'] });
    expect(h.emitted).toHaveLength(1);
    expect(h.emitted[0].case.events?.[0]).toEqual(
      expect.objectContaining({ type: 'fsp-change', field: 'programFspConfigurationName', oldValue: 'gringotts', newValue: 'ironBank' }),
    );
    expect((h.emitted[0].case.extensions?.platform121 as Record<string, unknown>).programFspConfigurationName).toBe('ironBank');
  });

  it('survives a restart: every event emitted exactly once, none lost', async () => {
    const name = 'events-restart';
    const a = env.harness(name);
    const countA = countingEmit(a.emit);
    const opts = { startAt: 'beginning', skipOwnChanges: false, overlapSeconds: 60 };
    await events.poll(a.ctx, countA.emit, opts); // the 3 seeded registrations (null -> new)
    env.sb.portalChangeStatus('westeros123456789', 'included');
    env.sb.portalUpdate('westeros987654321', { phoneNumber: '+1 415 523 9999' });
    await events.poll(a.ctx, countA.emit, opts);
    expect(countA.handed).toHaveLength(5);
    const cursorBefore = await a.ctx.state.getJson<EventsCursor>(EVENTS_CURSOR_KEY);

    // Restart: the runtime goes away; a new process (new harness, its own de-duplication memory) on the same Redis.
    await adapter.close?.(a.ctx);
    const b = env.harness(name);
    const countB = countingEmit(b.emit);
    env.sb.portalChangeStatus('westeros135792468', 'paused', 'Travelling');
    env.sb.portalUpdate('westeros987654321', { programFspConfigurationName: 'ironBank' });
    env.sb.clearRequests();
    const outcome = await events.poll(b.ctx, countB.emit, opts);
    expect(outcome?.emitted).toBe(2);
    // The poll re-read from before the last event seen (inclusive bound + overlap) and still emitted nothing twice.
    const fromDate = String(env.sb.apiRequests({ path: '/registration-events' })[0].query.fromDate);
    expect(Date.parse(fromDate)).toBeLessThanOrEqual(Date.parse(String(cursorBefore?.last)));
    await events.poll(b.ctx, countB.emit, opts);

    const handed = [...countA.handed, ...countB.handed];
    expect(new Set(handed).size).toBe(handed.length);
    const all = env.sb.events({ programId: 2 }).filter((e) => WANTED.has(e.type)).map((e) => `event:${e.id}`);
    expect(handed.sort()).toEqual(all.sort());
    expect(b.emitted).toHaveLength(2);
  });

  it('the inclusive fromDate bound brings the last event back; it is dropped by id', async () => {
    const h = env.harness();
    const count = countingEmit(h.emit);
    await events.poll(h.ctx, count.emit, { overlapSeconds: 0 });
    env.sb.portalChangeStatus('westeros123456789', 'included');
    await events.poll(h.ctx, count.emit, { overlapSeconds: 0 });
    const last = env.sb.events().at(-1);
    env.sb.clearRequests();
    const again = await events.poll(h.ctx, count.emit, { overlapSeconds: 0 });
    expect(again?.emitted).toBe(0);
    const req = env.sb.apiRequests({ path: '/registration-events' })[0];
    expect(req.query.fromDate).toBe(last?.created);
    expect(req.status).toBe(200); // the boundary event came back ...
    expect(count.handed).toEqual([`event:${last?.id}`]); // ... and was not handed to the hub again
  });

  it('does not move the cursor when emit fails, so nothing is lost', async () => {
    const h = env.harness();
    await events.poll(h.ctx, h.emit, {});
    env.sb.portalChangeStatus('westeros123456789', 'included');
    const failing = async () => {
      throw new Error('redis down');
    };
    await expect(events.poll(h.ctx, failing, {})).rejects.toThrow('redis down');
    const outcome = await events.poll(h.ctx, h.emit, {});
    expect(outcome?.emitted).toBe(1);
    expect(h.emitted[0].case.status).toBe('included');
  });

  it('treats 404 "no data" as an empty list', async () => {
    const h = env.harness();
    const outcome = await events.poll(h.ctx, h.emit, { startAt: new Date(Date.now() + 60_000).toISOString() });
    expect(outcome?.emitted).toBe(0);
    expect(env.sb.apiRequests({ path: '/registration-events' }).map((r) => r.status)).toEqual([404]);
  });

  it('skips changes made by its own user (no echo), unless told otherwise', async () => {
    const own = env.harness();
    await events.poll(own.ctx, own.emit, {});
    const client = runtimeFor(own.ctx).client;
    await client.updateRegistration('westeros123456789', { motto: 'Changed by the hub' }, 'hub');
    env.sb.portalUpdate('westeros123456789', { motto: 'Changed in the portal' });
    await events.poll(own.ctx, own.emit, {});
    expect(own.emitted.map((e) => e.case.events?.[0].newValue)).toEqual(['Changed in the portal']);

    const all = env.harness();
    await events.poll(all.ctx, all.emit, { startAt: 'beginning', skipOwnChanges: false });
    expect(all.emitted.map((e) => e.case.events?.[0].by)).toContain('admin@example.org');
  });

  it('skips events of deleted registrations (121 no longer lists them) and moves on', async () => {
    const h = env.harness();
    await events.poll(h.ctx, h.emit, {});
    env.sb.portalChangeStatus('westeros135792468', 'deleted');
    env.sb.portalChangeStatus('westeros123456789', 'validated');
    const outcome = await events.poll(h.ctx, h.emit, {});
    expect(outcome?.emitted).toBe(1);
    expect(h.emitted.map((e) => e.case.source.id)).toEqual(['westeros123456789']);
    const cursor = await h.ctx.state.getJson<EventsCursor>(EVENTS_CURSOR_KEY);
    expect(Object.keys(cursor?.seen ?? {})).toHaveLength(2);
  });
});
