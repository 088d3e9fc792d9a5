/** A peer that accepts everything instantly, so the benchmark measures the hub, not a peer. */
import { defineAdapter } from '../../../src/core/adapter';

export default defineAdapter<Record<string, never>>({
  name: 'sink',
  title: 'Benchmark sink',
  settingsSchema: { type: 'object' },
  actions: {
    accept: {
      description: 'Accepts the case and returns.',
      async deliver(request) {
        return { summary: { ok: true, deliveryId: request.deliveryId } };
      },
    },
  },
  sources: {
    feed: {
      kind: 'poll',
      description: 'Never polled on its own: the benchmark calls intake directly, as a source would.',
      defaultIntervalMs: 24 * 3600 * 1000,
      async poll() {
        return { emitted: 0 };
      },
    },
  },
});
