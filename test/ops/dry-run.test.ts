/**
 * Dry-run replay after a mapping fix: a delivery dead-letters because the route's mapping sends the peer a type it
 * refuses; the integrator fixes the mapping and restarts the hub; the dry run then shows the exact request the
 * action would now send (through the action's preview()), masked for a viewer; the replay sends just that.
 */
import type { Server } from 'node:http';
import express from 'express';
import { randomUUID } from 'node:crypto';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually } from '../helpers/hub';
import { OPERATOR, OpsClient, VIEWER, opsUsersYaml, startOpsHub, type OpsTestHub } from './helpers';

const hubYaml = (users: string, port: number, mappedType: string) => `${users}
connections:
  source: { adapter: ticker, sources: { feed: { enabled: false } } }
  peer: { adapter: ticker, settings: { url: "http://127.0.0.1:${port}" }, delivery: { attempts: 1 } }
routes:
  - name: applications
    from: { connection: source, source: feed }
    to: [{ connection: peer, action: send, mapping: { set: { type: ${mappedType} } } }]
`;

describe('dry-run replay after a mapping fix', () => {
  let peer: Server;
  let port: number;
  const received: Array<Record<string, unknown>> = [];
  let t: OpsTestHub | undefined;

  beforeAll(async () => {
    const app = express();
    app.use(express.json());
    app.post('/cases', (req, res) => {
      const body = req.body as Record<string, unknown>;
      if (body.type !== 'etd-application') return void res.status(422).json({ error: 'unknown type' });
      received.push(body);
      res.status(201).json({});
    });
    peer = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    port = (peer.address() as { port: number }).port;
  });
  afterAll(async () => {
    await t?.stop();
    await new Promise((r) => peer.close(r));
  });

  it('previews the request the fixed mapping makes, masked for viewers, and the replay sends exactly that', async () => {
    const users = await opsUsersYaml();
    const prefix = `cwtest:${randomUUID().slice(0, 8)}:`;
    const dataKey = PayloadCipher.generateKey();

    const before = await startOpsHub({ withTicker: true, prefix, dataKey, defaultMetrics: false, yaml: hubYaml(users, port, 'etd-aplication') });
    await new RedisConnectionState(before.redis, prefix, 'source').setJson('items', [
      { id: 'app-1', type: 'raw', at: new Date().toISOString(), person: { fullName: 'Octavia Brimblecombe' }, contacts: [{ kind: 'email', value: 'octavia.b@example.test' }] },
    ]);
    await before.hub.polls.run('source', 'feed');
    const dead = await eventually(async () => (await before.hub.deadLetters.list('peer'))[0], 10000, 'dead letter');
    expect(dead.failedReason).toBe('ticker: POST /cases answered HTTP 422');
    await before.stopKeepingState();

    t = await startOpsHub({ withTicker: true, prefix, dataKey, defaultMetrics: false, yaml: hubYaml(users, port, 'etd-application') });
    const viewer = new OpsClient(t.baseUrl);
    await viewer.login(VIEWER);
    const masked = await viewer.getJson(`/ops/api/dead-letters/peer/${dead.id}/dry-run`);
    expect(masked.data).toMatchObject({ kind: 'preview', masked: true, requests: [{ operation: 'POST /cases', body: { hubId: dead.hubId, type: 'etd-application', applicantName: '[masked]', reachAt: '[masked]' } }] });
    const page = await viewer.get(`/ops/dead-letters/peer/${dead.id}/preview`);
    expect(page.data).toContain('Requests the action would send');
    expect(page.data).not.toMatch(/Octavia|Brimblecombe|octavia\.b@example\.test/);
    // The diff between the request that failed and the replay shows the fixed type, masked the same way.
    expect(masked.data.diff.filter((l: { op: string }) => l.op !== ' ')).toEqual([
      { op: '-', text: '      "type": "etd-aplication",' },
      { op: '+', text: '      "type": "etd-application",' },
    ]);
    expect(masked.data.error).toMatchObject({ status: 422 });
    expect(page.data).toContain('id="request-diff"');
    expect(page.data).toContain('id="last-error"');

    const operator = new OpsClient(t.baseUrl);
    await operator.login(OPERATOR);
    const full = await operator.getJson(`/ops/api/dead-letters/peer/${dead.id}/dry-run`);
    const previewed = full.data.requests[0].body as Record<string, unknown>;
    expect(previewed).toEqual({ hubId: dead.hubId, type: 'etd-application', applicantName: 'Octavia Brimblecombe', reachAt: 'octavia.b@example.test' });

    await operator.refreshCsrf();
    expect((await operator.post(`/ops/dead-letters/peer/${dead.id}/replay`, { _csrf: operator.csrf })).status).toBe(303);
    await eventually(async () => received.length === 1, 10000, 'the replayed delivery at the peer');
    expect(received[0]).toEqual(previewed);
  });
});
