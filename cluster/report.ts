/** The cluster run's table, for the terminal and for docs/cluster-latest.md. */

export interface ScenarioRow {
  name: string;
  title: string;
  cases: number;
  posted?: number;
  acknowledged?: number;
  unacknowledged?: number;
  answers?: Record<string, number>;
  deliveredIizuka?: number;
  deliveredIcasework?: number;
  dupIizuka?: number;
  /** IIZUKA calls accepted again with the Idempotency-Key of an earlier accepted call (not a duplicate at a peer honouring the key). */
  resentIizuka?: number;
  dupIcasework?: number;
  icaseworkWithoutExternalId?: number;
  lost?: number;
  deadLetters?: number | string;
  recoverS?: number;
  recoverFrom?: string;
  readiness?: string;
  note?: string;
  skipped?: string;
  error?: string;
}

export interface ScalingRow {
  workers: number;
  cases: number;
  acknowledged?: number;
  casesPerS?: number;
  iizukaPerS?: number;
  icaseworkPerS?: number;
  redisOpsPeak?: number;
  redisOpsIdle?: number;
  lost?: number;
  dupIizuka?: number;
  dupIcasework?: number;
  load?: number;
  error?: string;
}

export interface ReportInput {
  started: Date;
  finished: Date;
  command: string;
  machine: string;
  settings: { cases: number; concurrency: number; cutS: number; redisDelayMs: number; peerDelayMs: number; icwRate: number; drainS: number };
  features: { sentinel: boolean; minReplicas: boolean; delayBy: 'netem' | 'proxy'; noNetem?: string };
  rows: ScenarioRow[];
  scaling: ScalingRow[];
  notes: string[];
}

const v = (x: number | string | undefined, digits = 0) => (x === undefined ? '-' : typeof x === 'number' ? x.toFixed(digits) : x);

function table(head: string[], rows: string[][]): string[] {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)];
}

function other(answers: Record<string, number> | undefined): string {
  if (!answers || !Object.keys(answers).length) return '0';
  return Object.entries(answers)
    .map(([k, n]) => `${n}× ${k}`)
    .join(', ');
}

export function renderReport(r: ReportInput): { table: string; markdown: string } {
  const scenarioLines = table(
    ['scenario', 'acknowledged', 'other answers (retried)', 'delivered IIZUKA', 'delivered iCasework', 'duplicates IIZUKA', 'IIZUKA re-sent, same key', 'duplicates iCasework', 'lost', 'dead letters', 'time to recover', 'Redis role (readyz)', 'notes'],
    r.rows.map((row) =>
      row.skipped || row.error
        ? [`${row.name}: ${row.title}`, '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', '-', row.skipped ?? `failed: ${row.error}`]
        : [
            `${row.name}: ${row.title}`,
            `${v(row.acknowledged)} / ${v(row.posted)}`,
            other(row.answers),
            v(row.deliveredIizuka),
            v(row.deliveredIcasework),
            v(row.dupIizuka),
            v(row.resentIizuka),
            `${v(row.dupIcasework)}${row.icaseworkWithoutExternalId ? ` (${row.icaseworkWithoutExternalId} without ExternalId)` : ''}`,
            v(row.lost),
            v(row.deadLetters),
            row.recoverS === undefined ? 'not recovered' : `${row.recoverS.toFixed(1)} s after ${row.recoverFrom}`,
            v(row.readiness),
            [row.unacknowledged ? `${row.unacknowledged} never acknowledged` : '', row.note ?? ''].filter(Boolean).join('; ') || '',
          ],
    ),
  );
  const scalingLines = table(
    ['worker hosts', 'cases', 'cases/s (both peers)', 'IIZUKA applications/s', 'iCasework cases/s', 'Redis ops/s idle → peak', 'lost', 'duplicates', 'load avg'],
    r.scaling.map((s) =>
      s.error
        ? [String(s.workers), String(s.cases), `failed: ${s.error}`, '-', '-', '-', '-', '-', '-']
        : [String(s.workers), `${v(s.acknowledged)}`, v(s.casesPerS, 1), v(s.iizukaPerS, 1), v(s.icaseworkPerS, 1), `${v(s.redisOpsIdle)} → ${v(s.redisOpsPeak)}`, v(s.lost), `${v(s.dupIizuka)} / ${v(s.dupIcasework)}`, v(s.load, 1)],
    ),
  );
  const s = r.settings;
  const markdown = [
    '# Cluster test bed: last measured run',
    '',
    `- Date: ${r.started.toISOString()} to ${r.finished.toISOString()}`,
    `- Machine: ${r.machine}`,
    `- Command: \`${r.command}\` (as root; \`cluster/\`, see docs/deploy.md "Running across machines")`,
    `- Bed: network namespaces on 198.18.77.0/24 — Redis primary + replica (AOF everysec, noeviction), three Sentinels (down-after 3 s), api1 + api2, wrk1..wrk3, the IIZUKA and iCasework sandboxes each on a host of its own. Hubs: \`caseway api|worker\` with real (non-sandbox) connections, CASEWAY_API_TOKEN and CASEWAY_DATA_KEY set.`,
    `- This build: \`redis+sentinel://\` ${r.features.sentinel ? 'supported (every hub used the three Sentinels)' : 'not supported (hubs used the primary\'s address)'}; \`hub.redis.minReplicas\` ${r.features.minReplicas ? 'supported (1)' : 'not supported (left out)'}; delays by ${r.features.delayBy === 'netem' ? 'tc netem' : `a userspace TCP delay proxy (no tc netem on this kernel: ${r.features.noNetem ?? 'sch_netem missing'})`}.`,
    `- Settings: ${s.cases} applications per scenario, ${s.concurrency} posted at once across both api hosts (retried after 503 with Retry-After, or on the other host after a timeout); cut ${s.cutS} s; Redis delay ${s.redisDelayMs} ms; peer delay for scaling ${s.peerDelayMs} ms; iCasework rate limit ${s.icwRate}/s; delivery concurrency 4 per connection per worker.`,
    '',
    '## Scenarios',
    '',
    'Counted at the peers: "delivered" = acknowledged applications the peer holds; "duplicates IIZUKA" = accepted `POST /application` calls beyond one per application that carried a different `Idempotency-Key` or none (what an IIZUKA honouring the key, as the IETF draft the hub follows describes, would still have filed twice); "IIZUKA re-sent, same key" = accepted calls that repeated the key of an earlier accepted call for the same delivery (a reply lost with its host: at-least-once delivery; an IIZUKA ignoring the key would file these twice, see docs/deploy.md); "duplicates iCasework" = cases beyond one per application; "lost" = acknowledged applications missing at either peer once every queue is empty (or the drain time ran out). "Time to recover": until every acknowledged application was at both peers.',
    '',
    ...scenarioLines,
    '',
    '## Throughput scaling',
    '',
    `All cases posted first with no worker running, then 1, 2 or 3 worker hosts started at once; rates between 10 % and 90 % delivered. Every peer call takes ${s.peerDelayMs} ms longer; iCasework is rate-limited to ${s.icwRate} createCase deliveries/s across all workers (BullMQ's global limiter), IIZUKA is not limited.`,
    '',
    ...scalingLines,
    '',
    ...(r.notes.length ? ['## Notes', '', ...r.notes.map((n) => `- ${n}`), ''] : []),
  ].join('\n');
  const tableText = ['Scenarios', ...scenarioLines, '', 'Throughput scaling', ...scalingLines].join('\n');
  return { table: tableText, markdown };
}
