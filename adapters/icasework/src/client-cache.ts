/**
 * Clients per adapter context, with one OAuth2 token cache per connection (name + settings) shared by all of them,
 * so a bearer token is fetched once per connection and lifetime, not once per call.
 */
import type { AdapterContext } from 'caseway/core';
import { IcaseworkClient } from './client';
import { TokenCache } from './oauth';
import { resolveSettings, type IcaseworkSettings } from './settings';

const clients = new WeakMap<object, { fingerprint: string; client: IcaseworkClient<IcaseworkSettings> }>();
const tokenCaches = new Map<string, { fingerprint: string; cache: TokenCache }>();

function tokenCacheFor(connection: string, fingerprint: string, settings: IcaseworkSettings): TokenCache {
  const known = tokenCaches.get(connection);
  if (known && known.fingerprint === fingerprint) return known.cache;
  const cache = new TokenCache(resolveSettings(settings).tokenRefreshSkewSeconds * 1000, Date.now);
  tokenCaches.set(connection, { fingerprint, cache });
  return cache;
}

export function clientFor(ctx: AdapterContext<IcaseworkSettings>): IcaseworkClient<IcaseworkSettings> {
  const fingerprint = JSON.stringify(ctx.connection.settings);
  const known = clients.get(ctx);
  if (known && known.fingerprint === fingerprint) return known.client;
  const client = new IcaseworkClient(ctx, ctx.connection.settings, {
    tokenCache: tokenCacheFor(ctx.connection.name, fingerprint, ctx.connection.settings),
  });
  clients.set(ctx, { fingerprint, client });
  return client;
}

export function dropClient(ctx: AdapterContext<IcaseworkSettings>): void {
  clients.delete(ctx);
  tokenCaches.delete(ctx.connection.name);
}
