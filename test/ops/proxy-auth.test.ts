/** Reverse-proxy header mode: the proxy names the user (and maybe the role); only trusted proxy addresses count. */
import axios from 'axios';
import { RedisConnectionState } from '../../src/core/store/connection-state';
import { eventually } from '../helpers/hub';
import { OpsClient, recorderEvent, startOpsHub, type OpsTestHub } from './helpers';

const ROUTES = `
connections:
  inbox: { adapter: recorder }
  out: { adapter: recorder, delivery: { attempts: 1 } }
routes:
  - { name: r, from: { connection: inbox, source: inbox }, to: [{ connection: out, action: record }] }
`;

describe('ops behind a reverse proxy', () => {
  let t: OpsTestHub;

  beforeAll(async () => {
    t = await startOpsHub({
      defaultMetrics: false,
      yaml: `
ops:
  auth: proxy
  proxy: { userHeader: X-Auth-User, roleHeader: X-Auth-Role }
  users: [{ name: ann, role: operator }, { name: bob, role: viewer }]
${ROUTES}`,
    });
  });
  afterAll(async () => t.stop());

  it('takes the user from the header and the role from config or the role header', async () => {
    expect((await new OpsClient(t.baseUrl).get('/ops')).status).toBe(403);
    expect((await new OpsClient(t.baseUrl, { 'x-auth-user': 'zed' }).get('/ops')).status).toBe(403);
    const ann = await new OpsClient(t.baseUrl, { 'x-auth-user': 'ann' }).get('/ops');
    expect(ann.status).toBe(200);
    expect(ann.data).toContain('id="current-user">ann</span> <span class="badge">operator</span>');
    const zed = await new OpsClient(t.baseUrl, { 'x-auth-user': 'zed', 'x-auth-role': 'viewer' }).get('/ops');
    expect(zed.data).toContain('id="current-user">zed</span> <span class="badge">viewer</span>');
    // The login form is not used in this mode.
    expect((await new OpsClient(t.baseUrl).get('/ops/login')).status).toBe(303);
  });

  it('lets the operator replay (with the CSRF token of the page) and refuses the viewer', async () => {
    const out = new RedisConnectionState(t.redis, t.prefix, 'out');
    await out.set('mode', 'permanent');
    const { data } = await axios.post(`${t.baseUrl}/recorder/inbox`, recorderEvent('p-1', 'src-p-1'));
    const dead = await eventually(async () => (await t.hub.deadLetters.list('out')).find((d) => d.hubId === data.results[0].hubId), 10000, 'dead letter');
    await out.del('mode');
    const bob = new OpsClient(t.baseUrl, { 'x-auth-user': 'bob' });
    await bob.refreshCsrf();
    expect((await bob.post(`/ops/dead-letters/out/${dead.id}/replay`, { _csrf: bob.csrf })).status).toBe(403);
    const ann = new OpsClient(t.baseUrl, { 'x-auth-user': 'ann' });
    await ann.refreshCsrf();
    expect((await ann.post(`/ops/dead-letters/out/${dead.id}/replay`, { _csrf: 'forged' })).status).toBe(403);
    // A token is bound to its user: bob's token does not work for ann.
    expect((await ann.post(`/ops/dead-letters/out/${dead.id}/replay`, { _csrf: bob.csrf })).status).toBe(403);
    expect((await ann.post(`/ops/dead-letters/out/${dead.id}/replay`, { _csrf: ann.csrf })).status).toBe(303);
    expect((await t.hub.deadLetters.auditLog())[0]).toMatchObject({ action: 'replay', by: 'ops:ann', deliveryId: dead.id });
  });

  it('ignores the headers from an address that is not a trusted proxy', async () => {
    const other = await startOpsHub({ defaultMetrics: false, yaml: `ops:\n  auth: proxy\n  proxy: { trustedProxies: [10.11.12.13] }\n  users: [{ name: ann, role: operator }]\n${ROUTES}` });
    try {
      expect((await new OpsClient(other.baseUrl, { 'x-forwarded-user': 'ann' }).get('/ops')).status).toBe(403);
      expect((await new OpsClient(other.baseUrl, { 'x-forwarded-user': 'ann' }).get('/ops/queues/api/queues')).status).toBe(401);
    } finally {
      await other.stop();
    }
  });
});
