/**
 * One runtime per connection and process: the HTTP client (token cache, limiters), the program config cache and the
 * upsert micro-batcher. Keyed by connection name and the settings that identify the peer account, so a changed
 * config gets a fresh runtime. close() drains the batcher and forgets the runtime.
 */
import { createHash } from 'node:crypto';
import type { AdapterContext } from 'caseway/core';
import { Platform121Client } from './client';
import { ProgramCache } from './program';
import { resolveSettings, type Platform121Settings, type ResolvedSettings } from './settings';
import { UpsertBatcher, upsertRegistrations } from './upsert';

export interface Runtime {
  key: string;
  ctx: AdapterContext<Platform121Settings>;
  settings: ResolvedSettings;
  client: Platform121Client;
  program: ProgramCache;
  batcher: UpsertBatcher;
}

const runtimes = new Map<string, Runtime>();

function runtimeKey(ctx: AdapterContext<Platform121Settings>): string {
  const s = ctx.connection.settings;
  const secret = createHash('sha256').update(String(s.password)).digest('hex').slice(0, 12);
  return [ctx.connection.name, s.baseUrl, s.programId, s.username, secret].join('|');
}

export function runtimeFor(ctx: AdapterContext<Platform121Settings>): Runtime {
  const key = runtimeKey(ctx);
  const known = runtimes.get(key);
  if (known) return known;
  const settings = resolveSettings(ctx.connection.settings);
  const client = new Platform121Client(ctx as AdapterContext<unknown>, settings);
  const deps = { client, batchSize: settings.batchSize, log: ctx.log };
  const rt: Runtime = {
    key,
    ctx,
    settings,
    client,
    program: new ProgramCache(client),
    batcher: new UpsertBatcher((items) => upsertRegistrations(deps, items), settings.batchSize, settings.batchWaitMs),
  };
  runtimes.set(key, rt);
  return rt;
}

export async function closeRuntime(ctx: AdapterContext<Platform121Settings>): Promise<void> {
  const key = runtimeKey(ctx);
  const rt = runtimes.get(key);
  if (!rt) return;
  runtimes.delete(key);
  await rt.batcher.drain();
  rt.client.close();
}
