/**
 * Runs the known-slow test files first, longest first, so the workers finish together instead of one of them starting
 * a 60-100 s file when the others are done (jest's own order needs its timing cache, which a fresh clone or CI does
 * not have). The rest follow in jest's order. Weights: each file's share of a whole run (seconds on a loaded 2-core
 * machine, jest --json, 2026-11-30); only their order matters. A file missing here simply runs in jest's order.
 */
const Sequencer = require('@jest/test-sequencer').default;

const SLOW = {
  'test/e2e/cli-start.test.ts': 103,
  'test/faults/faults-worker-kill.test.ts': 90,
  'test/faults/faults.test.ts': 80,
  'adapters/isupport/test/sandbox.test.ts': 83,
  'test/ops/browser-scale.test.ts': 81,
  'adapters/isupport/test/export-source.test.ts': 80,
  'test/e2e/cli-ops.test.ts': 77,
  'test/e2e/cli-start-workers.test.ts': 76,
  'test/ops/browser.test.ts': 65,
  'test/core/redis-unavailable.test.ts': 63,
  'test/e2e/secure-start.test.ts': 56,
  'test/e2e/default-config.test.ts': 53,
  'test/ops/openapi.test.ts': 34,
  'adapters/isupport/test/large-export.test.ts': 26,
  'test/core/intake-integrity.test.ts': 20,
  'test/core/redis-outage.test.ts': 20,
  'test/core/worker-crash.test.ts': 18,
};

class SlowFirstSequencer extends Sequencer {
  sort(tests) {
    const weight = (test) => SLOW[test.path.slice(test.context.config.rootDir.length + 1)] ?? 0;
    const ordered = super.sort([...tests]);
    const index = new Map(ordered.map((t, i) => [t, i]));
    return ordered.slice().sort((a, b) => weight(b) - weight(a) || index.get(a) - index.get(b));
  }
}

module.exports = SlowFirstSequencer;
