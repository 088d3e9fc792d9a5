/**
 * Per-call time of the hot functions of one case, this build against another checkout's build, in one process:
 * the ETD content digest, ETD validation, the iCasework customer parameters and the bench's generated application.
 * Batches of 1,000 calls alternate between the two builds; the fastest batch of each is kept (a shared host only
 * ever adds time), after ten rounds of warm-up. Build both first (`npx tsc -p tsconfig.build.json` in each).
 *   npm run build && bash scripts/node24.sh node dist/bench/ab-calls.js /path/to/other/checkout
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Party } from '../src/core/model/canonical.generated';
import type { JsonObject } from '../adapters/etd/src/json';
import { ROOT } from './lib/harness';

type Call = (i: number) => unknown;

/** The modules compared, typed from this checkout's sources (the other checkout's build is assumed to match). */
interface Modules {
  ids: typeof import('../adapters/etd/src/ids');
  validator: typeof import('../adapters/etd/src/validator');
  params: typeof import('../adapters/icasework/src/params');
  codec: typeof import('../adapters/etd/src/codec');
  harness: typeof import('./lib/harness');
}

function load(root: string): Modules {
  const dist = (p: string): unknown => require(path.join(root, 'dist', p)) as unknown;
  return {
    ids: dist('adapters/etd/src/ids.js') as Modules['ids'],
    validator: dist('adapters/etd/src/validator.js') as Modules['validator'],
    params: dist('adapters/icasework/src/params.js') as Modules['params'],
    codec: dist('adapters/etd/src/codec.js') as Modules['codec'],
    harness: dist('bench/lib/harness.js') as Modules['harness'],
  };
}

const sample = JSON.parse(readFileSync(path.join(ROOT, 'config/samples/etd-application.json'), 'utf8')) as { etdApp: JsonObject & { appDetails: JsonObject } };
const apps = Array.from({ length: 1000 }, (_, i) => {
  const app = structuredClone(sample.etdApp);
  app.appDetails.surname = `Surname${i}`;
  return app;
});

function calls(m: Modules, parties: Party[]): Record<string, Call> {
  const validator = m.validator.createValidator();
  return {
    'ETD content digest': (i) => m.ids.applicationDigest(apps[i % apps.length]),
    'ETD validation': (i) => validator.validate({ etdApp: apps[i % apps.length] }),
    'iCasework customer parameters': (i) => m.params.customerParams(parties[i % parties.length]),
    'bench: one generated application': (i) => m.harness.application(3, i),
  };
}

function main(): void {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/ab-calls.js /path/to/other/checkout');
  const here = load(ROOT);
  // The same parties for both builds: this build's mapping of the applications.
  const meta = { connection: 'etd-form', appRefNumber: 'ETD0000000000', eventId: 'bench', receivedAt: new Date().toISOString() };
  const parties = apps.slice(0, 100).map((app) => here.codec.etdAppToCase(app, meta).parties[0]);
  const sides = { this: calls(here, parties), other: calls(load(path.resolve(other)), parties) };
  const out: Record<string, string> = { date: new Date().toISOString(), node: process.version, other: path.resolve(other) };
  const BATCH = 1000;
  for (const name of Object.keys(sides.this)) {
    const best = { this: Infinity, other: Infinity };
    for (let round = 0; round < 60; round++) {
      for (const side of round % 2 ? (['this', 'other'] as const) : (['other', 'this'] as const)) {
        const call = sides[side][name];
        const started = process.hrtime.bigint();
        for (let i = 0; i < BATCH; i++) call(i);
        const ns = Number(process.hrtime.bigint() - started) / BATCH;
        if (round >= 10 && ns < best[side]) best[side] = ns;
      }
    }
    out[name] = `this ${(best.this / 1000).toFixed(1)} µs, other ${(best.other / 1000).toFixed(1)} µs a call`;
  }
  console.log(JSON.stringify(out, null, 1));
}

main();
