/**
 * Documented value rules enforced before sending: Customer.ContactLanguage / ContactLanguage held to ISO 639-1
 * (locale tags reduced to their two letters, anything else refused permanently, naming the field but never the
 * value), against the sandbox, which checks languages with ICU's names, independently of the adapter's list.
 */
import { CasewayError } from '../../../src/core/errors';
import { isIso6391 } from '../sandbox/server';
import { ISO_639_1, ruleViolations, toContactLanguage } from '../src/rules';
import { adapter, deliveryRequest, sampleCase, sandboxSuite, settingsFor } from './fixtures';

async function failure(promise: Promise<unknown>): Promise<CasewayError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof CasewayError)) throw new Error(`expected a CasewayError, got ${String(err)}`);
  return err;
}

function withLanguage(language: string) {
  const c = sampleCase({ notes: [], documents: [] });
  c.parties[1].person!.language = language;
  return c;
}

describe('ContactLanguage: ISO 639-1', () => {
  const suite = sandboxSuite();
  const harness = () => suite.harness();
  const lastCreate = () => suite.sandbox.requests.filter((r) => r.op === 'createcase').pop()!;

  it("the adapter's list and the sandbox's ICU check agree on every two-letter combination", () => {
    expect(ISO_639_1.size).toBe(184);
    for (let a = 97; a < 123; a++) {
      for (let b = 97; b < 123; b++) {
        const code = String.fromCharCode(a, b);
        expect([code, ISO_639_1.has(code)]).toEqual([code, isIso6391(code)]);
      }
    }
  });

  it.each([
    ['fr', 'fr'],
    ['FR', 'fr'],
    ['fr-FR', 'fr'],
    ['en_GB', 'en'],
    ['zh-Hant-TW', 'zh'],
  ])('%s is sent as %s and accepted', async (given, sent) => {
    const h = harness();
    const hubId = `hub-lang-${given}`;
    await adapter.actions.createCase.deliver(deliveryRequest(withLanguage(given), 'createCase', { caseType: 'Complaint' }, { hubId, earlierAttempts: 0 }), h.ctx);
    expect([lastCreate().params['Customer.ContactLanguage'], lastCreate().status]).toEqual([sent, 200]);
  });

  it.each([
    ['French', 1],
    ['fra', 2],
    ['xx', 3],
    ['iw', 4],
    ['f', 5],
  ])('%s is a permanent error naming Customer.ContactLanguage, and nothing is sent', async (given, n) => {
    const h = harness();
    const from = suite.sandbox.requests.length;
    const err = await failure(adapter.actions.createCase.deliver(deliveryRequest(withLanguage(given), 'createCase', { caseType: 'Complaint' }, { hubId: `hub-badlang-${n}` }), h.ctx));
    expect(err.retryable).toBe(false);
    expect(err.context.field).toBe('Customer.ContactLanguage');
    expect(err.message).toContain('Customer.ContactLanguage');
    expect(err.message).toContain('ISO 639-1');
    expect(err.toJSON()).toMatchObject({ field: 'Customer.ContactLanguage', retryable: false });
    if (given.length > 2) {
      expect(err.message).not.toContain(given);
      expect(JSON.stringify(err.toJSON())).not.toContain(given);
    }
    expect(suite.sandbox.requests.length).toBe(from);
    expect(await h.ctx.state.get(`created:hub-badlang-${n}`)).toBeNull();
  });

  it('a value from party.extensions.icasework is held to the same rule; updatecustomer names ContactLanguage', async () => {
    const h = harness();
    const c = sampleCase();
    c.parties[1].extensions = { icasework: { ContactLanguage: 'Nederlands' } };
    const from = suite.sandbox.requests.length;
    const err = await failure(adapter.actions.updateCustomer.deliver(deliveryRequest(c, 'updateCustomer', {}), h.ctx));
    expect([err.retryable, err.context.field]).toEqual([false, 'ContactLanguage']);
    expect(err.message).not.toContain('Nederlands');
    expect(suite.sandbox.requests.length).toBe(from);
    c.parties[1].extensions = { icasework: { ContactLanguage: 'nl-BE' } };
    await adapter.actions.updateCustomer.deliver(deliveryRequest(c, 'updateCustomer', {}), h.ctx);
    expect(suite.sandbox.requests.filter((r) => r.op === 'updatecustomer').pop()!.params.ContactLanguage).toBe('nl');
  });

  it('the negative: the sandbox itself refuses a bad language, so a missing check in the adapter would show', async () => {
    expect(ruleViolations({ 'Customer.ContactLanguage': 'French' })).toHaveLength(1);
    expect(ruleViolations({ 'Customer.ContactLanguage': 'fr', 'Document1.URL': 'x'.repeat(500) })).toEqual([]);
    expect(toContactLanguage('French')).toBe('French');
    const h = harness();
    const { IcaseworkClient } = await import('../src/client');
    const client = new IcaseworkClient(h.ctx, settingsFor(suite.sandbox));
    const err = await failure(client.createCase({ Type: 'Complaint', 'Customer.Surname': 'X', 'Customer.ContactLanguage': 'French' }));
    expect(err.context.peerCode).toBe('10012');
  });
});
