/** Case status from a trace, the case index's bounds, dead-letter error detail and filters, the dry run's diff, chart and health badge. */
import { Keys } from '../../src/core/store/keys';
import { MAX_PER_DAY, caseIndexKey, indexCase, readCaseIndex } from '../../src/core/store/case-index';
import type { TraceEntry } from '../../src/core/store/trace-store';
import { statusOf } from '../../src/ops/case-history';
import { errorOf, matches, type DeadLetterDetail } from '../../src/ops/dead-letter-query';
import { lineDiff } from '../../src/ops/dry-run';
import { routeChart, routeHealth } from '../../src/ops/overview-page';
import type { RouteOverview } from '../../src/ops/overview';
import { testRedis } from '../helpers/redis';

const at = '2026-01-02T03:04:05.000Z';
const routed = (deliveryId: string, connection = 'crm'): TraceEntry => ({ at, stage: 'routed', route: 'r1', target: 't1', connection, deliveryId });

describe('case status from its trace', () => {
  it('is the worst state of its deliveries', () => {
    expect(statusOf([{ at, stage: 'received' }]).status).toBe('filtered');
    expect(statusOf([routed('d1')]).status).toBe('in-flight');
    expect(statusOf([routed('d1'), { ...routed('d1'), stage: 'delivered' }]).status).toBe('delivered');
    expect(statusOf([routed('d1'), { ...routed('d1'), stage: 'retrying' }]).status).toBe('failed');
    const mixed = statusOf([routed('d1'), routed('d2', 'archive'), { ...routed('d1'), stage: 'delivered' }, { ...routed('d2', 'archive'), stage: 'dead' }]);
    expect(mixed.status).toBe('dead');
    expect(mixed.routes).toEqual(['r1']);
    expect(mixed.targets.map((t) => `${t.connection}:${t.stage}`)).toEqual(['crm:delivered', 'archive:dead']);
    expect(statusOf([routed('d1'), { ...routed('d1'), stage: 'dead' }, { ...routed('d1'), stage: 'replayed' }]).status).toBe('in-flight');
    expect(statusOf([routed('d1'), { ...routed('d1'), stage: 'dead' }, { ...routed('d1'), stage: 'discarded' }]).status).toBe('discarded');
  });
});

describe('case index', () => {
  const r = testRedis();
  afterAll(() => r.cleanup());

  it('lists a day newest first, expires with the retention and keeps at most MAX_PER_DAY', async () => {
    const keys = new Keys(r.prefix);
    const tx = r.redis.multi();
    for (let i = 0; i < 5; i += 1) indexCase(tx, { keys, retentionSeconds: 3600 }, `h${i}`, new Date(Date.parse(at) + i * 1000));
    await tx.exec();
    const day = at.slice(0, 10);
    const all = await readCaseIndex(r.redis, keys, day, 0, Date.parse(at) + 86400000, 0, 10);
    expect(all.map((c) => c.hubId)).toEqual(['h4', 'h3', 'h2', 'h1', 'h0']);
    expect((await readCaseIndex(r.redis, keys, day, 0, Date.parse(at) + 2500, 1, 2)).map((c) => c.hubId)).toEqual(['h1', 'h0']);
    const ttl = await r.redis.ttl(caseIndexKey(keys, day));
    expect(ttl).toBeGreaterThan(3600);
    expect(ttl).toBeLessThanOrEqual(3600 + 86400);
    expect(MAX_PER_DAY).toBeGreaterThan(0);
  });

  it('trims the oldest cases past the bound', async () => {
    const keys = new Keys(`${r.prefix}trim:`);
    const key = caseIndexKey(keys, at.slice(0, 10));
    // Fill to the bound cheaply, then add one through indexCase: the oldest goes.
    const members: Array<string | number> = [];
    for (let i = 0; i < MAX_PER_DAY; i += 1) members.push(i, `old${i}`);
    for (let i = 0; i < members.length; i += 20000) await r.redis.zadd(key, ...members.slice(i, i + 20000));
    const tx = r.redis.multi();
    indexCase(tx, { keys, retentionSeconds: 60 }, 'newest', new Date(at));
    await tx.exec();
    expect(await r.redis.zcard(key)).toBe(MAX_PER_DAY);
    expect(await r.redis.zscore(key, 'old0')).toBeNull();
    expect(await r.redis.zscore(key, 'newest')).not.toBeNull();
  });
});

