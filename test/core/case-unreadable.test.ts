/**
 * A delivery whose stored case cannot be opened (its bytes changed, or sealed under another data key) can never
 * succeed: it becomes a dead letter on its first attempt, with a typed, non-retryable error that says why and holds
 * nothing of the case, instead of retrying to the attempt limit with GCM's "unable to authenticate data". Intake
 * meeting such a view answers 500, not a 503 that tells the source Redis is unavailable and to retry.
 */
import { apiThenWorkers, eventually } from '../helpers/hub';

const YAML = `
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder, delivery: { attempts: 8, backoffMs: 100 } }
routes:
  - name: unreadable
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

describe('a delivery whose stored case cannot be opened', () => {
  const bed = apiThenWorkers(YAML);

  const ingest = async (id: string) => {
    const [result] = await bed.api.hub.intake.ingest('inbox', 'inbox', [{ eventId: id, case: { type: 'complaint', source: { system: 'recorder', id }, parties: [{ roles: ['applicant'], person: { surname: 'Unreadable-Surname' } }] } }]);
    return result.hubId;
  };

  it('is a dead letter on its first attempt, saying why, with nothing of the case', async () => {
    const hubId = await ingest('unreadable-1');
    // The only stored case so far (the workers are not started yet): one byte of its ciphertext changed.
    const [key] = await bed.api.redis.keys(`${bed.api.prefix}payload:*`);
    const sealed = (await bed.api.redis.getBuffer(key))!;
    sealed[sealed.length - 1] ^= 1;
    await bed.api.redis.set(key, sealed);
    await bed.startWorkers();
    await eventually(async () => (await bed.api.hub.runtime.traces.read(hubId)).some((e) => e.stage === 'dead'), 15000, 'the dead letter');
    const trace = await bed.api.hub.runtime.traces.read(hubId);
    expect(trace.find((e) => e.stage === 'dead')).toMatchObject({ attempt: 1, error: { code: 'SEALED_VALUE_UNREADABLE', retryable: false } });
    expect(trace.some((e) => e.stage === 'retrying')).toBe(false);
    expect(JSON.stringify(trace)).not.toContain('Unreadable-Surname');
    await bed.api.redis.del(key);
  });

  it('the negative: a case stored as sealed is delivered (by the workers the test above started)', async () => {
    const hubId = await ingest('readable-1');
    await eventually(async () => (await bed.api.hub.runtime.traces.read(hubId)).some((e) => e.stage === 'delivered'), 15000, 'the delivery');
    expect((await bed.api.hub.runtime.traces.read(hubId)).some((e) => e.stage === 'dead')).toBe(false);
  });

  it('intake meeting a view it cannot open answers 500, not 503; with the view readable again it accepts', async () => {
    const post = (eventId: string) =>
      fetch(`${bed.api.baseUrl}/recorder/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventId, case: { type: 'complaint', source: { system: 'recorder', id: 'view-case' }, parties: [] } }) });
    expect((await post('view-1')).status).toBe(200);
    const hubId = (await bed.api.hub.runtime.cases.findHubId('view-case', ['recorder']))!;
    const viewsKey = bed.api.hub.runtime.keys.views(hubId);
    const saved = await bed.api.redis.hgetallBuffer(viewsKey);
    // The inbox connection's view (the hash also lists, in plaintext, which views refer to their event payload).
    const field = 'inbox';
    const changed = Buffer.from(saved[field]);
    changed[changed.length - 1] ^= 1;
    await bed.api.redis.hset(viewsKey, field, changed);
    const refused = await post('view-2');
    expect(refused.status).toBe(500);
    // The negative: the same event once the view opens again.
    await bed.api.redis.hset(viewsKey, field, saved[field]);
    expect((await post('view-2')).status).toBe(200);
  });
});
