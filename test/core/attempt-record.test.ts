/**
 * Before a delivery calls its peer it records two things (issued together, auto-pipelined, not a transaction): what
 * it sends (the echo expectation) and that an attempt started (the attempt record). If Redis refuses either, the
 * attempt fails unsent and is retried: the peer is not called until both are written. A retry after a refused echo
 * write knows an earlier attempt started (it counts as one that may have reached the peer).
 */
import type { Job } from 'bullmq';
import { deliveryQueueName, type DeliveryJobData } from '../../src/core/queues';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { apiThenWorkers, eventually } from '../helpers/hub';

const YAML = `
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 20, backoffMs: 50 } }
routes:
  - name: attempts
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

describe('the record a delivery writes before calling its peer', () => {
  const bed = apiThenWorkers(YAML);

  const sink = () => new RedisConnectionState(bed.api.redis, bed.api.prefix, 'sink');
  const queue = () => bed.api.hub.runtime.queues.get(deliveryQueueName('sink'));
  /** Ingests one case (no workers run yet) and returns its hub id and delivery id. */
  const ingest = async (id: string) => {
    const [result] = await bed.api.hub.intake.ingest('inbox', 'inbox', [{ eventId: id, case: { type: 'complaint', source: { system: 'recorder', id }, parties: [] } }]);
    const job = ((await queue().getJobs(['wait', 'delayed'])) as Array<Job<DeliveryJobData>>).find((j) => j.data.hubId === result.hubId);
    if (!job?.id) throw new Error(`no delivery job for ${id}`);
    return { hubId: result.hubId, deliveryId: job.id };
  };
  const retried = async (hubId: string) => (await bed.api.hub.runtime.traces.read(hubId)).filter((e) => e.stage === 'retrying');
  const delivered = async (deliveryId: string) => {
    const raw = (await sink().hashGetAll('deliveries'))[deliveryId];
    return raw === undefined ? undefined : (JSON.parse(raw) as { earlierAttempts: number | null });
  };

  it('does not call the peer while Redis refuses the attempt record or the echo expectation, and delivers once both are written', async () => {
    const a = await ingest('attempt-refused');
    const e = await ingest('echo-refused');
    // Keys of the wrong type: HINCRBY (attempt record) and HSET (echo expectation) answer WRONGTYPE.
    const attemptsKey = bed.api.hub.runtime.keys.attempts(a.deliveryId);
    const echoKey = bed.api.hub.runtime.keys.echo(e.hubId, 'sink');
    await bed.api.redis.set(attemptsKey, 'not a hash');
    await bed.api.redis.set(echoKey, 'not a hash');
    await bed.startWorkers();
    await eventually(async () => (await retried(a.hubId)).length >= 2 && (await retried(e.hubId)).length >= 2, 20000, 'both deliveries retrying');
    for (const hubId of [a.hubId, e.hubId]) {
      expect((await retried(hubId))[0]).toMatchObject({ error: { code: 'STORE_UNAVAILABLE', retryable: true } });
    }
    // The peer never heard of either.
    expect(await sink().areMembers('started', [a.deliveryId, e.deliveryId])).toEqual([false, false]);

    await bed.api.redis.del(attemptsKey, echoKey);
    await eventually(async () => (await delivered(a.deliveryId)) !== undefined && (await delivered(e.deliveryId)) !== undefined, 20000, 'both delivered');
    // The refused attempt record counted nothing; the refused echo write's attempt was counted (a started attempt).
    expect((await delivered(a.deliveryId))?.earlierAttempts).toBe(0);
    expect((await delivered(e.deliveryId))?.earlierAttempts).toBeGreaterThan(0);
    expect(await sink().get(`count:${a.deliveryId}`)).toBe('1');
    expect(await sink().get(`count:${e.deliveryId}`)).toBe('1');
  });
});
