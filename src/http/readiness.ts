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

/** What the hub's Redis says about itself: its role and, for a primary, how many replicas are connected. */
export interface RedisRole {
  role: string;
  connectedReplicas?: number;
  /** For a replica: whether its link to the primary is up. */
  masterLinkStatus?: string;
  /** hub.redis.minReplicas: intake answers 503 while fewer replicas are connected. */
  minReplicas?: number;
  /** Reached through Sentinel (the primary it names is used; a failover moves the hub to the new one). */
  sentinel?: string;
}

async function redisRole(hub: Hub): Promise<RedisRole> {
  const info = await withTimeout(hub.runtime.redis.info('replication'), 1000);
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const replicas = field('connected_slaves');
  const options = hub.runtime.redis.options;
  return {
    role: field('role') ?? 'unknown',
    ...(replicas !== undefined ? { connectedReplicas: Number(replicas) } : {}),
    ...(field('master_link_status') ? { masterLinkStatus: field('master_link_status') } : {}),
    ...(hub.config.hub?.redis?.minReplicas ? { minReplicas: hub.config.hub.redis.minReplicas } : {}),
    ...(options.sentinels?.length ? { sentinel: options.name } : {}),
  };
}

/**
 * Ready means Redis answers and the config is loaded. Each connection's last health is reported too, but a peer
 * being down does not make the hub unready: it keeps accepting and queueing, which is its job.
 */
export async function readiness(hub: Hub): Promise<{ ready: boolean; redis: string; redisRole?: RedisRole; config: string; connections: Record<string, ConnectionReadiness> }> {
  let redis = 'ok';
  let role: RedisRole | undefined;
  try {
    await withTimeout(hub.runtime.redis.ping(), 1000);
    role = await redisRole(hub);
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
  return { ready: redis === 'ok', redis, ...(role ? { redisRole: role } : {}), config: hub.config.file, connections };
}
