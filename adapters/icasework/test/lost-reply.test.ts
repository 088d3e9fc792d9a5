/**
 * Delivery that survives a lost reply, and what a case costs in peer calls: createcase carries the ExternalId, so a
 * retry after a lost createcase reply finds the case by ExternalId; notes carry a marker, so a retry after a lost
 * addcasenotes reply sees the note on the case; a proven first attempt makes no look-up; an oversized reply fails
 * permanently.
 */
import type { DeliveryRequest } from '../../../src/core/adapter';
import { CasewayError } from '../../../src/core/errors';
import { StoreUnavailableError } from '../../../src/core/store/replies';
import { adapter, deliveryRequest, sampleCase, sandboxSuite } from './fixtures';

async function failure(promise: Promise<unknown>): Promise<CasewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CasewayError)) throw new Error(`expected a CasewayError, got ${String(err)}`);
  return err;
}

describe('iCasework: lost replies, calls per case, bounded replies', () => {
  const suite = sandboxSuite();

  const { harness, opsSince } = suite;
  const casesWith = (externalId: string) => suite.sandbox.cases().filter((c) => c.externalId === externalId);

  function first(hubId: string, options: Record<string, unknown>, notes = sampleCase().notes ?? []): DeliveryRequest {
    return deliveryRequest(sampleCase({ notes }), 'createCase', { caseType: 'Complaint', ...options }, { hubId, deliveryId: `d-${hubId}`, earlierAttempts: 0, earlierUncertain: false });
  }

  describe('calls per case on a proven first attempt', () => {
    it('a case without notes costs exactly one call: createcase (no look-up, no updateexternalid, no addcasenotes)', async () => {
      const h = harness();
      const from = suite.sandbox.requests.length;
      const result = await adapter.actions.createCase.deliver(first('hub-calls-1', {}, []), h.ctx);
      expect(opsSince(from)).toEqual(['createcase']);
      expect(result.summary).toMatchObject({ created: true, via: 'createcase', lookedUp: false, externalIdLinked: true, notesAdded: 0 });
      expect(casesWith('hub-calls-1')).toHaveLength(1);
    });

    it('a case with one note costs two calls: createcase and one addcasenotes', async () => {
      const h = harness();
      const from = suite.sandbox.requests.length;
      await adapter.actions.createCase.deliver(first('hub-calls-2', {}, [{ text: 'only note' }]), h.ctx);
      expect(opsSince(from)).toEqual(['createcase', 'addcasenotes']);
    });

    it('the negative: when the hub cannot prove a first attempt (an earlier one started) it looks the case up first', async () => {
      const h = harness();
      const from = suite.sandbox.requests.length;
      const req = { ...first('hub-calls-3', {}, []), attempt: 2, earlierAttempts: 1 };
      await adapter.actions.createCase.deliver(req, h.ctx);
      expect(opsSince(from)).toEqual(['getcasedetails', 'createcase']);
    });

    it('externalIdOnCreate false costs the old extra updateexternalid call', async () => {
      const h = harness();
      const from = suite.sandbox.requests.length;
      await adapter.actions.createCase.deliver(first('hub-calls-4', { externalIdOnCreate: false }, []), h.ctx);
      expect(opsSince(from)).toEqual(['createcase', 'updateexternalid']);
      expect(casesWith('hub-calls-4')).toHaveLength(1);
    });
  });

  describe('a createcase whose reply is lost', () => {
    it('is marked uncertain, and the retry finds the case by ExternalId instead of creating a second one', async () => {
      const h = harness();
      suite.sandbox.failNext('createcase', { dropReply: true });
      const req = first('hub-lost-1', {}, []);
      const err = await failure(adapter.actions.createCase.deliver(req, h.ctx));
      expect(err.retryable).toBe(true);
      expect(err.context.outcome).toBe('uncertain');
      // The peer did act: the case exists, carrying the hub id as its ExternalId.
      expect(casesWith('hub-lost-1')).toHaveLength(1);
      const from = suite.sandbox.requests.length;
      const retry = await adapter.actions.createCase.deliver({ ...req, attempt: 2, earlierAttempts: 1, earlierUncertain: true }, h.ctx);
      expect(retry.summary).toMatchObject({ created: false, via: 'lookup', lookedUp: true });
      expect(retry.references![0].id).toBe(casesWith('hub-lost-1')[0].caseId);
      expect(opsSince(from)).toEqual(['getcasedetails']);
      expect(casesWith('hub-lost-1')).toHaveLength(1);
    });

    it('even when the hub lost its attempt record, the adapter\'s own pending mark makes the retry look first', async () => {
      const h = harness();
      suite.sandbox.failNext('createcase', { dropReply: true });
      const req = first('hub-lost-2', {}, []);
      await failure(adapter.actions.createCase.deliver(req, h.ctx));
      expect(await h.ctx.state.get('created:hub-lost-2')).toBe('pending:d-hub-lost-2');
      const retry = await adapter.actions.createCase.deliver(req, h.ctx); // claims a first attempt again
      expect(retry.summary).toMatchObject({ via: 'lookup' });
      expect(casesWith('hub-lost-2')).toHaveLength(1);
    });

    it('the negative: with externalIdOnCreate false the lost case cannot be found, and a second case is created', async () => {
      const h = harness();
      suite.sandbox.failNext('createcase', { dropReply: true });
      const req = first('hub-lost-3', { externalIdOnCreate: false }, []);
      await failure(adapter.actions.createCase.deliver(req, h.ctx));
      const retry = await adapter.actions.createCase.deliver({ ...req, attempt: 2, earlierAttempts: 1, earlierUncertain: true }, h.ctx);
      expect(retry.summary).toMatchObject({ via: 'createcase', lookedUp: true });
      expect(suite.sandbox.cases().filter((c) => c.fields.Details === sampleCase().summary && c.type === 'Complaint').length).toBeGreaterThan(0);
      expect(casesWith('hub-lost-3')).toHaveLength(1); // only the second got linked; the first is an orphan
    });

    it('a refused createcase (400) leaves no pending mark, so nothing suggests a case may exist', async () => {
      const h = harness();
      await failure(adapter.actions.createCase.deliver(first('hub-lost-4', { caseType: 'NotAType' }, []), h.ctx));
      expect(await h.ctx.state.get('created:hub-lost-4')).toBeNull();
    });
  });

  describe('an addcasenotes whose reply is lost', () => {
    it('the retry reads the case back, finds the note by its marker and does not add it again', async () => {
      const h = harness();
      const notes = [{ text: 'first note' }, { text: 'second note' }];
      suite.sandbox.failNext('addcasenotes', { dropReply: true });
      const req = first('hub-note-1', {}, notes);
      const err = await failure(adapter.actions.createCase.deliver(req, h.ctx));
      expect(err.context.outcome).toBe('uncertain');
      const caseId = casesWith('hub-note-1')[0].caseId;
      expect(suite.sandbox.notes(caseId)).toHaveLength(1); // the peer added it; the hub never heard
      const retry = await adapter.actions.createCase.deliver({ ...req, attempt: 2, earlierAttempts: 1, earlierUncertain: true }, h.ctx);
      expect(retry.summary).toMatchObject({ via: 'state', notesReadBack: true, notesFoundOnCase: 1, notesAdded: 1 });
      expect(suite.sandbox.notes(caseId).map((n) => n.text.split('\n')[0])).toEqual(['first note', 'second note']);
    });

    it('the negative: with noteMarker none the retry cannot tell, and the note is doubled', async () => {
      const h = harness();
      suite.sandbox.failNext('addcasenotes', { dropReply: true });
      const req = first('hub-note-2', { noteMarker: 'none' }, [{ text: 'unmarked note' }]);
      await failure(adapter.actions.createCase.deliver(req, h.ctx));
      await adapter.actions.createCase.deliver({ ...req, attempt: 2, earlierAttempts: 1, earlierUncertain: true }, h.ctx);
      expect(suite.sandbox.notes(casesWith('hub-note-2')[0].caseId).map((n) => n.text)).toEqual(['unmarked note', 'unmarked note']);
    });

    it('noteMarker type puts the marker in the note Type and the read-back still finds it', async () => {
      const h = harness();
      suite.sandbox.failNext('addcasenotes', { dropReply: true });
      const req = first('hub-note-3', { noteMarker: 'type' }, [{ text: 'typed note', type: 'Update' }]);
      await failure(adapter.actions.createCase.deliver(req, h.ctx));
      const retry = await adapter.actions.createCase.deliver({ ...req, attempt: 2, earlierAttempts: 1 }, h.ctx);
      expect(retry.summary).toMatchObject({ notesFoundOnCase: 1, notesAdded: 0 });
      const held = suite.sandbox.notes(casesWith('hub-note-3')[0].caseId);
      expect(held.map((n) => n.text)).toEqual(['typed note']);
      expect(held[0].type).toMatch(/^Update \[caseway:[0-9a-f]{16}\]$/);
    });
  });

  describe('bounded replies', () => {
    it('a reply over maxResponseBytes fails permanently as "reply too large" after one request', async () => {
      const h = harness({ maxResponseBytes: 64 * 1024 });
      suite.sandbox.failNext('createcase', { status: 200, contentType: 'text/xml', body: `<createcaseresponse><caseid>1</caseid>${' '.repeat(256 * 1024)}</createcaseresponse>` });
      const from = suite.sandbox.requests.length;
      const err = await failure(adapter.actions.createCase.deliver(first('hub-big-1', {}, []), h.ctx));
      expect(err.retryable).toBe(false);
      expect(err.code).toBe('REPLY_TOO_LARGE');
      expect(err.message).toContain('reply too large');
      expect(opsSince(from)).toEqual(['createcase']);
    });

    it('the negative: the same reply under the limit is read', async () => {
      const h = harness({ maxResponseBytes: 1024 * 1024 });
      suite.sandbox.failNext('createcase', { status: 200, contentType: 'text/xml', body: `<createcaseresponse><caseid>777001</caseid>${' '.repeat(256 * 1024)}</createcaseresponse>` });
      const result = await adapter.actions.createCase.deliver(first('hub-big-2', {}, []), h.ctx);
      expect(result.references![0].id).toBe('777001');
    });

    it('a read (getcasedetails) over the limit is not retried inside the call either', async () => {
      const h = harness({ maxResponseBytes: 64 * 1024 });
      suite.sandbox.failNext('getcasedetails', { status: 200, contentType: 'text/xml', body: `<Cases>${' '.repeat(256 * 1024)}</Cases>`, times: 3 });
      const from = suite.sandbox.requests.length;
      const err = await failure(adapter.actions.createCase.deliver({ ...first('hub-big-3', {}, []), earlierAttempts: 1 }, h.ctx));
      expect([err.retryable, err.code]).toEqual([false, 'REPLY_TOO_LARGE']);
      expect(opsSince(from)).toEqual(['getcasedetails']);
    });
  });

  describe('the create lock when Redis goes away between its replies', () => {
    it('is given back when the record read beside it fails, so the next attempt creates at once', async () => {
      const h = harness();
      const real = h.ctx.state;
      // The real connection state, except that reading the created-case record fails as when Redis drops the
      // connection after answering the lock's SET (the two are sent together).
      const state = new Proxy(real, {
        get(target, property, receiver) {
          if (property === 'get') return (key: string) => (key.startsWith('created:') ? Promise.reject(new StoreUnavailableError('connection state get', 'Connection is closed.')) : target.get(key));
          const value: unknown = Reflect.get(target, property, receiver);
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      const from = suite.sandbox.requests.length;
      const err = await failure(adapter.actions.createCase.deliver(first('hub-lock-read', {}, []), { ...h.ctx, state }));
      expect(err).toBeInstanceOf(StoreUnavailableError);
      expect(opsSince(from)).toEqual([]);
      // Not "another delivery is creating this case" for the lock's TTL (60 s).
      const result = await adapter.actions.createCase.deliver(first('hub-lock-read', {}, []), h.ctx);
      expect(result.summary).toMatchObject({ created: true, via: 'createcase' });
      expect(casesWith('hub-lock-read')).toHaveLength(1);
    });
  });
});
