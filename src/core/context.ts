import type { Redis } from 'ioredis';
import type { AdapterContext, ConnectionInfo, PeerMetrics } from './adapter';
import type { Logger } from './logger';
import { RedisConnectionState } from './store/connection-state';

export const noopPeerMetrics: PeerMetrics = { peerResponse: () => undefined };

export function createAdapterContext<S>(opts: {
  connection: ConnectionInfo<S>;
  redis: Redis;
  prefix: string;
  log: Logger;
  metrics?: PeerMetrics;
}): AdapterContext<S> {
  return {
    connection: opts.connection,
    log: opts.log.child({ connection: opts.connection.name, adapter: opts.connection.adapter }),
    state: new RedisConnectionState(opts.redis, opts.prefix, opts.connection.name),
    metrics: opts.metrics ?? noopPeerMetrics,
  };
}
