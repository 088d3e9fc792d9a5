/** addNote over real HTTP: one POST per note, never twice, also across retries after partial success. */
import { PeerError } from '../../../src/core/errors';
import { eventually } from '../../../test/helpers/hub';
import type { Note } from '../../../src/core/model/canonical.generated';
import { adapter, deliveryRequest, personCase, startEnv, type TestEnv } from './setup';

let env: TestEnv;

beforeAll(async () => {
  env = await startEnv();
});
afterAll(async () => {
  await env.teardown();
});
beforeEach(() => env.sb.reset());

const addNote = adapter.actions.addNote;
const REF = 'westeros123456789';

function noteRequest(notes: Note[], over: Record<string, unknown> = {}) {
  return deliveryRequest({ ...personCase(1), notes }, {
    action: 'addNote',
    references: [{ system: 'platform121', id: REF, kind: 'referenceId' }],
    ...over,
  });
}

describe('addNote', () => {
  it('posts each note as its own {text}', async () => {
    const h = env.harness();
    const result = await addNote.deliver(noteRequest([{ text: 'Called the person, no answer' }, { text: 'Letter sent' }], { options: { prefix: '[iCasework] ' } }), h.ctx);
    expect(result.summary).toEqual({ referenceId: REF, notesPosted: 2, notesSkipped: 0, notesVerified: 0 });
    expect(env.sb.notes(REF).map((n) => n.text)).toEqual(['[iCasework] Called the person, no answer', '[iCasework] Letter sent']);
    expect(env.sb.notes(REF).every((n) => n.username === 'admin@example.org')).toBe(true);
    const posts = env.sb.apiRequests({ method: 'POST', path: `/registrations/${REF}/notes` });
    expect(posts.map((p) => p.status)).toEqual([201, 201]);
  });

  it('a retry of the same delivery posts nothing again', async () => {
    const h = env.harness();
    const req = noteRequest([{ text: 'First' }, { text: 'Second' }]);
    await addNote.deliver(req, h.ctx);
    const again = await addNote.deliver({ ...req, attempt: 2 }, h.ctx);
    expect(again.summary).toEqual(expect.objectContaining({ notesPosted: 0, notesSkipped: 2 }));
    expect(env.sb.notes(REF)).toHaveLength(2);
  });

  it('after a partial success (5xx on the second note) the retry posts only the missing notes', async () => {
    const h = env.harness();
    env.sb.injectFault({ method: 'POST', path: '/notes', status: 503, after: 1 });
    const req = noteRequest([{ text: 'One' }, { text: 'Two' }, { text: 'Three' }], { deliveryId: 'd-partial' });
    const first = await addNote.deliver(req, h.ctx).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(PeerError);
    expect((first as PeerError).retryable).toBe(true);
    expect(env.sb.notes(REF).map((n) => n.text)).toEqual(['One']);

    const second = await addNote.deliver({ ...req, attempt: 2 }, h.ctx);
    expect(second.summary).toEqual(expect.objectContaining({ notesPosted: 2, notesSkipped: 1, notesVerified: 0 }));
    expect(env.sb.notes(REF).map((n) => n.text)).toEqual(['One', 'Two', 'Three']);
    // "Two" had an unclear outcome (5xx): the retry looked at the activities before posting it again.
    expect(env.sb.apiRequests({ method: 'GET', path: '/activities' })).toHaveLength(1);
    expect(env.sb.apiRequests({ method: 'POST', path: '/notes' }).map((p) => p.status)).toEqual([201, 503, 201, 201]);
  });

  it('a lost reply (timeout after 121 stored the note) is detected through activities: no double post', async () => {
    const h = env.harness(undefined, { timeoutMs: 300 });
    const req = noteRequest([{ text: 'Alpha' }, { text: 'Beta' }], { deliveryId: 'd-lost' });
    await addNote.deliver(noteRequest([{ text: 'Alpha' }], { deliveryId: 'd-lost' }), h.ctx);
    // "Beta": 121 handles it after 600 ms, but the client gave up after 300 ms.
    env.sb.injectFault({ method: 'POST', path: '/notes', delayMs: 600 });
    const first = await addNote.deliver(req, h.ctx).catch((e: unknown) => e);
    expect(first).toBeInstanceOf(PeerError);
    expect((first as PeerError).retryable).toBe(true);
    await eventually(async () => env.sb.notes(REF).length >= 2, 10000, '121 to store the late note');
    expect(env.sb.notes(REF).map((n) => n.text)).toEqual(['Alpha', 'Beta']);
    const retry = await addNote.deliver({ ...req, attempt: 2 }, h.ctx);
    expect(retry.summary).toEqual(expect.objectContaining({ notesPosted: 0, notesSkipped: 2, notesVerified: 1 }));
    expect(env.sb.notes(REF).map((n) => n.text)).toEqual(['Alpha', 'Beta']);
    expect(env.sb.apiRequests({ method: 'GET', path: '/activities' })).toHaveLength(1);
  });

  it('a note with an id is posted once per registration, whatever delivery carries it again', async () => {
    const h = env.harness();
    await addNote.deliver(noteRequest([{ id: 'n1', text: 'Visited' }], { deliveryId: 'case-update-1' }), h.ctx);
    const later = await addNote.deliver(noteRequest([{ id: 'n1', text: 'Visited' }, { id: 'n2', text: 'Documents received' }], { deliveryId: 'case-update-2' }), h.ctx);
    expect(later.summary).toEqual(expect.objectContaining({ notesPosted: 1, notesSkipped: 1 }));
    expect(env.sb.notes(REF).map((n) => n.text)).toEqual(['Visited', 'Documents received']);
  });

  it('an unknown referenceId is a permanent error ({"errors"} 404) and can be retried later without a stale ledger', async () => {
    const h = env.harness();
    const req = noteRequest([{ text: 'Orphan' }], { references: [{ system: 'platform121', id: 'unknown-ref-9', kind: 'referenceId' }] });
    const err = await addNote.deliver(req, h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerError);
    expect((err as PeerError).status).toBe(404);
    expect((err as PeerError).retryable).toBe(false);
    // The 404 surely stored nothing: a later try posts again without first checking the activities.
    await addNote.deliver(req, h.ctx).catch((e: unknown) => e);
    expect(env.sb.apiRequests({ method: 'POST', path: '/notes' }).map((p) => p.status)).toEqual([404, 404]);
    expect(env.sb.apiRequests({ method: 'GET', path: '/activities' })).toHaveLength(0);
  });

  it('a registration not created yet (referenceId derived from the hub id) is retryable', async () => {
    const h = env.harness();
    const err = await addNote.deliver(noteRequest([{ text: 'Early' }], { references: [], hubId: 'hub-early' }), h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as { retryable: boolean }).retryable).toBe(true);
    expect((err as Error).message).toContain('not created yet');
  });

  it('no notes: nothing to do', async () => {
    const h = env.harness();
    const result = await addNote.deliver(noteRequest([]), h.ctx);
    expect(result.summary).toEqual(expect.objectContaining({ notesPosted: 0, notesSkipped: 0 }));
    expect(env.sb.apiRequests({ method: 'POST', path: '/notes' })).toHaveLength(0);
  });
});
