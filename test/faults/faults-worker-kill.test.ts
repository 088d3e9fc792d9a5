/**
 * The fault suite's worker-kill scenario (see faults.test.ts), in a file of its own: its redeliveries wait out the
 * iCasework create lock (60 s) that the killed workers held, so it runs beside the other scenarios, not after them.
 */
import { expectExactlyOnce, scenario } from './support';

jest.setTimeout(240000);

// Deliveries in flight when a worker dies are redone after the stall, after the peers already acted.
test('both workers SIGKILLed while the peers have acted: the redelivery creates nothing twice', async () => {
  const r = await scenario('worker-kill');
  expectExactlyOnce(r);
});
