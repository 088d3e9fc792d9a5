/**
 * The pipeline end to end against real Redis, with the plain-JS recorder adapter from test/fixtures/adapters
 * (added without touching src/): fan-out, retry, dead letters and replay, duplicate events, encryption at rest.
 */
import axios from 'axios';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { deliveryQueueName } from '../../src/core/queues';
import { eventually, startTestHub, type TestHub } from '../helpers/hub';

const YAML = `
connections:
  inbox: { adapter: recorder }
  alpha: { adapter: recorder, delivery: { attempts: 3, backoffMs: 50 } }
  beta: { adapter: recorder, delivery: { attempts: 3, backoffMs: 50 } }
routes:
  - name: fan-out
    from: { connection: inbox, source: inbox }
    filter: { path: type, equals: complaint }
    to:
      - connection: alpha
        action: record
        options: { tag: first }
        mapping: { set: { status: mapped } }
      - { connection: beta, action: record }
`;

function event(eventId: string, sourceId: string, type = 'complaint') {
  return { eventId, case: { type, source: { system: 'recorder', id: sourceId }, parties: [{ roles: ['customer'], person: { surname: 'Zyxwvutsrq' } }] } };
}

describe('pipeline', () => {
  let t: TestHub;
  let alpha: RedisConnectionState;
  let beta: RedisConnectionState;
  const post = (body: unknown) => axios.post(`${t.baseUrl}/recorder/inbox`, body);
  const delivered = async (state: RedisConnectionState) => Object.values(await state.hashGetAll('deliveries')).map((v) => JSON.parse(v) as Record<string, unknown>);

  beforeAll(async () => {
    t = await startTestHub({ yaml: YAML });
    alpha = new RedisConnectionState(t.redis, t.prefix, 'alpha');
    beta = new RedisConnectionState(t.redis, t.prefix, 'beta');
  });
  afterAll(async () => t.stop());

  it('fans one case out to both targets, applying the target mapping and options', async () => {
    const { data } = await post(event('e-fan', 'src-fan'));
    const hubId = data.results[0].hubId as string;
    await eventually(async () => (await delivered(alpha)).length === 1 && (await delivered(beta)).length === 1, 10000, 'two deliveries');
    const [a] = await delivered(alpha);
    const [b] = await delivered(beta);
    expect(a).toMatchObject({ hubId, route: 'fan-out', tag: 'first', status: 'mapped', type: 'complaint' });
    expect(b).toMatchObject({ hubId, route: 'fan-out', tag: null, status: null });
    const { data: found } = await axios.get(`${t.baseUrl}/api/cases/src-fan`);
    expect(found.hubId).toBe(hubId);
    const systems = found.references.map((r: { system: string }) => r.system).sort();
    expect(systems).toEqual(['recorder', 'recorder', 'recorder']);
    const { data: trace } = await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`);
    const stages = trace.trace.map((e: { stage: string }) => e.stage);
    expect(stages.filter((s: string) => s === 'routed')).toHaveLength(2);
    expect(stages.filter((s: string) => s === 'delivered')).toHaveLength(2);
  });

  it('drops a case the route filter rejects and counts it', async () => {
    const { data } = await post(event('e-filtered', 'src-filtered', 'praise'));
    const { data: trace } = await axios.get(`${t.baseUrl}/api/cases/${data.results[0].hubId}/trace`);
    expect(trace.trace.map((e: { stage: string }) => e.stage)).toEqual(['received', 'filtered']);
    const { data: routes } = await axios.get(`${t.baseUrl}/api/routes`);
    expect(routes.routes[0].stats.filtered).toBeGreaterThanOrEqual(1);
  });

  it('retries a retryable failure with backoff and then delivers once', async () => {
    await alpha.set('fail:src-retry', '2');
    const { data } = await post(event('e-retry', 'src-retry'));
    const hubId = data.results[0].hubId as string;
    await eventually(async () => (await delivered(alpha)).find((d) => d.hubId === hubId), 10000, 'delivery after retries');
    const record = (await delivered(alpha)).find((d) => d.hubId === hubId);
    expect(record?.attempt).toBe(3);
    const { data: trace } = await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`);
    const alphaStages = trace.trace.filter((e: { connection?: string; stage: string }) => e.connection === 'alpha' && e.stage !== 'routed').map((e: { stage: string }) => e.stage);
    expect(alphaStages).toEqual(['retrying', 'retrying', 'delivered']);
  });

  it('sends a permanent failure straight to dead letters, and a replay after the fix delivers it', async () => {
    await beta.set('mode', 'permanent');
    const { data } = await post(event('e-dead', 'src-dead'));
    const hubId = data.results[0].hubId as string;
    const dead = await eventually(async () => (await t.hub.deadLetters.list('beta')).find((d) => d.hubId === hubId), 10000, 'dead letter');
    expect(dead.attemptsMade).toBe(1);
    expect(dead.failedReason).toBe('recorder refuses this case');
    const { data: listed } = await axios.get(`${t.baseUrl}/api/dead-letters?connection=beta`);
    expect(listed.deadLetters.map((d: { id: string }) => d.id)).toContain(dead.id);

    await beta.del('mode');
    const replay = await axios.post(`${t.baseUrl}/api/dead-letters/beta/${dead.id}/replay`);
    expect(replay.status).toBe(202);
    await eventually(async () => (await delivered(beta)).find((d) => d.hubId === hubId), 10000, 'delivery after replay');
    expect(await t.hub.deadLetters.list('beta')).toHaveLength(0);
    const { data: trace } = await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`);
    const betaStages = trace.trace.filter((e: { connection?: string; stage: string }) => e.connection === 'beta' && e.stage !== 'routed').map((e: { stage: string }) => e.stage);
    expect(betaStages).toEqual(['dead', 'replayed', 'delivered']);
    expect((await t.hub.deadLetters.auditLog())[0]).toMatchObject({ action: 'replay', by: 'api', hubId });
  });

  it('delivers the same source event once however often it is submitted', async () => {
    const first = await post(event('e-twice', 'src-twice'));
    const again = await post([event('e-twice', 'src-twice'), event('e-twice', 'src-twice')]);
    expect(first.data.results[0].duplicate).toBe(false);
    expect(again.data.results.map((r: { duplicate: boolean }) => r.duplicate)).toEqual([true, true]);
    expect(new Set([first.data.results[0].hubId, ...again.data.results.map((r: { hubId: string }) => r.hubId)]).size).toBe(1);
    const hubId = first.data.results[0].hubId as string;
    await eventually(async () => (await delivered(alpha)).some((d) => d.hubId === hubId), 10000, 'delivery');
    // A second delivery would be queued before this later case: once that one is delivered and the queue is idle,
    // anything the duplicates had queued would have been delivered too.
    const marker = (await post(event('e-twice-marker', 'src-twice-marker'))).data.results[0].hubId as string;
    const queue = t.hub.runtime.queues.get(deliveryQueueName('alpha'));
    await eventually(async () => {
      if (!(await delivered(alpha)).some((d) => d.hubId === marker)) return false;
      const counts = await queue.getJobCounts('waiting', 'active', 'delayed');
      return counts.waiting + counts.active + counts.delayed === 0;
    }, 10000, 'a later case delivered and the queue idle');
    expect((await delivered(alpha)).filter((d) => d.hubId === hubId)).toHaveLength(1);
  });

  it('skips a delivery job that runs again after it succeeded (a worker killed before BullMQ recorded completion)', async () => {
    const { data } = await post(event('e-rerun', 'src-rerun'));
    const hubId = data.results[0].hubId as string;
    await eventually(async () => (await delivered(alpha)).some((d) => d.hubId === hubId), 10000, 'first delivery');
    const queue = t.hub.runtime.queues.get(deliveryQueueName('alpha'));
    const [job] = (await queue.getCompleted(0, 100)).filter((j) => j.data.hubId === hubId);
    await job.remove();
    await queue.add(job.name, job.data, { jobId: job.id });
    await eventually(async () => {
      const { data: trace } = await axios.get(`${t.baseUrl}/api/cases/${hubId}/trace`);
      return trace.trace.some((e: { stage: string; connection?: string }) => e.stage === 'skipped' && e.connection === 'alpha');
    }, 10000, 'the re-run to be skipped');
    expect(await alpha.get(`count:${job.id}`)).toBe('1');
  });

  it('keeps case payloads encrypted in Redis and queues carrying references only', async () => {
    await post(event('e-secret', 'src-secret'));
    let cursor = '0';
    const values: string[] = [];
    do {
      const [next, keys] = await t.redis.scan(cursor, 'MATCH', `${t.prefix}*`, 'COUNT', 500);
      cursor = next;
      for (const key of keys) {
        const type = await t.redis.type(key);
        if (type === 'string') values.push((await t.redis.get(key)) ?? '');
        else if (type === 'hash') values.push(JSON.stringify(await t.redis.hgetall(key)));
        else if (type === 'list') values.push(JSON.stringify(await t.redis.lrange(key, 0, -1)));
      }
    } while (cursor !== '0');
    expect(values.length).toBeGreaterThan(10);
    expect(values.join('\n')).not.toContain('Zyxwvutsrq');
    expect(await t.hub.runtime.cases.latestCase((await t.hub.runtime.cases.findHubId('src-secret', ['recorder']))!)).toMatchObject({
      parties: [{ person: { surname: 'Zyxwvutsrq' } }],
    });
  });
});
