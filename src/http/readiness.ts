import type { Hub } from '../core/hub';
import type { ConnectionRuntime } from '../core/runtime';
import { safeMessage } from '../core/errors';

export interface ConnectionReadiness {
  adapter: string;
  healthy: boolean | null;
  lastSuccess?: string;
  lastError?: string;
  lastErrorMessage?: string;
  check?: string;
}

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Peer checks are remembered this long, so frequent probes do not turn into a stream of calls to every peer. */
const PEER_CHECK_TTL_MS = 15000;
const peerChecks = new WeakMap<object, { at: number; healthy: boolean; check: string }>();

async function peerCheck(conn: ConnectionRuntime): Promise<{ healthy: boolean; check: string }> {
  const cached = peerChecks.get(conn);
  if (cached && Date.now() - cached.at < PEER_CHECK_TTL_MS) return cached;
  let result: { healthy: boolean; check: string };
  try {
    await withTimeout(conn.adapter.checkHealth!(conn.ctx), 2000);
    result = { healthy: true, check: 'ok' };
  } catch (err) {
    result = { healthy: false, check: safeMessage(err) };
  }
  peerChecks.set(conn, { ...result, at: Date.now() });
  return result;
}

/**
 * Ready means Redis answers and the config is loaded. Each connection's last health is reported too, but a peer
 * being down does not make the hub unready: it keeps accepting and queueing, which is its job.
 */
export async function readiness(hub: Hub): Promise<{ ready: boolean; redis: string; config: string; connections: Record<string, ConnectionReadiness> }> {
  let redis = 'ok';
  try {
    await withTimeout(hub.runtime.redis.ping(), 1000);
  } catch (err) {
    redis = safeMessage(err);
  }
  const connections: Record<string, ConnectionReadiness> = {};
  await Promise.all(
    [...hub.runtime.connections.values()].map(async (conn) => {
      const health = redis === 'ok' ? await hub.runtime.redis.hgetall(hub.runtime.keys.health(conn.name)) : {};
      const entry: ConnectionReadiness = { adapter: conn.adapter.name, healthy: null, lastSuccess: health.lastSuccess, lastError: health.lastError, lastErrorMessage: health.lastErrorMessage };
      if (conn.adapter.checkHealth) Object.assign(entry, await peerCheck(conn));
      connections[conn.name] = entry;
    }),
  );
  return { ready: redis === 'ok', redis, config: hub.config.file, connections };
}
