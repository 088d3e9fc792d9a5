/**
 * Group commit at intake (issue 13.2): concurrent callers share one flush, each still gets its own results and its
 * own errors, and nobody is answered before the flush that carries its events has finished.
 */
import type { SourceEvent } from '../../src/core/adapter';
import { eventKeyOf } from '../../src/core/engine/ids';
import { GroupCommit } from '../../src/core/engine/intake-batcher';
import { StoreUnavailableError } from '../../src/core/store/replies';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A flush function the test answers by hand; records what each flush was given. */
function controlledFlush() {
  const calls: Array<{ key: string; items: string[]; answer: Deferred<string[]> }> = [];
  const flush = (key: string, items: string[]): Promise<string[]> => {
    const answer = deferred<string[]>();
    calls.push({ key, items, answer });
    return answer.promise;
  };
  return { calls, flush };
}

/** Tracks whether a promise has settled, without awaiting it. */
function settledState<T>(p: Promise<T>): { settled: () => boolean; outcome: Promise<{ ok: true; value: T } | { ok: false; err: unknown }> } {
  let done = false;
  const outcome = p.then(
    (value) => {
      done = true;
      return { ok: true as const, value };
    },
    (err: unknown) => {
      done = true;
      return { ok: false as const, err };
    },
  );
  return { settled: () => done, outcome };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('GroupCommit', () => {
  it('carries concurrent callers in one flush and gives each its own results, in its own order, only after the flush', async () => {
    const { calls, flush } = controlledFlush();
    const batcher = new GroupCommit<string, string>(flush);
    const a = settledState(batcher.submit('lane', ['a1', 'a2']));
    const b = settledState(batcher.submit('lane', ['b1']));
    const c = settledState(batcher.submit('lane', ['c1', 'c2', 'c3']));
    await eventually(async () => calls.length === 1);
    expect(calls[0].items).toEqual(['a1', 'a2', 'b1', 'c1', 'c2', 'c3']);
    // The flush has not finished: nobody is answered yet.
    await nextTurn();
    expect([a.settled(), b.settled(), c.settled()]).toEqual([false, false, false]);
    calls[0].answer.resolve(calls[0].items.map((i) => `r-${i}`));
    expect(await a.outcome).toEqual({ ok: true, value: ['r-a1', 'r-a2'] });
    expect(await b.outcome).toEqual({ ok: true, value: ['r-b1'] });
    expect(await c.outcome).toEqual({ ok: true, value: ['r-c1', 'r-c2', 'r-c3'] });
    expect(calls).toHaveLength(1);
  });

  it('keeps lanes apart: callers of another key never share a flush', async () => {
    const { calls, flush } = controlledFlush();
    const batcher = new GroupCommit<string, string>(flush);
    const a = batcher.submit('one', ['a']);
    const b = batcher.submit('two', ['b']);
    await eventually(async () => calls.length === 2);
    expect(calls.map((c) => [c.key, c.items])).toEqual([
      ['one', ['a']],
      ['two', ['b']],
    ]);
    for (const call of calls) call.answer.resolve(call.items);
    expect(await a).toEqual(['a']);
    expect(await b).toEqual(['b']);
  });

  it('fails only the callers of a flush Redis did not take, with the retryable error; the next flush is unaffected', async () => {
    const { calls, flush } = controlledFlush();
    const batcher = new GroupCommit<string, string>(flush, { maxInFlight: 1 });
    const a = settledState(batcher.submit('lane', ['a']));
    const b = settledState(batcher.submit('lane', ['b']));
    await eventually(async () => calls.length === 1);
    // While the first flush runs, later callers wait for the next one.
    const c = settledState(batcher.submit('lane', ['c']));
    await nextTurn();
    expect(calls).toHaveLength(1);
    calls[0].answer.reject(new StoreUnavailableError('storing the cases', 'ECONNRESET'));
    const [oa, ob] = await Promise.all([a.outcome, b.outcome]);
    for (const o of [oa, ob]) {
      expect(o.ok).toBe(false);
      if (!o.ok) expect(o.err).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
    }
    await eventually(async () => calls.length === 2);
    expect(calls[1].items).toEqual(['c']); // no replay of the failed group, c in a flush of its own
    expect(c.settled()).toBe(false);
    calls[1].answer.resolve(['r-c']);
    expect(await c.outcome).toEqual({ ok: true, value: ['r-c'] });
  });

  it('replays a group caller by caller after any other error, so one bad event fails only the request that sent it', async () => {
    const flushed: string[][] = [];
    const batcher = new GroupCommit<string, string>(async (_key, items) => {
      flushed.push(items);
      if (items.includes('bad')) throw new Error('a bad event');
      return items.map((i) => `r-${i}`);
    });
    const [good, bad, other] = await Promise.allSettled([batcher.submit('lane', ['g1', 'g2']), batcher.submit('lane', ['bad']), batcher.submit('lane', ['o1'])]);
    expect(good).toEqual({ status: 'fulfilled', value: ['r-g1', 'r-g2'] });
    expect(bad).toMatchObject({ status: 'rejected', reason: { message: 'a bad event' } });
    expect(other).toEqual({ status: 'fulfilled', value: ['r-o1'] });
    expect(flushed[0]).toEqual(['g1', 'g2', 'bad', 'o1']);
    expect(flushed.slice(1).sort()).toEqual([['bad'], ['g1', 'g2'], ['o1']]);
  });

  it('refuses a flush that answers the wrong number of results instead of handing results to the wrong callers', async () => {
    const batcher = new GroupCommit<string, string>(async (_key, items) => [...items, 'one too many']);
    const outcomes = await Promise.allSettled([batcher.submit('lane', ['a']), batcher.submit('lane', ['b'])]);
    for (const o of outcomes) expect(o).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('group commit') } });
  });

  it('splits a group larger than maxItems, never splitting one caller', async () => {
    const { calls, flush } = controlledFlush();
    const batcher = new GroupCommit<string, string>(flush, { maxItems: 3, maxInFlight: 4 });
    const all = [batcher.submit('lane', ['a1', 'a2']), batcher.submit('lane', ['b1', 'b2']), batcher.submit('lane', ['c1', 'c2', 'c3', 'c4'])];
    await eventually(async () => calls.length === 3);
    expect(calls.map((c) => c.items)).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1', 'c2', 'c3', 'c4']]);
    for (const call of calls) call.answer.resolve(call.items);
    expect(await Promise.all(all)).toEqual([['a1', 'a2'], ['b1', 'b2'], ['c1', 'c2', 'c3', 'c4']]);
  });
});

