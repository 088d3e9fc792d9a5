/** The fault suite's count at the webhook receiver: by webhook-id, a folded repeat is not a duplicate, a second id is. */
import { tally, tallyWebhook } from '../../bench/lib/harness';
import { tokenOf } from '../../bench/lib/fault-proxy';

const [a, b, c] = [tokenOf(5, 1), tokenOf(5, 2), tokenOf(5, 3)];

test('one stored record per application, each arriving once: nothing doubled, nothing redelivered, nothing lost', () => {
  const t = tallyWebhook([a, b], { stored: [{ webhookId: 'd-1', arrivals: 1, token: a }, { webhookId: 'd-2', arrivals: 1, token: b }], requests: 2, invalidSignatures: 0 });
  expect(t).toEqual({ received: 2, distinctIds: 2, duplicates: 0, redelivered: 0, lost: 0, lostTokens: [], invalidSignatures: 0 });
});

test('the same webhook-id arriving three times and stored once is redelivered twice, not a duplicate', () => {
  const t = tallyWebhook([a], { stored: [{ webhookId: 'd-1', arrivals: 3, token: a }], requests: 3, invalidSignatures: 0 });
  expect(t).toMatchObject({ received: 3, distinctIds: 1, duplicates: 0, redelivered: 2, lost: 0 });
});

test('one application stored under a second webhook-id is a duplicate (the receiver made two records)', () => {
  const t = tallyWebhook([a], { stored: [{ webhookId: 'd-1', arrivals: 1, token: a }, { webhookId: 'd-9', arrivals: 1, token: a }], requests: 2, invalidSignatures: 0 });
  expect(t).toMatchObject({ distinctIds: 2, duplicates: 1, redelivered: 0, lost: 0 });
});

test('one webhook-id stored twice is a duplicate too', () => {
  const t = tallyWebhook([a], { stored: [{ webhookId: 'd-1', arrivals: 1, token: a }, { webhookId: 'd-1', arrivals: 1, token: a }], requests: 2, invalidSignatures: 0 });
  expect(t).toMatchObject({ distinctIds: 1, duplicates: 1, redelivered: 0 });
});

test('an acknowledged application with no stored delivery is lost at the webhook and in the overall count; refused signatures are counted', () => {
  const report = { stored: [{ webhookId: 'd-1', arrivals: 1, token: a }, { webhookId: 'd-3', arrivals: 1 }], requests: 4, invalidSignatures: 2 };
  expect(tallyWebhook([a, c], report)).toMatchObject({ lost: 1, lostTokens: [c], invalidSignatures: 2 });
  // Both other peers have every application: the overall count still says c was not delivered everywhere.
  const icw = [a, c].map((token, i) => ({ op: 'createcase', token, caseId: String(i), forwarded: true, status: 200, replyLost: false }));
  const etd = [a, c].map((token) => ({ op: 'application', token, forwarded: true, status: 200, replyLost: false }));
  expect(tally([a, c], icw, etd, true, report)).toMatchObject({ delivered: 1, lost: 1, lostTokens: [c] });
  const withoutWebhook = tally([a, c], icw, etd);
  expect(withoutWebhook).toMatchObject({ delivered: 2, lost: 0 });
  expect(withoutWebhook).not.toHaveProperty('webhook');
});
