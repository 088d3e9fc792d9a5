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
  /**
   * "none": the hub writes to a primary with enough replicas. "switching": it cannot write now (the Redis it talks to
   * is a replica, a connection is down and reconnecting, or fewer replicas than minReplicas): intake answers 503
   * until the switch is over, and readiness is false meanwhile.
   */
  failover: 'none' | 'switching';
  /** Why "switching" (absent for "none"). */
  failoverReason?: string;
}

async function redisRole(hub: Hub): Promise<RedisRole> {
  const info = await withTimeout(hub.runtime.redis.info('replication'), 1000);
  const field = (name: string) => new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
  const replicas = field('connected_slaves');
  const options = hub.runtime.redis.options;
  const role = field('role') ?? 'unknown';
  const minReplicas = hub.config.hub?.redis?.minReplicas ?? 0;
  const down = hub.redisConnectionsDown();
  const failoverReason =
    role !== 'master'
      ? `the Redis answering is a ${role === 'slave' ? 'replica' : role}, not a primary`
      : down.length
        ? `Redis connection ${down.join(', ')} down, reconnecting`
        : replicas !== undefined && Number(replicas) < minReplicas
          ? `${replicas} of ${minReplicas} replicas connected`
          : undefined;
  return {
    role,
    ...(replicas !== undefined ? { connectedReplicas: Number(replicas) } : {}),
    ...(field('master_link_status') ? { masterLinkStatus: field('master_link_status') } : {}),
    ...(minReplicas ? { minReplicas } : {}),
    ...(options.sentinels?.length ? { sentinel: options.name } : {}),
    failover: failoverReason ? 'switching' : 'none',
    ...(failoverReason ? { failoverReason } : {}),
  };
}

/**
 * Ready means Redis answers as a primary the hub can write to (failover "none") and the config is loaded. Each connection's last health is reported too, but a peer
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
  // Not ready while Redis cannot take writes (a replica answering, replicas missing): intake would answer 503 only.
  return { ready: redis === 'ok' && role?.failover === 'none', redis, ...(role ? { redisRole: role } : {}), config: hub.config.file, connections };
}
