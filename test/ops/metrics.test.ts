/**
 * /metrics after a known run: a poll source (ticker fixture) emits five cases with a known age; its route delivers
 * them over real HTTP to a loopback peer that accepts three, fails one once (503, then accepted on retry) and
 * rejects one (422, dead letter). Every metric the issue names is checked by name, labels and value; then a lost
 * dead letter and a run of failures show up in the reconciliation and circuit metrics. The Grafana dashboard may
 * only use metric names that exist.
 */
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import path from 'node:path';
import axios from 'axios';
import express from 'express';
import { deliveryQueueName } from '../../src/core/queues';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually } from '../helpers/hub';
import { OpsClient, VIEWER, opsUsersYaml, startOpsHub, type OpsTestHub } from './helpers';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('metrics after a known run', () => {
  let t: OpsTestHub;
  let peer: Server;
  let feed: RedisConnectionState;
  const seen = new Map<string, number>();
  const scrape = async () => parseMetrics((await axios.get(`${t.baseUrl}/metrics`)).data as string);

  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.post('/cases', (req, res) => {
      const { hubId, type } = req.body as { hubId: string; type: string };
      const n = (seen.get(hubId) ?? 0) + 1;
      seen.set(hubId, n);
      if (type === 'bad') return void res.status(422).json({ error: 'rejected' });
      if (type === 'flaky' && n === 1) return void res.status(503).json({ error: 'busy' });
      res.status(201).json({ ok: true });
    });
    peer = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const port = (peer.address() as { port: number }).port;
    t = await startOpsHub({
      withTicker: true,
      yaml: `${await opsUsersYaml(3)}
connections:
  source: { adapter: ticker, sources: { feed: { enabled: false } } }
  peer: { adapter: ticker, settings: { url: "http://127.0.0.1:${port}" }, delivery: { attempts: 3, backoffMs: 20 } }
routes:
  - name: feed-to-peer
    from: { connection: source, source: feed }
    to: [{ connection: peer, action: send }]
`,
    });
    feed = new RedisConnectionState(t.redis, t.prefix, 'source');
  });

  afterAll(async () => {
    await t.stop();
    await new Promise((r) => peer.close(r));
  });

  it('exports jobs, deliveries, latency, peer statuses, poller lag, dead letters, circuits, reconciliation and process metrics', async () => {
    const began = Date.now();
    const old = new Date(began - 120_000).toISOString();
    const items = ['ok', 'ok', 'ok', 'flaky', 'bad'].map((type, i) => ({ id: `item-${i}`, type, at: i === 2 ? old : new Date(Date.now() - 600_000).toISOString() }));
    await feed.setJson('items', items);
    expect(await t.hub.polls.run('source', 'feed')).toBe(5);
    const polledBy = Date.now();
    await eventually(async () => {
      const counts = await t.hub.runtime.queues.get(deliveryQueueName('peer')).getJobCounts('completed', 'failed');
      return counts.completed === 4 && counts.failed === 1;
    }, 10000, 'four deliveries and one dead letter');

    const m = await scrape();
    const route = { route: 'feed-to-peer' };
    expect(value(m, 'caseway_cases_total', { ...route, outcome: 'routed' })).toBe(5);
    expect(value(m, 'caseway_deliveries_total', { ...route, connection: 'peer', outcome: 'delivered' })).toBe(4);
    expect(value(m, 'caseway_deliveries_total', { ...route, connection: 'peer', outcome: 'retrying' })).toBe(1);
    expect(value(m, 'caseway_deliveries_total', { ...route, connection: 'peer', outcome: 'dead' })).toBe(1);
    expect(value(m, 'caseway_delivery_duration_seconds_count', { ...route, connection: 'peer' })).toBe(4);
    expect(value(m, 'caseway_delivery_duration_seconds_bucket', { ...route, connection: 'peer', le: '+Inf' })).toBe(4);
    expect(value(m, 'caseway_peer_responses_total', { connection: 'peer', operation: 'POST /cases', status: '201' })).toBe(4);
    expect(value(m, 'caseway_peer_responses_total', { connection: 'peer', operation: 'POST /cases', status: '503' })).toBe(1);
    expect(value(m, 'caseway_peer_responses_total', { connection: 'peer', operation: 'POST /cases', status: '422' })).toBe(1);
    expect(value(m, 'caseway_peer_request_duration_seconds_count', { connection: 'peer' })).toBe(6);
    expect(value(m, 'caseway_poll_runs_total', { connection: 'source', source: 'feed', outcome: 'ok' })).toBe(1);
    // The newest item was two minutes old when polled.
    expect(value(m, 'caseway_poller_lag_seconds', { connection: 'source', source: 'feed' })).toBeGreaterThanOrEqual(120);
    // No upper bound in wall-clock terms: at most the item's age when the poll had finished.
    expect(value(m, 'caseway_poller_lag_seconds', { connection: 'source', source: 'feed' })).toBeLessThanOrEqual((polledBy - Date.parse(old)) / 1000);
    expect(value(m, 'caseway_queue_jobs', { queue: 'deliver.peer', state: 'completed' })).toBe(4);
    expect(value(m, 'caseway_queue_jobs', { queue: 'deliver.peer', state: 'failed' })).toBe(1);
    expect(value(m, 'caseway_queue_jobs', { queue: 'deliver.peer', state: 'waiting' })).toBe(0);
    expect(value(m, 'caseway_queue_jobs', { queue: 'poll', state: 'failed' })).toBe(0);
    expect(value(m, 'caseway_dead_letters', { connection: 'peer', ...route })).toBe(1);
    expect(value(m, 'caseway_connection_circuit_state', { connection: 'peer', state: 'closed' })).toBe(1);
    expect(value(m, 'caseway_connection_circuit_state', { connection: 'peer', state: 'open' })).toBe(0);
    expect(value(m, 'caseway_connection_last_success_timestamp_seconds', { connection: 'peer' })).toBeGreaterThanOrEqual(Math.floor(began / 1000));
    expect(value(m, 'caseway_reconciliation_mismatch', route)).toBe(0);
    expect(value(m, 'caseway_reconciliation_unaccounted', route)).toBe(0);
    expect(value(m, 'caseway_reconciliation_in_flight', route)).toBe(0);
    expect(value(m, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(value(m, 'nodejs_heap_size_used_bytes')).toBeGreaterThan(0);
  });

  it('shows a dead letter that vanished without being discarded as a reconciliation mismatch, on /ops in red too', async () => {
    const [dead] = await t.hub.deadLetters.list('peer');
    const job = await t.hub.runtime.queues.get(deliveryQueueName('peer')).getJob(dead.id);
    await job?.remove();
    const m = await scrape();
    expect(value(m, 'caseway_reconciliation_mismatch', { route: 'feed-to-peer' })).toBe(1);
    expect(value(m, 'caseway_reconciliation_unaccounted', { route: 'feed-to-peer' })).toBe(1);
    expect(value(m, 'caseway_dead_letters', { connection: 'peer', route: 'feed-to-peer' })).toBeUndefined();
    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    const overview = (await viewer.get('/ops')).data as string;
    expect(overview).toMatch(/<tr class="route mismatch" data-route="feed-to-peer">/);
    expect(overview).toContain('mismatch: 1 unaccounted');
    const reconciliation = (await viewer.get('/ops/reconciliation')).data as string;
    expect(reconciliation).toMatch(/<tr class="recon mismatch" data-route="feed-to-peer" data-day="\d{4}-\d{2}-\d{2}" data-status="mismatch">/);
  });

  it('opens the circuit of a connection after consecutive failures', async () => {
    await feed.setJson('items', ['bad', 'bad', 'bad'].map((type, i) => ({ id: `bad-${i}`, type, at: new Date().toISOString() })));
    await t.hub.polls.run('source', 'feed');
    await eventually(async () => (await t.hub.deadLetters.list('peer')).length === 3, 10000, 'three dead letters');
    const m = await scrape();
    expect(value(m, 'caseway_connection_circuit_state', { connection: 'peer', state: 'open' })).toBe(1);
    expect(value(m, 'caseway_connection_circuit_state', { connection: 'peer', state: 'closed' })).toBe(0);
    expect(value(m, 'caseway_connection_consecutive_failures', { connection: 'peer' })).toBe(3);
    expect(value(m, 'caseway_dead_letters', { connection: 'peer', route: 'feed-to-peer' })).toBe(3);
  });

  it('ships a Grafana dashboard that uses only metrics the hub exports', async () => {
    const dashboard = JSON.parse(readFileSync(path.resolve(__dirname, '../../docs/grafana-dashboard.json'), 'utf8')) as { panels: Array<{ targets?: Array<{ expr: string }> }> };
    const exported = new Set((await scrape()).map((s) => s.name));
    const exprs = dashboard.panels.flatMap((p) => p.targets ?? []).map((x) => x.expr);
    expect(exprs.length).toBeGreaterThan(10);
    const used = new Set(exprs.flatMap((e) => e.match(/\b(caseway_[a-z0-9_]+|process_[a-z0-9_]+|nodejs_[a-z0-9_]+)\b/g) ?? []));
    const missing = [...used].filter((n) => !exported.has(n));
    expect(missing).toEqual([]);
    for (const name of ['caseway_queue_jobs', 'caseway_deliveries_total', 'caseway_delivery_duration_seconds_bucket', 'caseway_peer_responses_total', 'caseway_poller_lag_seconds', 'caseway_dead_letters', 'caseway_reconciliation_unaccounted']) {
      expect(used.has(name)).toBe(true);
    }
  });
});
