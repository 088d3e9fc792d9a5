/**
 * Per-process identity (issue 19.3): on several hosts, each log line and each scrape must say which process it came
 * from. Real `caseway api` and `caseway worker` processes: every JSON log line carries hostname, pid and role; /metrics
 * has one caseway_process_info{host,role,version,pid} 1; /readyz reports the Redis role and failover state.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/core/redis';
import { CLI_TIMEOUT_MS, cliSetup, spawnCaseway, type CliProcess } from '../helpers/cli';
import { eventually } from '../helpers/hub';
import { REDIS_URL } from '../helpers/redis';

const YAML = `
hub: { shutdownTimeoutMs: 5000 }
connections:
  inbox: { adapter: recorder }
  sink: { adapter: recorder }
routes:
  - name: main
    from: { connection: inbox, source: inbox }
    to: [{ connection: sink, action: record }]
`;

const VERSION = (JSON.parse(readFileSync(path.resolve(__dirname, '../../package.json'), 'utf8')) as { version: string }).version;

/** caseway_process_info samples of a Prometheus text page: name, labels, value. */
function infoSamples(text: string): Array<{ name: string; labels: Record<string, string>; value: number }> {
  return text
    .split('\n')
    .map((line) => /^(caseway_process_info)\{(.*)\} (\S+)$/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[1], labels: Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1], l[2]])), value: Number(m[3]) }));
}

function jsonLines(output: string): Array<Record<string, unknown>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('which process a log line or a scrape comes from', () => {
  const prefix = `cwtest:${randomUUID().slice(0, 8)}:`;
  const cli = cliSetup(YAML);
  const processes: CliProcess[] = [];

  afterAll(async () => {
    for (const p of processes) p.child.kill('SIGTERM');
    await Promise.all(processes.map((p) => p.exited));
    const redis = new Redis(REDIS_URL);
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
    cli.cleanup();
  });

  it('api and worker processes: hostname, pid and role on every log line; caseway_process_info; Redis role in /readyz', async () => {
    const api = spawnCaseway(cli, prefix, ['--log-level', 'info', '--insecure-open-api', 'api']);
    const worker = spawnCaseway(cli, prefix, ['--log-level', 'info', 'worker']);
    processes.push(api, worker);
    const started = (p: CliProcess, pattern: RegExp, what: string) =>
      eventually(async () => pattern.exec(p.output())?.[1], 2 * CLI_TIMEOUT_MS, what).catch((err: Error) => {
        throw new Error(`${err.message}; it printed:\n${p.output().slice(-2000)}`);
      });
    const apiUrl = await started(api, /API\s+(http:\/\/\S+)/, 'the api process to start');
    const workerUrl = await started(worker, /Probes\s+(http:\/\/\S+)/, 'the worker process to start');
    // A request, so the api writes a line from inside the HTTP layer too.
    expect((await fetch(`${apiUrl}/healthz`)).status).toBe(200);
    const res = await fetch(`${apiUrl}/recorder/inbox`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ eventId: 'identity-1', case: { type: 'complaint', source: { system: 'recorder', id: 'identity-1' }, parties: [] } }) });
    expect(res.status).toBe(200);

    for (const [p, role, url] of [[api, 'api', apiUrl], [worker, 'worker', workerUrl]] as const) {
      const lines = await eventually(async () => {
        const found = jsonLines(p.output());
        return found.some((l) => l.msg === 'hub started') ? found : undefined;
      }, 30000, `${role}'s "hub started" line`);
      for (const line of lines) expect({ hostname: line.hostname, pid: line.pid, role: line.role }).toEqual({ hostname: hostname(), pid: p.child.pid, role });

      const samples = infoSamples(await (await fetch(`${url}/metrics`)).text());
      // One info sample per process, value 1, naming this host, this role, this version and this pid (never the other role).
      expect(samples).toEqual([{ name: 'caseway_process_info', labels: { host: hostname(), role, version: VERSION, pid: String(p.child.pid) }, value: 1 }]);

      const ready = await fetch(`${url}/readyz`);
      const body = (await ready.json()) as { ready: boolean; redisRole?: { role: string; failover: string } };
      expect(ready.status).toBe(200);
      expect(body).toMatchObject({ ready: true, redisRole: { role: 'master', failover: 'none' } });
    }
  }, 400000);
});