describe('dead-letter error detail and filters', () => {
  const trace: TraceEntry[] = [
    { at, stage: 'retrying', deliveryId: 'd1', error: { code: 'PEER_RETRYABLE', status: 503 } },
    { at, stage: 'dead', deliveryId: 'd1', error: { code: 'PEER_VALIDATION', status: 422, retryable: false, message: 'rejected (422, 2 field error(s))', fields: ['etdApp.appDetails.surname', 'etdApp.passportDetails.docNumber'], fieldCodes: ['E1'], hasPeerDetail: true, detailHash: '0123456789abcdef', peerDetail: 'Surname Echoson does not match' } },
    // A trace written before the safe view existed held the peer's messages per field: only the paths are taken.
    { at, stage: 'dead', deliveryId: 'old', error: { code: 'PEER_VALIDATION', status: 422, fieldErrors: [{ 'appDetails.surname': 'Surname Echoson' }, { field: 'birthDate', error: '1931-07-14' }, { bad: 42 }] } },
  ];
  it('takes the last failure of that delivery: status, codes, message, field paths; never the peer\'s words', () => {
    expect(errorOf(trace, 'd1')).toEqual({ code: 'PEER_VALIDATION', status: 422, retryable: false, message: 'rejected (422, 2 field error(s))', peerCode: undefined, fields: ['etdApp.appDetails.surname', 'etdApp.passportDetails.docNumber'], fieldCodes: ['E1'], hasPeerDetail: true });
    expect(errorOf(trace, 'other')).toEqual({ code: undefined, status: undefined, peerCode: undefined, retryable: undefined, message: undefined, fields: [], fieldCodes: [], hasPeerDetail: false });
    const old = errorOf(trace, 'old');
    expect(old.fields).toEqual(['appDetails.surname', 'birthDate', 'bad']);
    expect(JSON.stringify(old)).not.toMatch(/Echoson|1931/);
  });
  it('filters by connection, route, code or status, and age', () => {
    const now = Date.parse(at) + 5 * 3600_000;
    const d: DeadLetterDetail = { id: 'd1', connection: 'crm', queue: 'q', action: 'a', hubId: 'h', route: 'r1', target: 't', failedReason: 'x', attemptsMade: 1, failedAt: at, error: errorOf(trace, 'd1') };
    expect(matches(d, {}, now)).toBe(true);
    expect(matches(d, { code: 'PEER_VALIDATION' }, now)).toBe(true);
    expect(matches(d, { code: '422' }, now)).toBe(true);
    expect(matches(d, { code: '503' }, now)).toBe(false);
    expect(matches(d, { route: 'r2' }, now)).toBe(false);
    expect(matches(d, { connection: 'other' }, now)).toBe(false);
    expect(matches(d, { olderThanHours: 4 }, now)).toBe(true);
    expect(matches(d, { olderThanHours: 6 }, now)).toBe(false);
    expect(matches(d, { newerThanHours: 6 }, now)).toBe(true);
    expect(matches(d, { newerThanHours: 4 }, now)).toBe(false);
  });
});

describe('dry-run diff', () => {
  it('marks removed and added lines and keeps the common ones', () => {
    expect(lineDiff('a\nb\nc', 'a\nx\nc')).toEqual([{ op: ' ', text: 'a' }, { op: '-', text: 'b' }, { op: '+', text: 'x' }, { op: ' ', text: 'c' }]);
    expect(lineDiff('same', 'same')).toEqual([{ op: ' ', text: 'same' }]);
  });
});

describe('overview route health and chart', () => {
  const route = (deadLetters: number, status: RouteOverview['reconciliation']['status']): RouteOverview => ({
    name: 'r1', daily: [], enabled: true, from: { connection: 'a', source: 's' }, to: [], totals: {} as RouteOverview['totals'], deadLetters, inFlight: 0, reconciliation: { status, unaccounted: 2, mismatchedDays: [] },
  });
  it('is never balanced with dead letters or a mismatch', () => {
    expect(routeHealth(route(0, 'balanced')).value).toContain('data-health="balanced"');
    expect(routeHealth(route(3, 'balanced')).value).not.toContain('balanced');
    expect(routeHealth(route(3, 'balanced')).value).toContain('3 dead');
    expect(routeHealth(route(0, 'mismatch')).value).toContain('mismatch: 2 unaccounted');
  });
  it('draws one bar per series and day, scaled to the busiest', () => {
    const svg = routeChart('r1', [{ day: '2026-01-01', received: 10, delivered: 5, failed: 0 }, { day: '2026-01-02', received: 0, delivered: 0, failed: 2 }]).value;
    expect(svg.match(/<rect /g)).toHaveLength(6);
    expect(svg).toContain('aria-label="r1: 10 received, 5 delivered, 2 failed attempts over 2 day(s)"');
    expect(svg).not.toContain('style=');
  });
});
