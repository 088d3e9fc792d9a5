/** A peer that accepts everything instantly, so the benchmark measures the hub, not a peer. */
import { defineAdapter } from '../../../src/core/adapter';

export const sinkCounter = { delivered: 0 };

export default defineAdapter<Record<string, never>>({
  name: 'sink',
  title: 'Benchmark sink',
  settingsSchema: { type: 'object' },
  actions: {
    accept: {
      description: 'Counts the case and returns.',
      async deliver(request) {
        sinkCounter.delivered += 1;
        return { summary: { ok: true, deliveryId: request.deliveryId } };
      },
    },
  },
  sources: {},
});
