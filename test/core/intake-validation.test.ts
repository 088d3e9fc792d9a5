/**
 * Intake checks every case an adapter emits against schemas/canonical-case.schema.json (issue 18.5): a batch holding
 * an invalid case is refused whole, with a permanent error naming the adapter, connection, source, event and path,
 * and nothing of it is stored or queued; a valid batch goes through, and the same batch retried once fixed too.
 */
import type { SourceEvent } from '../../src/core/adapter';
import { InvalidCanonicalCaseError, PermanentError } from '../../src/core/errors';
import { eventKeyOf } from '../../src/core/engine/ids';
import { startTestHub, type TestHub } from '../helpers/hub';

const YAML = `
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

const valid = (eventId: string): SourceEvent => ({
  eventId,
  case: { type: 'complaint', source: { system: 'recorder', id: `own-${eventId}` }, parties: [{ roles: ['complainant'], person: { surname: 'Secret-Surname' } }] },
});

describe('intake validates canonical cases', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, roles: { api: false, workers: false } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('accepts a batch of valid cases and queues their deliveries', async () => {
    const results = await t.hub.intake.ingest('inbox', 'inbox', [valid('ok-1'), valid('ok-2')]);
    expect(results.map((r) => r.duplicate)).toEqual([false, false]);
    expect(await t.hub.runtime.queues.get('deliver.sink').count()).toBe(2);
  });

  it('refuses a whole batch holding one invalid case, naming adapter, connection, source, event and path, and stores nothing', async () => {
    const broken = valid('bad-1');
    const party = broken.case.parties[0];
    // An adapter bug: a party without the roles list, a field the schema does not know, a wrong type.
    Object.assign(party, { roles: 'complainant', nickname: 'Secret-Nickname' });
    const before = await t.hub.runtime.queues.get('deliver.sink').count();
    const err = await t.hub.intake.ingest('inbox', 'inbox', [valid('good-in-bad-batch'), broken]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidCanonicalCaseError);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'INVALID_CANONICAL_CASE', retryable: false, adapter: 'recorder', source: 'inbox', context: { connection: 'inbox', peer: 'recorder', source: 'inbox' } });
    const problems = (err as InvalidCanonicalCaseError).problems;
    expect(problems).toEqual(
      expect.arrayContaining([
        { eventId: 'bad-1', path: '/parties/0/roles', reason: 'must be array' },
        { eventId: 'bad-1', path: '/parties/0/nickname', reason: 'is not a known property' },
      ]),
    );
    const message = (err as Error).message;
    expect(message).toContain('adapter "recorder" (connection "inbox", source "inbox")');
    expect(message).toContain('event bad-1');
    // Paths, never values: personal data stays out of the error.
    expect(message).not.toMatch(/Secret/);
    // Nothing of the batch was accepted, the valid event included: no event key, no case, no delivery.
    for (const id of ['good-in-bad-batch', 'bad-1']) expect(await t.redis.exists(`${t.prefix}event:${eventKeyOf('inbox', 'inbox', id)}`)).toBe(0);
    expect(await t.hub.runtime.queues.get('deliver.sink').count()).toBe(before);

    // The adapter fixed, the source's retry of the same batch goes through.
    const results = await t.hub.intake.ingest('inbox', 'inbox', [valid('good-in-bad-batch'), valid('bad-1')]);
    expect(results.map((r) => r.duplicate)).toEqual([false, false]);
    expect(await t.hub.runtime.queues.get('deliver.sink').count()).toBe(before + 2);
  });

  it('refuses a case missing a required field', async () => {
    const event: SourceEvent = { eventId: 'no-type', case: { source: { system: 'recorder' }, parties: [] } as unknown as SourceEvent['case'] };
    await expect(t.hub.intake.ingest('inbox', 'inbox', [event])).rejects.toMatchObject({ problems: [{ eventId: 'no-type', path: '/type', reason: 'is required' }] });
  });
});
