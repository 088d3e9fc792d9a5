/**
 * A delivery job whose stored case is not there (issue 18: found by the Redis outage test under load). A failover can
 * drop a flush's stored case and keep its delivery job (added on the queues' connection moments later); intake
 * answers 503, the source retries, intake stores the case again, and BullMQ keeps the job it already has under that
 * id. The job must wait for the case (retryable), not become a dead letter that the retry's 200 hides. A job older
 * than the retention period is another matter: its case expired, and that is permanent.
 */
import type { Job } from 'bullmq';
import { deliveryQueueName, type DeliveryJobData } from '../../src/core/queues';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { apiThenWorkers, eventually } from '../helpers/hub';

const YAML = `
hub: { retentionDays: 1 }
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 8, backoffMs: 100 } }
routes:
  - name: lost
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

describe('a delivery job whose stored case is not there', () => {
  const bed = apiThenWorkers(YAML);

  /** Ingests one event and removes what a failover would have lost: its stored case and its accepted mark. */
  const ingestAndLoseTheCase = async (id: string) => {
    const event = { eventId: id, case: { type: 'complaint', source: { system: 'recorder', id }, parties: [] } };
    const [result] = await bed.api.hub.intake.ingest('inbox', 'inbox', [event]);
    const keys = await bed.api.redis.keys(`${bed.api.prefix}payload:*`);
    for (const key of keys) await bed.api.redis.del(key);
    for (const key of await bed.api.redis.keys(`${bed.api.prefix}event:*`)) await bed.api.redis.hdel(key, 'accepted');
    return { event, hubId: result.hubId };
  };
  const queue = () => bed.api.hub.runtime.queues.get(deliveryQueueName('sink'));
  const jobOf = async (hubId: string) => ((await queue().getJobs(['wait', 'delayed', 'active', 'failed', 'completed'])) as Array<Job<DeliveryJobData>>).find((j) => j.data.hubId === hubId);

  it('waits for the case (retrying, not dead) and delivers once the source sends it again', async () => {
    const { event, hubId } = await ingestAndLoseTheCase('lost-1');
    await bed.startWorkers();
    await eventually(async () => (await bed.api.hub.runtime.traces.read(hubId)).some((e) => e.stage === 'retrying'), 15000, 'an attempt without the case');
    const retrying = (await bed.api.hub.runtime.traces.read(hubId)).find((e) => e.stage === 'retrying');
    expect(retrying).toMatchObject({ error: { code: 'CASE_NOT_STORED', retryable: true } });
    // The source's retry stores the case again; the job it already has delivers it.
    await bed.api.hub.intake.ingest('inbox', 'inbox', [event]);
    const sink = new RedisConnectionState(bed.api.redis, bed.api.prefix, 'sink');
    await eventually(async () => Object.values(await sink.hashGetAll('deliveries')).some((v) => (JSON.parse(v) as { hubId: string }).hubId === hubId), 30000, 'the case delivered');
    expect((await bed.api.hub.runtime.traces.read(hubId)).some((e) => e.stage === 'dead')).toBe(false);
    expect(await (await jobOf(hubId))?.getState()).toBe('completed');
  });

  it('an event whose every write but its job a failover lost gets the same hub id again, so the job delivers the case the hub knows', async () => {
    await bed.stopWorkers();
    const event = { eventId: 'lost-claim', case: { type: 'complaint', source: { system: 'recorder', id: 'lost-claim' }, parties: [] } };
    const [first] = await bed.api.hub.intake.ingest('inbox', 'inbox', [event]);
    const job = await jobOf(first.hubId);
    expect(job).toBeDefined();
    // Everything of the event but its delivery job is gone: the claim (event key, the source id's reference), the case.
    const keep = new Set(await bed.api.redis.keys(`${bed.api.hub.runtime.keys.queuePrefix}:*`));
    for (const key of await bed.api.redis.keys(`${bed.api.prefix}*`)) if (!keep.has(key)) await bed.api.redis.del(key);
    const [again] = await bed.api.hub.intake.ingest('inbox', 'inbox', [event]);
    expect(again).toMatchObject({ hubId: first.hubId, duplicate: false });
    // The negative: another event is another case.
    const [other] = await bed.api.hub.intake.ingest('inbox', 'inbox', [{ ...event, eventId: 'lost-claim-other', case: { ...event.case, source: { system: 'recorder', id: 'lost-claim-other' } } }]);
    expect(other.hubId).not.toBe(first.hubId);
    await bed.startWorkers();
    const sink = new RedisConnectionState(bed.api.redis, bed.api.prefix, 'sink');
    await eventually(async () => Object.values(await sink.hashGetAll('deliveries')).some((v) => (JSON.parse(v) as { hubId: string }).hubId === first.hubId), 30000, 'the case delivered under the hub id the hub knows');
    await eventually(async () => (await bed.api.hub.runtime.traces.read(first.hubId)).some((e) => e.stage === 'delivered'), 10000, 'the delivery traced on the case');
  });

  it('the negative: a job older than the retention period finds its case expired, and that is a dead letter', async () => {
    await bed.stopWorkers();
    const { hubId } = await ingestAndLoseTheCase('lost-2');
    const job = await jobOf(hubId);
    // Created two days ago (retentionDays: 1).
    await bed.api.redis.hset(`${bed.api.hub.runtime.keys.queuePrefix}:${deliveryQueueName('sink')}:${job!.id}`, 'timestamp', String(Date.now() - 2 * 86_400_000));
    await bed.startWorkers();
    await eventually(async () => (await bed.api.hub.runtime.traces.read(hubId)).some((e) => e.stage === 'dead'), 15000, 'the dead letter');
    expect((await bed.api.hub.runtime.traces.read(hubId)).find((e) => e.stage === 'dead')).toMatchObject({ error: { code: 'PERMANENT', message: 'the stored case has expired', retryable: false } });
    expect(await (await jobOf(hubId))?.getState()).toBe('failed');
  });
});
