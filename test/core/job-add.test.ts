/**
 * Intake queues a flush's deliveries with BullMQ's `add` when a queue gets one job and `addBulk` when it gets more
 * (src/core/queues.ts, addJobs). Either way the job must carry the same options (its delivery id as job id, the
 * connection's attempts and back-off, the completed-job retention, failed jobs kept as dead letters) and the same
 * data, and queueing the same events again must add nothing.
 */
import type { Job, JobsOptions } from 'bullmq';
import type { SourceEvent } from '../../src/core/adapter';
import { deliveryQueueName, type DeliveryJobData } from '../../src/core/queues';
import { startTestHub, type TestHub } from '../helpers/hub';

const YAML = `
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 5, backoffMs: 70 } }
routes:
  - name: queueing
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

const event = (id: string): SourceEvent => ({ eventId: id, case: { type: 'complaint', source: { system: 'recorder', id }, parties: [] } });

/** What a delivery job's options must say, whichever way it was added. */
function expectDeliveryOptions(job: Job<DeliveryJobData>): void {
  const opts: JobsOptions = job.opts;
  expect(opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 70 }, removeOnComplete: { count: 5000 }, removeOnFail: false });
  // The delivery id, not a number BullMQ drew: what makes adding the same delivery again add nothing.
  expect(job.id).toMatch(/^d-[0-9a-f]{32}$/);
}

describe('queueing a flush’s deliveries', () => {
  let t: TestHub;
  const queue = () => t.hub.runtime.queues.get(deliveryQueueName('sink'));
  const jobs = async () => (await queue().getJobs(['wait', 'delayed', 'prioritized'])) as Array<Job<DeliveryJobData>>;
  const jobOf = async (hubId: string) => (await jobs()).find((j) => j.data.hubId === hubId);

  beforeAll(async () => {
    // No workers: the jobs stay where intake put them.
    t = await startTestHub({ yaml: YAML, roles: { api: true, workers: false } });
  });
  afterAll(async () => t.stop());

  it('gives a job added alone (add) and jobs added together (addBulk) the same options and data, and adds none twice', async () => {
    const [single] = await t.hub.intake.ingest('inbox', 'inbox', [event('alone-1')]);
    const batch = await t.hub.intake.ingest('inbox', 'inbox', [event('together-1'), event('together-2'), event('together-3')]);
    expect(await jobs()).toHaveLength(4);

    const alone = await jobOf(single.hubId);
    if (!alone) throw new Error('no job for the case ingested alone');
    expectDeliveryOptions(alone);
    expect(alone.name).toBe('record');
    expect(alone.data).toMatchObject({ hubId: single.hubId, route: 'queueing', target: expect.any(String), eventKey: expect.any(String), payloadRef: expect.any(String), day: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) });

    for (const r of batch) {
      const job = await jobOf(r.hubId);
      if (!job) throw new Error(`no job for ${r.hubId}`);
      expectDeliveryOptions(job);
      expect(job.name).toBe('record');
      // The same data keys either way, and the same target for the same route.
      expect(Object.keys(job.data).sort()).toEqual(Object.keys(alone.data).sort());
      expect(job.data.target).toBe(alone.data.target);
    }

    // The same events again, alone and together: deduplicated at intake, and no second job under any delivery id.
    const again = await t.hub.intake.ingest('inbox', 'inbox', [event('alone-1')]);
    expect(again[0]).toMatchObject({ hubId: single.hubId, duplicate: true });
    await t.hub.intake.ingest('inbox', 'inbox', [event('together-1'), event('together-2'), event('together-3')]);
    expect(await jobs()).toHaveLength(4);
  });

  it('adds nothing twice when a job is queued again under the same delivery id, alone or in a bulk', async () => {
    const queues = t.hub.runtime.queues;
    const before = (await jobs()).length;
    const [one] = await jobs();
    const job = { name: one.name, data: one.data, opts: { ...one.opts, jobId: one.id } };
    // What a flush replayed after a crash between its steps does: the same job ids again.
    await queues.addJobs(deliveryQueueName('sink'), [job]);
    await queues.addJobs(deliveryQueueName('sink'), [job, job]);
    expect(await jobs()).toHaveLength(before);
  });
});
