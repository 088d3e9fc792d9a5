/** upsertRegistration over real HTTP: create, then patch the same referenceId; batches with bad rows; no duplicates. */
import axios from 'axios';
import { PermanentError } from '../../../src/core/errors';
import { upsertCases, upsertRows } from './batch';
import { RegistrationRejectedError } from '../src/errors';
import { deriveReferenceId } from '../src/reference-id';
import { runtimeFor } from '../src/runtime';
import { adapter, deliveryRequest, personCase, startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(() => env.sb.reset());

const upsert = adapter.actions.upsertRegistration;

describe('upsertRegistration', () => {
  it('creates a registration, then PATCHes the same referenceId, then does nothing when nothing changed', async () => {
    const h = env.harness();
    const ref = deriveReferenceId('hub-A', 2, 'cw-');

    const first = await upsert.deliver(deliveryRequest(personCase(1), { hubId: 'hub-A' }), h.ctx);
    expect(first.references).toEqual([{ system: 'platform121', connection: h.ctx.connection.name, id: ref, kind: 'referenceId' }]);
    expect(first.summary).toEqual(expect.objectContaining({ referenceId: ref, outcome: 'created', programId: 2 }));
    const created = env.sb.registration(ref);
    expect(created).toEqual(
      expect.objectContaining({
        referenceId: ref,
        status: 'new',
        fullName: 'Sansa Stark-1',
        phoneNumber: '447700900101',
        dob: '13-02-1996',
        house: 'stark',
        preferredLanguage: 'en',
        programFspConfigurationName: 'ironBank',
      }),
    );

    const second = await upsert.deliver(deliveryRequest(personCase(1, { phone: '+44 (0)7700-900999' }), { hubId: 'hub-A', attempt: 1, deliveryId: 'd-2' }), h.ctx);
    expect(second.summary).toEqual(expect.objectContaining({ referenceId: ref, outcome: 'updated', changedFields: 'phoneNumber' }));
    expect(env.sb.registrations(2).filter((r) => r.referenceId === ref)).toHaveLength(1);
    expect(env.sb.registration(ref)?.phoneNumber).toBe('447700900999');
    const change = env.sb.events({ referenceId: ref, type: 'registrationDataChange' });
    expect(change).toEqual([expect.objectContaining({ fieldChanged: 'phoneNumber', oldValue: '447700900101', newValue: '447700900999', reason: 'Updated by Caseway' })]);
    const patch = env.sb.apiRequests({ method: 'PATCH', path: `/registrations/${ref}` });
    expect(patch).toHaveLength(1);
    expect(patch[0].status).toBe(200);

    const third = await upsert.deliver(deliveryRequest(personCase(1, { phone: '+44 (0)7700-900999' }), { hubId: 'hub-A', deliveryId: 'd-3' }), h.ctx);
    expect(third.summary?.outcome).toBe('unchanged');
    expect(env.sb.apiRequests({ method: 'PATCH' })).toHaveLength(1);
    expect(env.sb.apiRequests({ method: 'POST', path: '/registrations' })).toHaveLength(1);
  });

  it('uses the 121 referenceId of a case that came from 121 and PATCHes it with the route reason', async () => {
    const h = env.harness();
    const c = personCase(2, { name: 'Jon' });
    const result = await upsert.deliver(
      deliveryRequest(c, {
        hubId: 'hub-B',
        options: { reason: 'Edited in iCasework' },
        references: [{ system: 'platform121', connection: h.ctx.connection.name, id: 'westeros123456789', kind: 'referenceId' }],
      }),
      h.ctx,
    );
    expect(result.references?.[0].id).toBe('westeros123456789');
    expect(result.summary?.outcome).toBe('updated');
    expect(env.sb.registration('westeros123456789')?.fullName).toBe('Jon Stark-2');
    const events = env.sb.events({ referenceId: 'westeros123456789', type: 'registrationDataChange' });
    expect(events.map((e) => e.reason)).toEqual(events.map(() => 'Edited in iCasework'));
    expect(events.map((e) => e.fieldChanged).sort()).toEqual(['dob', 'fullName', 'phoneNumber']);
    // The FSP is not changed unless asked (updateFsp), and unchanged fields are not sent.
    expect(events.some((e) => e.fieldChanged === 'programFspConfigurationName')).toBe(false);
    expect(events.some((e) => e.fieldChanged === 'house')).toBe(false);
    expect(env.sb.apiRequests({ method: 'POST', path: '/registrations' })).toHaveLength(0);
  });

  it('a retry after a lost reply never duplicates the registration', async () => {
    const h = env.harness(undefined, { importTimeoutMs: 300 });
    env.sb.injectFault({ method: 'POST', path: '/registrations', delayMs: 600 });
    const result = await upsert.deliver(deliveryRequest(personCase(3), { hubId: 'hub-C' }), h.ctx);
    const ref = deriveReferenceId('hub-C', 2, 'cw-');
    // The late POST is handled when its 600 ms delay ends (the client has gone, so it is never recorded). A request
    // held by the same delay, sent after it, is answered after it: once that answer comes, the late import has run.
    env.sb.injectFault({ method: 'GET', path: '/api/after-the-late-post', delayMs: 600 });
    expect((await axios.get(`${env.sb.url}/api/after-the-late-post`, { validateStatus: () => true })).status).toBe(404);
    expect(env.sb.registrations(2).filter((r) => r.referenceId === ref)).toHaveLength(1);
    expect(['created', 'unchanged', 'updated']).toContain(result.summary?.outcome);
    // The first POST timed out on the client side and was sent again.
    expect(runtimeFor(h.ctx).client.stats.retries).toBeGreaterThanOrEqual(1);
  });

  it('micro-batches concurrent deliveries into one import and fails only the bad row', async () => {
    const h = env.harness(undefined, { batchWaitMs: 50 });
    const requests = [1, 2, 3, 4, 5].map((n) =>
      deliveryRequest(personCase(n, n === 3 ? { house: 'targaryen' } : {}), { hubId: `hub-batch-${n}`, deliveryId: `d-${n}` }),
    );
    const settled = await Promise.allSettled(requests.map((r) => upsert.deliver(r, h.ctx)));

    expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    const err = (settled[2] as PromiseRejectedResult).reason as RegistrationRejectedError;
    expect(err).toBeInstanceOf(RegistrationRejectedError);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err.retryable).toBe(false);
    expect(err.context.fieldErrors).toEqual([{ column: 'house', error: expect.stringContaining('is not in the allowed options'), lineNumber: '3' }]);
    const json = JSON.stringify(err.toJSON()) + err.message;
    expect(json).not.toContain('targaryen');
    expect(json).not.toContain('Stark-3');

    expect(runtimeFor(h.ctx).batcher.flushSizes).toEqual([5]);
    const posts = env.sb.apiRequests({ method: 'POST', path: '/api/programs/2/registrations' });
    expect(posts.map((p) => [p.rows, p.status])).toEqual([
      [5, 400],
      [4, 201],
    ]);
    for (const n of [1, 2, 4, 5]) expect(env.sb.registration(deriveReferenceId(`hub-batch-${n}`, 2, 'cw-'))).toBeDefined();
    expect(env.sb.registration(deriveReferenceId('hub-batch-3', 2, 'cw-'))).toBeUndefined();
    for (const s of settled.filter((x) => x.status === 'fulfilled')) {
      expect((s as PromiseFulfilledResult<{ summary?: Record<string, unknown> }>).value.summary?.batchRows).toBe(4);
    }
  });

  it('the batch function upserts many rows in batches of batchSize; each bad row fails alone with its reason', async () => {
    const h = env.harness(undefined, { batchSize: 10 });
    const cases = Array.from({ length: 25 }, (_, i) => ({
      hubId: `hub-many-${i}`,
      case: personCase(i, i === 7 ? { dob: '2031-01-01' } : i === 18 ? { phone: '12' } : {}),
    }));
    // One of them exists already: it is updated, not imported.
    await upsertRows(h.ctx, [
      { referenceId: deriveReferenceId('hub-many-0', 2, 'cw-'), programFspConfigurationName: 'ironBank', fullName: 'Old Name', phoneNumber: '31600000000', house: 'stark' },
    ]);
    env.sb.clearRequests();
    const outcomes = await upsertCases(h.ctx, cases);

    expect(outcomes).toHaveLength(25);
    const failed = outcomes.map((o, i) => (o.ok ? null : i)).filter((i) => i !== null);
    expect(failed).toEqual([7, 18]);
    const bad7 = outcomes[7] as { ok: false; error: Error } as { ok: false; error: RegistrationRejectedError };
    expect(bad7.error.context.fieldErrors).toEqual([{ column: 'dob', error: 'Value is not a valid date', lineNumber: '7' }]);
    const bad18 = outcomes[18] as { ok: false; error: Error } as { ok: false; error: RegistrationRejectedError };
    expect(bad18.error.context.fieldErrors).toEqual([{ column: 'phoneNumber', error: 'PhoneNumber is not valid according to Twilio lookup', lineNumber: '9' }]);
    expect(outcomes[0]).toEqual(expect.objectContaining({ ok: true, outcome: 'updated' }));
    expect(outcomes.filter((o) => o.ok && o.outcome === 'created')).toHaveLength(22);
    expect(env.sb.registrations(2)).toHaveLength(3 + 1 + 22);
    const posts = env.sb.apiRequests({ method: 'POST', path: '/api/programs/2/registrations' });
    expect(posts.map((p) => [p.rows, p.status])).toEqual([
      [9, 400],
      [8, 201],
      [10, 400],
      [9, 201],
      [5, 201],
    ]);
  });

  it('bisects a 400 that names no row', async () => {
    const h = env.harness();
    env.sb.injectFault({ method: 'POST', path: '/api/programs/2/registrations', status: 400, body: { statusCode: 400, message: 'Duplicate referenceIds in import set' } });
    const outcomes = await upsertCases(
      h.ctx,
      [1, 2, 3, 4].map((n) => ({ hubId: `hub-bisect-${n}`, case: personCase(n) })),
    );
    expect(outcomes.every((o) => o.ok && o.outcome === 'created')).toBe(true);
    expect(env.sb.apiRequests({ method: 'POST', path: '/api/programs/2/registrations' }).map((p) => [p.rows, p.status])).toEqual([
      [4, 400],
      [2, 201],
      [2, 201],
    ]);
  });

  it('the same case twice in one batch is imported once and then updated', async () => {
    const h = env.harness();
    const outcomes = await upsertCases(h.ctx, [
      { hubId: 'hub-twice', case: personCase(9) },
      { hubId: 'hub-twice', case: personCase(9, { name: 'Alayne' }) },
    ]);
    expect(outcomes.map((o) => (o.ok ? o.outcome : 'failed'))).toEqual(['created', 'updated']);
    expect(env.sb.registration(deriveReferenceId('hub-twice', 2, 'cw-'))?.fullName).toBe('Alayne Stark-9');
  });

  it('a PATCH refused by 121 rejects the delivery permanently with its field errors', async () => {
    const h = env.harness(undefined, { attributeMapping: { 'person.fullName': 'fullName', 'person.attributes.dragon': 'dragon' } });
    const c = personCase(4);
    (c.parties[0].person as { attributes: Record<string, unknown> }).attributes.dragon = 'many';
    const err = await upsert
      .deliver(deliveryRequest(c, { references: [{ system: 'platform121', id: 'westeros987654321' }] }), h.ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RegistrationRejectedError);
    expect((err as RegistrationRejectedError).context.fieldErrors).toEqual([{ column: 'dragon', error: expect.stringContaining("type 'numeric'") }]);
    expect(JSON.stringify((err as RegistrationRejectedError).toJSON())).not.toContain('many');
  });

  it('refuses a case without programFspConfigurationName, naming the field', async () => {
    const h = env.harness(undefined, { programFspConfigurationName: undefined });
    const err = await upsert.deliver(deliveryRequest(personCase(5)), h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).context.fieldErrors).toEqual([{ field: 'programFspConfigurationName', error: 'required' }]);
    expect(env.sb.apiRequests({ method: 'POST', path: '/registrations' })).toHaveLength(0);
  });

  it('leaves out attributes the program does not know and reports them', async () => {
    const h = env.harness(undefined, { attributeMapping: { 'person.fullName': 'fullName', 'person.gender': 'gender' } });
    const c = personCase(6);
    (c.parties[0].person as { gender?: string }).gender = 'female';
    const result = await upsert.deliver(deliveryRequest(c, { hubId: 'hub-drop' }), h.ctx);
    expect(result.summary?.droppedFields).toBe('gender');
    expect(env.sb.registration(deriveReferenceId('hub-drop', 2, 'cw-'))?.gender).toBeUndefined();
  });
});
