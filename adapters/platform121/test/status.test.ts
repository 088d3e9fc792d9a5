/** setStatus over real HTTP: filtered bulk PATCH only, asynchronous apply confirmed through registration events. */
import { PermanentError, RetryableError } from '../../../src/core/errors';
import { setStatuses } from './batch';
import { StatusNotApplicableError, StatusNotConfirmedError, UnfilteredStatusChangeError } from '../src/errors';
import { runtimeFor } from '../src/runtime';
import { adapter, deliveryRequest, personCase, startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv({ sandbox: { statusApplyDelayMs: 400 } });
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(async () => {
  await env.sb.settle();
  env.sb.reset();
  env.sb.configure({ statusApplyDelayMs: 400 });
});

const setStatus = adapter.actions.setStatus;
const fromSeed = (ref: string) => [{ system: 'platform121', id: ref, kind: 'referenceId' }];

describe('unfiltered status changes are refused', () => {
  it('refuses an empty referenceId list at every layer and sends nothing', async () => {
    const h = env.harness();
    await expect(setStatuses(h.ctx, [], { status: 'included' })).rejects.toBeInstanceOf(UnfilteredStatusChangeError);
    const client = runtimeFor(h.ctx).client;
    await expect(client.changeStatus([], { status: 'included' })).rejects.toBeInstanceOf(UnfilteredStatusChangeError);
    await expect(client.changeStatus([''], { status: 'included' })).rejects.toBeInstanceOf(UnfilteredStatusChangeError);
    await expect(
      client.request({ method: 'PATCH', path: '/programs/2/registrations/status', query: { dryRun: 'false' }, body: { status: 'included' }, operation: 'x', idempotent: true }),
    ).rejects.toBeInstanceOf(UnfilteredStatusChangeError);
    await expect(
      client.request({ method: 'PATCH', path: '/programs/2/registrations/status', query: { 'filter.referenceId': '$in:' }, body: { status: 'included' }, operation: 'x', idempotent: true }),
    ).rejects.toBeInstanceOf(UnfilteredStatusChangeError);
    await expect(
      client.request({ method: 'DELETE', path: '/programs/2/registrations', body: { reason: 'x' }, operation: 'x', idempotent: true }),
    ).rejects.toBeInstanceOf(UnfilteredStatusChangeError);
    const err = await setStatuses(h.ctx, [], { status: 'included' }).catch((e: unknown) => e);
    expect((err as PermanentError).retryable).toBe(false);
    expect((err as PermanentError).context.bug).toBe(true);

    expect(env.sb.apiRequests({ method: 'PATCH' })).toHaveLength(0);
    expect(env.sb.apiRequests({ method: 'DELETE' })).toHaveLength(0);
    expect(env.sb.unfilteredBulkActions).toBe(0);
    expect(env.sb.registrations(2).map((r) => r.status)).toEqual(['new', 'new', 'new']);
  });

  it('(the sandbox, like 121, would apply an unfiltered change to the whole program)', async () => {
    const h = env.harness();
    const client = runtimeFor(h.ctx).client;
    // Bypass the client's guard on purpose to show what the guard prevents.
    const res = await (client as unknown as { http: { request: (c: object) => Promise<{ status: number; data: unknown }> } }).http.request({
      method: 'PATCH',
      url: '/programs/2/registrations/status',
      data: { status: 'included' },
      headers: { Cookie: `access_token_general=${await client.ensureToken()}` },
    });
    expect(res.status).toBe(202);
    expect(res.data).toEqual({ totalFilterCount: 3, applicableCount: 3, nonApplicableCount: 0 });
    await env.sb.settle();
    expect(env.sb.registrations(2).map((r) => r.status)).toEqual(['included', 'included', 'included']);
    expect(env.sb.unfilteredBulkActions).toBe(1);
  });
});

describe('setStatus', () => {
  it('PATCHes with a referenceId filter and confirms the asynchronous change through events before resolving', async () => {
    const h = env.harness();
    const started = Date.now();
    const result = await setStatus.deliver(
      deliveryRequest(personCase(1), { action: 'setStatus', options: { status: 'included' }, references: fromSeed('westeros123456789') }),
      h.ctx,
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(380);
    expect(env.sb.registration('westeros123456789')?.status).toBe('included');
    const event = env.sb.events({ referenceId: 'westeros123456789', type: 'registrationStatusChange' }).at(-1);
    expect(event).toEqual(expect.objectContaining({ oldValue: 'new', newValue: 'included', username: 'admin@example.org' }));
    expect(result.summary).toEqual({
      referenceId: 'westeros123456789',
      outcome: 'changed',
      previousStatus: 'new',
      status: 'included',
      confirmed: true,
      eventId: event?.id,
    });
    expect(result.references).toEqual([{ system: 'platform121', connection: h.ctx.connection.name, id: 'westeros123456789', kind: 'referenceId' }]);
    const patch = env.sb.apiRequests({ method: 'PATCH', path: '/registrations/status' });
    expect(patch).toHaveLength(1);
    expect(patch[0].query).toEqual({ dryRun: 'false', 'filter.referenceId': '$in:westeros123456789' });
    expect(patch[0].status).toBe(202);
    const polls = env.sb.apiRequests({ method: 'GET', path: '/registration-events' });
    expect(polls.length).toBeGreaterThanOrEqual(2);
    // The first polls came before 121 had applied the change; the last one saw it.
    expect(polls[0].at).toBeLessThan((event ? Date.parse(event.created) : 0));
    expect(polls.at(-1)?.status).toBe(200);
    expect(polls.every((p) => p.query.referenceId === 'westeros123456789')).toBe(true);
    // The other registrations were not touched.
    expect(env.sb.registration('westeros987654321')?.status).toBe('new');
  });

  it('declined needs a reason; the route reason is stored on the event', async () => {
    const h = env.harness();
    const noReason = await setStatus
      .deliver(deliveryRequest(personCase(1), { options: { status: 'declined' }, references: fromSeed('westeros987654321') }), h.ctx)
      .catch((e: unknown) => e);
    expect(noReason).toBeInstanceOf(PermanentError);
    expect((noReason as PermanentError).context.fieldErrors).toEqual([{ field: 'reason', error: 'required for declined and paused' }]);
    expect(env.sb.apiRequests({ method: 'PATCH' })).toHaveLength(0);

    await setStatus.deliver(
      deliveryRequest(personCase(1), { options: { status: 'declined', reason: 'Duplicate of another registration' }, references: fromSeed('westeros987654321') }),
      h.ctx,
    );
    expect(env.sb.registration('westeros987654321')?.status).toBe('declined');
    expect(env.sb.events({ referenceId: 'westeros987654321', type: 'registrationStatusChange' }).at(-1)?.reason).toBe('Duplicate of another registration');
  });

  it('takes status and reason from the case when the route gives none', async () => {
    const h = env.harness();
    const c = { ...personCase(1), status: 'paused', events: [{ type: 'status-change', reason: 'Under investigation' }] };
    const result = await setStatus.deliver(deliveryRequest(c, { references: fromSeed('westeros135792468') }), h.ctx);
    expect(result.summary?.status).toBe('paused');
    expect(env.sb.events({ referenceId: 'westeros135792468', type: 'registrationStatusChange' }).at(-1)?.reason).toBe('Under investigation');
  });

  it('is idempotent: a retry after the change went through succeeds without a second PATCH', async () => {
    const h = env.harness();
    const req = deliveryRequest(personCase(1), { options: { status: 'validated' }, references: fromSeed('westeros123456789') });
    await setStatus.deliver(req, h.ctx);
    const again = await setStatus.deliver({ ...req, attempt: 2 }, h.ctx);
    expect(again.summary?.outcome).toBe('unchanged');
    expect(env.sb.apiRequests({ method: 'PATCH' })).toHaveLength(1);
  });

  it('a transition 121 would skip silently is a permanent error, and nothing is sent', async () => {
    const h = env.harness();
    env.sb.portalChangeStatus('westeros123456789', 'declined', 'fraud');
    const err = await setStatus
      .deliver(deliveryRequest(personCase(1), { options: { status: 'validated' }, references: fromSeed('westeros123456789') }), h.ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusNotApplicableError);
    expect((err as StatusNotApplicableError).context).toEqual(expect.objectContaining({ fromStatus: 'declined', toStatus: 'validated' }));
    expect(env.sb.apiRequests({ method: 'PATCH' })).toHaveLength(0);
  });

  it('a status that cannot be set via the API is refused before sending', async () => {
    const h = env.harness();
    const err = await setStatus
      .deliver(deliveryRequest({ ...personCase(1), status: 'completed' }, { references: fromSeed('westeros123456789') }), h.ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).context.fieldErrors).toEqual([{ field: 'status', error: 'not settable via the API' }]);
    expect(env.sb.apiRequests({ method: 'PATCH' })).toHaveLength(0);
  });

  it('an unconfirmed change within the timeout is retryable, and the retry then succeeds', async () => {
    env.sb.configure({ statusApplyDelayMs: 1500 });
    const h = env.harness();
    const req = deliveryRequest(personCase(1), { options: { status: 'included', confirmTimeoutMs: 300 }, references: fromSeed('westeros123456789') });
    const err = await setStatus.deliver(req, h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StatusNotConfirmedError);
    expect(err).toBeInstanceOf(RetryableError);
    expect(env.sb.registration('westeros123456789')?.status).toBe('new');
    await env.sb.settle();
    const retry = await setStatus.deliver({ ...req, attempt: 2 }, h.ctx);
    expect(retry.summary).toEqual(expect.objectContaining({ outcome: 'unchanged', status: 'included', confirmed: true }));
  });

  it('an unknown registration is a permanent error', async () => {
    const h = env.harness();
    const err = await setStatus
      .deliver(deliveryRequest(personCase(1), { options: { status: 'included' }, references: fromSeed('nobody-12345') }), h.ctx)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as PermanentError).message).toContain('not found');
  });

  it('a registration not created yet (referenceId derived from the hub id) is retryable', async () => {
    const h = env.harness();
    const err = await setStatus.deliver(deliveryRequest(personCase(1), { hubId: 'hub-not-yet', options: { status: 'included' } }), h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RetryableError);
    expect((err as RetryableError).message).toContain('not created yet');
  });

  it('the batch function changes many registrations with one filtered PATCH and confirms each', async () => {
    const h = env.harness();
    const outcomes = await setStatuses(h.ctx, ['westeros123456789', 'westeros987654321', 'westeros135792468'], { status: 'included' });
    expect(outcomes.map((o) => (o.ok ? o.outcome : 'failed'))).toEqual(['changed', 'changed', 'changed']);
    expect(outcomes.every((o) => o.ok && o.confirmed)).toBe(true);
    const patch = env.sb.apiRequests({ method: 'PATCH' });
    expect(patch).toHaveLength(1);
    expect(patch[0].query['filter.referenceId']).toBe('$in:westeros123456789,westeros987654321,westeros135792468');
  });
});