const YAML = `
connections:
  inbox: { adapter: recorder, sources: { inbox: {} } }
  sink: { adapter: recorder }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

const eventFor = (eventId: string): SourceEvent => ({
  eventId,
  case: { type: 'complaint', source: { system: 'recorder', id: `own-${eventId}` }, parties: [] },
});

describe('Intake.ingest through group commit', () => {
  let t: TestHub;
  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML, roles: { api: false, workers: false } });
  });
  afterAll(async () => {
    await t.stop();
  });

  it('gives each of many concurrent callers its own stored, queued cases; a repeat within the group is a duplicate of the same case', async () => {
    const callers = Array.from({ length: 40 }, (_, i) => [eventFor(`c${i}-a`), eventFor(`c${i}-b`)]);
    const results = await Promise.all([...callers.map((events) => t.hub.intake.ingest('inbox', 'inbox', events)), t.hub.intake.ingest('inbox', 'inbox', [eventFor('c0-a')])]);
    const repeat = results.pop()!;
    results.forEach((r, i) => {
      expect(r.map((x) => x.eventId)).toEqual([`c${i}-a`, `c${i}-b`]);
      expect(r.every((x) => x.duplicate === false)).toBe(true);
    });
    expect(repeat).toEqual([{ eventId: 'c0-a', hubId: results[0][0].hubId, duplicate: true }]);
    const hubIds = results.flat().map((x) => x.hubId);
    expect(new Set(hubIds).size).toBe(80);
    for (const r of results.flat()) {
      expect(await t.redis.hget(`${t.prefix}case:${r.hubId}`, 'hubId')).toBe(r.hubId);
      expect(await t.redis.hget(`${t.prefix}event:${eventKeyOf('inbox', 'inbox', r.eventId)}`, 'accepted')).toBeTruthy();
    }
    expect(await t.hub.runtime.queues.get('deliver.sink').count()).toBe(80);
  });

  it('a reply error caused by one caller fails that caller only; the others in its group are stored', async () => {
    const broken = eventKeyOf('inbox', 'inbox', 'wrongtype-g');
    await t.redis.set(`${t.prefix}event:${broken}`, 'not a hash');
    const [fine, bad] = await Promise.allSettled([t.hub.intake.ingest('inbox', 'inbox', [eventFor('fine-g')]), t.hub.intake.ingest('inbox', 'inbox', [eventFor('wrongtype-g')])]);
    expect(bad).toMatchObject({ status: 'rejected', reason: { code: 'STORE_UNAVAILABLE', retryable: true } });
    expect(fine.status).toBe('fulfilled');
    if (fine.status === 'fulfilled') expect(await t.redis.hget(`${t.prefix}case:${fine.value[0].hubId}`, 'hubId')).toBe(fine.value[0].hubId);
    await t.redis.del(`${t.prefix}event:${broken}`);
  });
});
