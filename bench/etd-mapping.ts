/**
 * What the ETD adapter's intake work costs per application, in the process alone (no HTTP, no Redis): validation,
 * the content digest (the event id and appRefNumber) and the mapping to a canonical case, each timed over 1,000
 * distinct applications (the bench's sample with a different surname each), after a warm-up. Also the host's
 * speed in one figure (JSON parse + stringify + sha256 of the sample), printed before and after, because a shared
 * host's speed moves from minute to minute: compare builds by alternating runs, in the same minutes.
 *   npm run build && bash scripts/node24.sh node dist/bench/etd-mapping.js
 *   ETD_MAPPING_ROUNDS=20000   (timed calls per figure)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { etdAppToCase } from '../adapters/etd/src/codec';
import { applicationDigest } from '../adapters/etd/src/ids';
import type { JsonObject } from '../adapters/etd/src/json';
import { createValidator } from '../adapters/etd/src/validator';
import { ROOT } from './lib/harness';

const ROUNDS = Number(process.env.ETD_MAPPING_ROUNDS ?? 20000);
const sampleText = readFileSync(path.join(ROOT, 'config/samples/etd-application.json'), 'utf8');
const sample = JSON.parse(sampleText) as { etdApp: JsonObject & { appDetails: JsonObject } };

/** Microseconds per call of fn over `rounds` calls, after a warm-up of a tenth as many. */
function perCall(fn: (i: number) => unknown, rounds = ROUNDS): number {
  for (let i = 0; i < rounds / 10; i++) fn(i);
  const started = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) fn(i);
  return Number(process.hrtime.bigint() - started) / rounds / 1000;
}

function hostProbe(): number {
  return perCall(() => createHash('sha256').update(JSON.stringify(JSON.parse(sampleText))).digest(), 5000);
}

function main(): void {
  const apps = Array.from({ length: 1000 }, (_, i) => {
    const app = structuredClone(sample);
    app.etdApp.appDetails.surname = `Surname${i}`;
    return app;
  });
  const validator = createValidator();
  const meta = { connection: 'etd', appRefNumber: 'ETD0000000001', eventId: 'bench', receivedAt: '2026-11-30T00:00:00.000Z' };
  const before = hostProbe();
  const result = {
    rounds: ROUNDS,
    node: process.version,
    hostProbeUsBefore: before.toFixed(1),
    validateUs: perCall((i) => validator.validate(apps[i % apps.length])).toFixed(1),
    digestUs: perCall((i) => applicationDigest(apps[i % apps.length].etdApp)).toFixed(1),
    etdAppToCaseUs: perCall((i) => etdAppToCase(apps[i % apps.length].etdApp, meta)).toFixed(1),
    stringifyCaseUs: ((c) => perCall(() => JSON.stringify(c)).toFixed(1))(etdAppToCase(apps[0].etdApp, meta)),
    hostProbeUsAfter: hostProbe().toFixed(1),
  };
  process.stdout.write(`${JSON.stringify(result, null, 1)}\n`);
}

main();
