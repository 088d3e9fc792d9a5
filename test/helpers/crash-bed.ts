/**
 * The bed of the worker-crash tests: a hub without workers (the test ingests on it and reads its state) and
 * `caseway worker` processes the test starts and kills, delivering inbox -> sink through a slow recorder (600 ms per
 * delivery, so a kill finds deliveries under way) with short locks (a dead worker's jobs are taken over in seconds).
 */
import { cliSetup, spawnCaseway } from './cli';
import { startTestHub, type TestHub } from './hub';

export function crashBedYaml(route: string, worker = ''): string {
  return `
hub:
  worker: { lockDurationMs: 1500, stalledIntervalMs: 1000${worker} }
connections:
  inbox: { adapter: recorder }
  sink:
    adapter: recorder
    settings: { delayMs: 600 }
    delivery: { concurrency: 3, attempts: 3, backoffMs: 100 }
routes:
  - name: ${route}
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;
}

/** Registers the bed's beforeAll/afterAll; `hub()` is the hub, `worker()` starts a worker process. */
export function crashBed(yaml: string) {
  let t: TestHub;
  const cli = cliSetup(yaml);
  beforeAll(async () => {
    t = await startTestHub({ yaml, roles: { api: false, workers: false }, dataKey: cli.dataKey });
  });
  afterAll(async () => {
    await t.stop();
    cli.cleanup();
  });
  return {
    hub: () => t,
    worker: () => spawnCaseway(cli, t.prefix, ['--log-level', 'error', 'worker']),
  };
}
