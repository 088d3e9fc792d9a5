/** What the fault tests share: the options (40 applications a scenario), a scenario run in its own folder, and the exactly-once check. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runScenario, TEST_SCENARIOS, type ScenarioResult, type SuiteOptions } from '../../bench/faults/scenarios';

export const OPTIONS: SuiteOptions = { cases: 40, parallel: 20, downMs: 3000, drainMs: 150000 };
let run = 700 + (Date.now() % 200);

export async function scenario(key: string): Promise<ScenarioResult> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `caseway-faults-test-${key}-`));
  try {
    return await runScenario(TEST_SCENARIOS[key], OPTIONS, dir, run++);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Everything acknowledged reached every peer exactly once, nothing dead-lettered, the queues drained. */
export function expectExactlyOnce(r: ScenarioResult): void {
  expect(r.error).toBeUndefined();
  expect(r.tally.acked).toBe(OPTIONS.cases);
  expect(r.drainSeconds).toBeDefined();
  const w = r.tally.webhook;
  expect({
    lost: r.tally.lost,
    dupIcasework: r.tally.dupIcwCases,
    doubledNotes: r.tally.doubledNotes,
    dupIizuka: r.tally.dupIizuka,
    deadLetters: r.deadLetters,
    webhook: w && { ids: w.distinctIds, duplicates: w.duplicates, lost: w.lost, invalidSignatures: w.invalidSignatures },
  }).toEqual({
    lost: 0,
    dupIcasework: 0,
    doubledNotes: 0,
    dupIizuka: 0,
    deadLetters: 0,
    webhook: { ids: OPTIONS.cases, duplicates: 0, lost: 0, invalidSignatures: 0 },
  });
}
