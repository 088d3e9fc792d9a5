/**
 * One peer host of the cluster bed: a sandbox peer (the IIZUKA Case Manager or iCasework) on loopback behind a
 * delay proxy on the host's own address, and a small control endpoint the driver reads what the peer received from.
 *   node peer-host.js etd|icasework <hostAddress> <apiKeyOrKey> [secret]
 * Ports on the host address: 8000 the peer's API (8001 iCasework's reports host), 8100 control:
 *   GET  /state        what the peer holds, per application marker (the e-mail address the driver put in it)
 *   POST /delay?ms=50  every call to the peer takes this much longer from now on
 */
import http from 'node:http';
import { EtdSandbox } from '../adapters/etd/sandbox';
import { IcaseworkSandbox } from '../adapters/icasework/sandbox';
import { startDelayProxy, type DelayProxy } from './delay-proxy';

export const PEER_API_PORT = 8000;
export const PEER_REPORTS_PORT = 8001;
export const PEER_CONTROL_PORT = 8100;
const INTERNAL_API_PORT = 18000;
const INTERNAL_REPORTS_PORT = 18001;

/** What a peer holds, as the driver reads it. */
export interface PeerState {
  peer: string;
  /** Marker -> how many times the peer holds it (applications for IIZUKA, cases for iCasework). */
  held: Record<string, number>;
  /**
   * Duplicates counted at the peer: for iCasework, cases beyond one per application; for IIZUKA, accepted
   * `POST /application` calls beyond one per application that a peer honouring the Idempotency-Key header (IETF
   * draft, which the hub sends) would still have filed twice: a second call with a different key, or with none.
   */
  extraAccepted: number;
  /** IIZUKA: accepted calls that repeated an earlier accepted call's Idempotency-Key (what a peer ignoring the key would file twice). */
  repeatedSameKey?: number;
  /** iCasework: cases per ExternalId beyond the first, and cases left without an ExternalId. */
  externalIdDuplicates?: number;
  withoutExternalId?: number;
  /** Requests the peer answered, by status. */
  statuses: Record<string, number>;
  delayMs: number;
}

async function main(): Promise<void> {
  const [peer, address, key, secret] = process.argv.slice(2);
  if ((peer !== 'etd' && peer !== 'icasework') || !address || !key) {
    process.stderr.write('usage: peer-host etd|icasework <hostAddress> <apiKeyOrKey> [secret]\n');
    process.exit(2);
  }
  const proxies: DelayProxy[] = [];
  let delayMs = 0;
  let state: () => PeerState;
  let stopPeer: () => Promise<void>;

  if (peer === 'etd') {
    const sandbox = await EtdSandbox.start({ host: '127.0.0.1', port: INTERNAL_API_PORT, apiKey: key });
    stopPeer = () => sandbox.stop();
    state = () => {
      const held: Record<string, number> = {};
      for (const app of sandbox.applications()) {
        const details = app.etdApp.appDetails;
        const email = details && typeof details === 'object' && !Array.isArray(details) ? details.email : undefined;
        const marker = typeof email === 'string' ? email : '?';
        held[marker] = (held[marker] ?? 0) + 1;
      }
      const statuses: Record<string, number> = {};
      // The sandbox files every accepted POST (identicalContent 'file-again', its default): `held` counts the filings
      // per application; what a peer honouring the key would still file twice is counted from the calls below.
      const acceptedByKey = new Map<string, number>();
      let keyless = 0;
      for (const r of sandbox.requests()) {
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.method !== 'POST' || r.path !== '/application' || r.status !== 200) continue;
        if (r.idempotencyKey === undefined) keyless += 1;
        else acceptedByKey.set(r.idempotencyKey, (acceptedByKey.get(r.idempotencyKey) ?? 0) + 1);
      }
      const unique = Object.keys(held).length;
      // Each application is one distinct key; keys beyond one per application held, and keyless calls, are duplicates.
      const distinctCalls = acceptedByKey.size + keyless;
      const repeatedSameKey = [...acceptedByKey.values()].reduce((a, n) => a + n - 1, 0);
      return { peer, held, extraAccepted: Math.max(0, distinctCalls - unique), repeatedSameKey, statuses, delayMs };
    };
  } else {
    const sandbox = new IcaseworkSandbox({
      host: '127.0.0.1',
      port: INTERNAL_API_PORT,
      reportsPort: INTERNAL_REPORTS_PORT,
      account: 'caseway',
      keys: [{ key, secret: secret ?? '', allowedIps: ['127.0.0.1', '::1'] }],
    });
    await sandbox.start();
    stopPeer = () => sandbox.stop();
    proxies.push(await startDelayProxy({ host: address, port: PEER_REPORTS_PORT }, { host: '127.0.0.1', port: INTERNAL_REPORTS_PORT }, 0));
    state = () => {
      const emails = new Map(sandbox.customers().map((c) => [c.ref, c.fields.Email ?? '?']));
      const held: Record<string, number> = {};
      const byExternalId = new Map<string, number>();
      let withoutExternalId = 0;
      for (const c of sandbox.cases()) {
        const marker = (c.customerRef && emails.get(c.customerRef)) || '?';
        held[marker] = (held[marker] ?? 0) + 1;
        if (c.externalId) byExternalId.set(c.externalId, (byExternalId.get(c.externalId) ?? 0) + 1);
        else withoutExternalId += 1;
      }
      const statuses: Record<string, number> = {};
      for (const r of sandbox.requests) statuses[`${r.op} ${r.status ?? '-'}`] = (statuses[`${r.op} ${r.status ?? '-'}`] ?? 0) + 1;
      const extra = Object.values(held).reduce((a, n) => a + Math.max(0, n - 1), 0);
      const extDup = [...byExternalId.values()].reduce((a, n) => a + Math.max(0, n - 1), 0);
      return { peer, held, extraAccepted: extra, externalIdDuplicates: extDup, withoutExternalId, statuses, delayMs };
    };
  }
  proxies.push(await startDelayProxy({ host: address, port: PEER_API_PORT }, { host: '127.0.0.1', port: INTERNAL_API_PORT }, 0));

  const control = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://peer');
    if (req.method === 'GET' && url.pathname === '/state') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify(state()));
    } else if (req.method === 'POST' && url.pathname === '/delay') {
      delayMs = Number(url.searchParams.get('ms') ?? 0);
      for (const p of proxies) p.setDelay(delayMs);
      res.statusCode = 204;
      res.end();
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((resolve) => control.listen(PEER_CONTROL_PORT, address, () => resolve()));
  process.stdout.write(`peer-host ${peer} on ${address}:${PEER_API_PORT} (control :${PEER_CONTROL_PORT})\n`);
  const stop = () => {
    control.close();
    void Promise.all([...proxies.map((p) => p.close()), stopPeer()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`peer-host: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
