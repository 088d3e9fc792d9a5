/**
 * The fault suite (`npm run faults`): real hub processes, a private Redis with AOF, the iCasework and IIZUKA sandboxes
 * and the webhook sandbox receiver as separate processes behind the fault proxy, all on loopback. Per scenario it posts unique ETD applications
 * (20 at a time, retried until acknowledged as a form would), injects the fault, waits for the delivery queues to
 * drain, and counts at the peers what they acted on. Prints one table (also written to docs/faults-latest.md) and
 * exits 1 when any scenario lost or doubled anything.
 *   FAULTS_CASES=1000 FAULTS_PARALLEL=20 FAULTS_DOWN_MS=60000 FAULTS_DRAIN_S=300 npm run faults
 *   FAULTS_SCENARIOS=baseline,peer-faults npm run faults      a subset
 *   FAULTS_OUT=docs/faults-latest.md                          where the table goes ('' for nowhere)
 *   FAULTS_START_S=120                                        how long a hub process may take to start
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { runScenario, SCENARIOS, type ScenarioResult, type SuiteOptions } from './scenarios';
import { gitHead, gitLine, machine, ROOT } from '../lib/harness';

function table(results: ScenarioResult[]): string {
  const head =
    '| scenario | acked | delivered | dup IIZUKA | dup iCW cases | doubled iCW notes | IIZUKA retries w/o one key | IIZUKA re-sent with one key' +
    ' | webhook received | webhook ids | dup webhook | webhook redelivered | lost at webhook | invalid signatures | dead letters | lost | drain s | stack-trace lines | notes |';
  const rows = results.map((r) => {
    const w = r.tally.webhook;
    return [
      r.name,
      r.tally.acked,
      r.tally.delivered,
      r.tally.dupIizuka,
      r.tally.dupIcwCases,
      r.tally.doubledNotes,
      r.tally.iizukaKeyUnstable,
      r.tally.iizukaSameKeyResends,
      w?.received ?? '-',
      w?.distinctIds ?? '-',
      w?.duplicates ?? '-',
      w?.redelivered ?? '-',
      w?.lost ?? '-',
      w?.invalidSignatures ?? '-',
      r.deadLetters,
      r.tally.lost,
      r.drainSeconds === undefined ? 'timeout' : r.drainSeconds.toFixed(1),
      r.stackLines,
      r.notes.join('; ') || '',
    ].join(' | ');
  });
  return [head, `|${'---|'.repeat(19)}`, ...rows.map((r) => `| ${r} |`)].join('\n');
}

export function failed(r: ScenarioResult): boolean {
  const w = r.tally.webhook;
  const webhookBad = !w || w.lost > 0 || w.duplicates > 0 || w.invalidSignatures > 0;
  return r.tally.lost > 0 || r.tally.dupIizuka > 0 || r.tally.dupIcwCases > 0 || r.tally.doubledNotes > 0 || webhookBad || r.deadLetters > 0 || r.drainSeconds === undefined || r.error !== undefined;
}

async function main(): Promise<void> {
  const options: SuiteOptions = {
    cases: Number(process.env.FAULTS_CASES ?? 1000),
    parallel: Number(process.env.FAULTS_PARALLEL ?? 20),
    downMs: Number(process.env.FAULTS_DOWN_MS ?? 60000),
    drainMs: Number(process.env.FAULTS_DRAIN_S ?? 300) * 1000,
  };
  const wanted = process.env.FAULTS_SCENARIOS?.split(',').map((s) => s.trim()).filter(Boolean);
  const scenarios = SCENARIOS.filter((s) => !wanted || wanted.includes(s.key));
  const started = new Date();
  // Read now: the build under test is what was checked out when the run began, not when it ended.
  const head = gitHead();
  const results: ScenarioResult[] = [];
  for (const [i, scenario] of scenarios.entries()) {
    const dir = mkdtempSync(path.join(os.tmpdir(), `caseway-faults-${scenario.key}-`));
    process.stderr.write(`faults: ${scenario.key} (${options.cases} applications)...\n`);
    try {
      const r = await runScenario(scenario, options, dir, i + 1);
      results.push(r);
      const w = r.tally.webhook;
      const hook = w ? `, webhook ${w.distinctIds} ids / ${w.duplicates} dup / ${w.redelivered} redelivered / ${w.lost} lost / ${w.invalidSignatures} bad signatures` : '';
      process.stderr.write(`faults: ${scenario.key}: acked ${r.tally.acked}, delivered ${r.tally.delivered}, lost ${r.tally.lost}${hook}, dead letters ${r.deadLetters}${r.error ? `, error: ${r.error}` : ''}\n`);
      if (r.tally.lostTokens.length) process.stderr.write(`faults:   first lost: ${r.tally.lostTokens.slice(0, 5).join(' ')}\n`);
    } finally {
      if (!process.env.FAULTS_KEEP) rmSync(dir, { recursive: true, force: true });
    }
  }
  const command = `FAULTS_CASES=${options.cases} FAULTS_PARALLEL=${options.parallel} FAULTS_DOWN_MS=${options.downMs}${wanted ? ` FAULTS_SCENARIOS=${wanted.join(',')}` : ''} npm run faults`;
  const redisVersion = redisServerVersion();
  const text = [
    `# Fault suite: last run`,
    '',
    `- Date: ${started.toISOString()}`,
    `- Machine: ${machine()}; ${redisVersion}`,
    `- Command: \`${command}\``,
    `- Git: ${gitLine(head)}`,
    '',
    table(results),
    '',
    'Columns: *acked* = HTTP 200 on `POST /etd/application` (each application retried on 5xx/no answer until 200);',
    '*delivered* = acknowledged and acted on by all three peers (an iCasework case created, IIZUKA answered 2xx for the',
    'application, the webhook receiver stored it); duplicates are counted at the peers by the fault proxy in front of them (every request the peer',
    'answered 2xx, reply lost or not): *dup IIZUKA* = extra accepted POST /application per application that did not carry',
    'the Idempotency-Key of an earlier accepted one (the sandbox files every accepted POST, identical bodies included,',
    'as the spec defines no de-duplication; *IIZUKA re-sent with one key* counts the re-sends a peer honouring the key folds), *dup iCW cases* = extra createcase per',
    'application, *doubled iCW notes* = the same note added to the same case again; *IIZUKA retries w/o one key* =',
    'applications sent to IIZUKA more than once whose attempts did not all carry one Idempotency-Key.',
    'The webhook peer (route etd-to-webhook, action `post` of adapters/webhook, signed with a whsec_ secret) is counted',
    'by its receiver, the webhook sandbox, which verifies every signature with the `standardwebhooks` library, stores',
    'a message once per `webhook-id` and acknowledges a repeat without storing it: *webhook received* = arrivals with',
    'a valid signature; *webhook ids* = distinct webhook-ids stored; *dup webhook* = records the receiver created beyond',
    'one per application (the application stored under a second webhook-id, or one webhook-id stored twice);',
    '*webhook redelivered* = arrivals of a webhook-id already stored (retries after a lost or late reply, folded by the',
    'receiver: not duplicates); *lost at webhook* = acknowledged applications with no stored delivery; *invalid',
    'signatures* = requests the receiver refused. *dead letters* = failed delivery jobs over the three queues; *lost* =',
    'acknowledged but not delivered to every peer after the drain; *drain s* = seconds from the last acknowledgement until no',
    'delivery job was waiting, active or delayed; *stack-trace lines* = raw `    at ` lines the hub processes printed.',
    '',
  ].join('\n');
  process.stdout.write(`\n${table(results)}\n`);
  const out = process.env.FAULTS_OUT ?? path.join(ROOT, 'docs/faults-latest.md');
  if (out) {
    writeFileSync(out, text);
    process.stderr.write(`faults: table written to ${path.relative(process.cwd(), out)}\n`);
  }
  const bad = results.filter(failed);
  if (bad.length) {
    process.stderr.write(`faults: ${bad.length} scenario(s) lost or doubled cases: ${bad.map((r) => r.name).join(', ')}\n`);
    process.exitCode = 1;
  }
}

function redisServerVersion(): string {
  return spawnSync('redis-server', ['--version'], { encoding: 'utf8' }).stdout.trim().split(' ').slice(0, 3).join(' ');
}

main().catch((err: unknown) => {
  process.stderr.write(`faults failed: ${String(err)}\n`);
  process.exit(2);
});
