/**
 * Every Redis reply of intake is checked (issue 11.1), and events that share a cross-reference settle on one hub id,
 * within a batch and across processes racing on one reference (issue 12.3).
 */
import fc from 'fast-check';
import type { SourceEvent } from '../../src/core/adapter';
import { eventKeyOf } from '../../src/core/engine/ids';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { StoreUnavailableError } from '../../src/core/store/replies';
import { cliSetup, spawnCaseway, type CliProcess } from '../helpers/cli';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';

// join: references — the events name another system's id; a source that only creates cases joins by its own ids
// unless told otherwise (docs/canonical-model.md, "Joins").
const YAML = `
connections:
  inbox: { adapter: recorder, sources: { inbox: { join: references } } }
  sink: { adapter: recorder }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

/** An event of system "recorder" that mentions a shared reference (a peer id in system "peer"). */
const eventFor = (eventId: string, ref?: string): SourceEvent => ({
  eventId,
  case: { type: 'complaint', source: { system: 'recorder', id: `own-${eventId}` }, parties: [], references: ref ? [{ system: 'peer', id: ref }] : [] },
});

const DATA_KEY = PayloadCipher.generateKey();

describe('intake integrity', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, roles: { api: false, workers: false }, dataKey: DATA_KEY });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('fails the whole call with a retryable error when a pipelined reply carries an error, and stores nothing under a missing hub id', async () => {
    // An event key of the wrong type makes the claim script's HMGET fail with WRONGTYPE (as a restarting Redis answers
    // LOADING): the script reads every event key before it writes, so nothing of the batch is claimed.
    const broken = eventKeyOf('inbox', 'inbox', 'wrongtype');
    await t.redis.set(`${t.prefix}event:${broken}`, 'not a hash');
    const err = await t.hub.intake.ingest('inbox', 'inbox', [eventFor('fine-1'), eventFor('wrongtype')]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreUnavailableError);
    expect(err).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true, context: { connection: 'inbox', source: 'inbox', operation: 'claiming hub ids' } });
    // Nothing half-written: no case, no claimed event, no queued delivery.
    expect(await t.redis.keys(`${t.prefix}case:*`)).toEqual([]);
    expect(await t.redis.exists(`${t.prefix}event:${eventKeyOf('inbox', 'inbox', 'fine-1')}`)).toBe(0);
    expect(await t.hub.runtime.queues.get('deliver.sink').count()).toBe(0);

    // Once Redis answers properly, the retry goes through under real hub ids.
    await t.redis.del(`${t.prefix}event:${broken}`);
    const results = await t.hub.intake.ingest('inbox', 'inbox', [eventFor('fine-1'), eventFor('wrongtype')]);
    for (const r of results) {
      expect(r.hubId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await t.redis.hget(`${t.prefix}case:${r.hubId}`, 'hubId')).toBe(r.hubId);
    }
    expect(await t.redis.exists(`${t.prefix}case:undefined`)).toBe(0);
  });

  it('the case store refuses to write a case without a real hub id', () => {
    const tx = t.redis.multi();
    const kase = { ...eventFor('x').case, hubId: 'undefined' };
    expect(() => t.hub.runtime.cases.writeMeta(tx, kase, 'ref', new Date().toISOString())).toThrow(/not a hub id/);
    expect(() => t.hub.runtime.cases.writeReferences(tx, '', [{ system: 'peer', id: '1' }])).toThrow(/not a hub id/);
    tx.discard();
  });

  it("stores a new case's meta whole; a later event of that case keeps the origin's createdAt, type and source", async () => {
    const [first] = await t.hub.intake.ingest('inbox', 'inbox', [eventFor('meta-1', 'meta-shared')]);
    const key = `${t.prefix}case:${first.hubId}`;
    const origin = await t.redis.hgetall(key);
    expect(origin).toEqual({ hubId: first.hubId, createdAt: expect.any(String), updatedAt: origin.createdAt, type: 'complaint', sourceSystem: 'recorder', sourceConnection: 'inbox', latestPayload: eventKeyOf('inbox', 'inbox', 'meta-1') });
    expect(await t.redis.ttl(key)).toBeGreaterThan(0);
    // The claim linked the shared reference and the event's own id to the new case, with the reference retention.
    for (const xref of [`${t.prefix}xref:peer:meta-shared`, `${t.prefix}xref:recorder:own-meta-1`]) {
      expect(await t.redis.get(xref)).toBe(first.hubId);
      expect(await t.redis.ttl(xref)).toBeGreaterThan(0);
    }
    // A later event naming the same reference joins that case (not a new one): only the latest payload and time change.
    const later: SourceEvent = { eventId: 'meta-2', case: { type: 'other-type', source: { system: 'recorder', id: 'own-meta-2' }, parties: [], references: [{ system: 'peer', id: 'meta-shared' }] } };
    const [second] = await t.hub.intake.ingest('inbox', 'inbox', [later]);
    expect(second.hubId).toBe(first.hubId);
    const after = await t.redis.hgetall(key);
    expect(after).toMatchObject({ createdAt: origin.createdAt, type: 'complaint', sourceSystem: 'recorder', sourceConnection: 'inbox', latestPayload: eventKeyOf('inbox', 'inbox', 'meta-2') });
    expect(await t.redis.hlen(`${t.prefix}views:${first.hubId}`)).toBe(1);
  });

  it('an event claimed before but never accepted (stopped between claim and accept) keeps its hub id; an accepted one is a duplicate and is not claimed again', async () => {
    // The claim script reads the event key itself: a retried event must still find the id its first try claimed.
    const eventKey = `${t.prefix}event:${eventKeyOf('inbox', 'inbox', 'retry-1')}`;
    const earlier = '7f1c2d3e-0000-4000-8000-000000000001';
    await t.redis.hset(eventKey, 'hubId', earlier);
    const [first] = await t.hub.intake.ingest('inbox', 'inbox', [eventFor('retry-1', 'retry-shared')]);
    expect(first).toMatchObject({ hubId: earlier, duplicate: false });
    expect(await t.redis.get(`${t.prefix}xref:peer:retry-shared`)).toBe(earlier);
    expect(await t.redis.hget(`${t.prefix}case:${earlier}`, 'latestPayload')).toBe(eventKeyOf('inbox', 'inbox', 'retry-1'));
    expect(await t.redis.hget(eventKey, 'accepted')).toBeTruthy();
    // Accepted now: the same event again is a duplicate of that case, and its event key's expiry starts again (a
    // source re-sending an unchanged record every poll must not see it become new once the first expiry passes).
    await t.redis.expire(eventKey, 5);
    const [again] = await t.hub.intake.ingest('inbox', 'inbox', [eventFor('retry-1', 'retry-shared')]);
    expect(again).toMatchObject({ hubId: earlier, duplicate: true });
    expect(await t.redis.ttl(eventKey)).toBeGreaterThan(86400);
    expect(await t.redis.hget(eventKey, 'hubId')).toBe(earlier);
  });

  it('gives events of one batch that share a reference one hub id, in any order (property)', async () => {
    let run = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ group: fc.integer({ min: 0, max: 4 }), shared: fc.boolean() }), { minLength: 1, maxLength: 12 }),
        async (items) => {
          run += 1;
          const events = items.map((item, i) => eventFor(`p${run}-${i}`, item.shared ? `ref-${run}-${item.group}` : undefined));
          const results = await t.hub.intake.ingest('inbox', 'inbox', events);
          const byGroup = new Map<string, Set<string>>();
          items.forEach((item, i) => {
            if (!item.shared) return;
            const set = byGroup.get(`${item.group}`) ?? new Set<string>();
            set.add(results[i].hubId);
            byGroup.set(`${item.group}`, set);
          });
          for (const [group, ids] of byGroup) {
            expect({ group, ids: [...ids] }).toEqual({ group, ids: [[...ids][0]] });
            expect(await t.redis.get(`${t.prefix}xref:peer:ref-${run}-${group}`)).toBe([...ids][0]);
          }
          // Events with no shared reference each get their own case; different groups never merge.
          const unshared = results.filter((_, i) => !items[i].shared).map((r) => r.hubId);
          const groupIds = [...byGroup.values()].map((s) => [...s][0]);
          expect(new Set([...unshared, ...groupIds]).size).toBe(unshared.length + groupIds.length);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('two hubs with their own Redis connections racing on one reference end on one hub id', async () => {
    // Hub processes of one deployment share the data key (each reads what the other stored).
    const other = await startTestHub({ yaml: YAML, roles: { api: false, workers: false }, prefix: t.prefix, dataKey: DATA_KEY });
    try {
      for (let round = 0; round < 20; round += 1) {
        const ref = `race-${round}`;
        const [a, b] = await Promise.all([
          t.hub.intake.ingest('inbox', 'inbox', [eventFor(`ra-${round}`, ref)]),
          other.hub.intake.ingest('inbox', 'inbox', [eventFor(`rb-${round}`, ref)]),
        ]);
        expect(a[0].hubId).toBe(b[0].hubId);
      }
    } finally {
      await other.stopKeepingState();
    }
  });

  it('two hubs adding a note to one case at once: its view keeps both notes (no lost update)', async () => {
    const other = await startTestHub({ yaml: YAML, roles: { api: false, workers: false }, prefix: t.prefix, dataKey: DATA_KEY });
    const withNote = (eventId: string, ref: string, text: string): SourceEvent => ({ ...eventFor(eventId, ref), case: { ...eventFor(eventId, ref).case, notes: [{ text }] } });
    try {
      for (let round = 0; round < 20; round += 1) {
        const ref = `note-race-${round}`;
        const [base] = await t.hub.intake.ingest('inbox', 'inbox', [withNote(`nb-${round}`, ref, 'first')]);
        // Both flushes read the view holding "first", then each adds its own note.
        await Promise.all([
          t.hub.intake.ingest('inbox', 'inbox', [withNote(`na-${round}`, ref, 'from a')]),
          other.hub.intake.ingest('inbox', 'inbox', [withNote(`nc-${round}`, ref, 'from b')]),
        ]);
        const view = (await t.hub.runtime.views.read(base.hubId)).find((v) => v.connection === 'inbox');
        expect(`round ${round}: ${(view?.case.notes ?? []).map((n) => n.text).sort().join(', ')}`).toBe(`round ${round}: first, from a, from b`);
      }
    } finally {
      await other.stopKeepingState();
    }
  });

  it('a view write finds the view another writer changed since it was read, and is refused (compare-and-set)', async () => {
    const [first] = await t.hub.intake.ingest('inbox', 'inbox', [eventFor('cas-1', 'cas-shared')]);
    const [read] = (await t.hub.runtime.views.readMany([first.hubId])).get(first.hubId)!;
    const stale = { hubId: first.hubId, view: { ...read.view!, eventId: 'stale' }, expected: read.version };
    await t.hub.intake.ingest('inbox', 'inbox', [eventFor('cas-2', 'cas-shared')]);
    expect(await t.hub.runtime.views.writeIfUnchanged([stale])).toEqual([false]);
    expect((await t.hub.runtime.views.read(first.hubId))[0].eventId).toBe('cas-2');
    // The negative: written against the version it read, it is stored; a first view is stored only where none is.
    const [current] = (await t.hub.runtime.views.readMany([first.hubId])).get(first.hubId)!;
    expect(await t.hub.runtime.views.writeIfUnchanged([{ ...stale, expected: current.version }])).toEqual([true]);
    expect((await t.hub.runtime.views.read(first.hubId))[0].eventId).toBe('stale');
    expect(await t.hub.runtime.views.writeIfUnchanged([{ ...stale, expected: null }])).toEqual([false]);
  });

  // Real peers (the recorder) and no API token: a start with real peers refuses an open /api unless told so.
  const API_ARGS = ['--log-level', 'warn', '--insecure-open-api', 'api'];

  it('two real hub processes racing on one reference end on one hub id (first writer wins, the other joins)', async () => {
    // The processes share the in-process hub's prefix, so its data key too (another key is refused at start).
    const cli = { ...cliSetup(YAML), dataKey: DATA_KEY };
    const apis: CliProcess[] = [spawnCaseway(cli, t.prefix, API_ARGS), spawnCaseway(cli, t.prefix, API_ARGS)];
    try {
      const urls = await Promise.all(apis.map((p) => eventually(async () => /API\s+(http:\/\/\S+)/.exec(p.output())?.[1], 20000, 'an api process to start')));
      for (let round = 0; round < 15; round += 1) {
        const ref = `proc-race-${round}`;
        const answers = await Promise.all(
          urls.map(async (url, i) => {
            const res = await fetch(`${url}/recorder/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(eventFor(`proc-${round}-${i}`, ref)) });
            expect(res.status).toBe(200);
            return ((await res.json()) as { results: Array<{ hubId: string }> }).results[0].hubId;
          }),
        );
        expect(answers[1]).toBe(answers[0]);
        expect(await t.redis.get(`${t.prefix}xref:peer:${ref}`)).toBe(answers[0]);
      }
    } finally {
      for (const p of apis) p.child.kill('SIGTERM');
      await Promise.all(apis.map((p) => p.exited));
      cli.cleanup();
    }
  }, 120000);
});
