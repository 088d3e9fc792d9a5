/** The `ops` part of the config (validated by schemas/caseway-config.schema.json), with defaults filled in. */
import type { LoadedConfig } from '../core/config/types';

export type OpsRole = 'viewer' | 'operator';

export interface OpsUserConfig {
  name: string;
  role: OpsRole;
  passwordHash?: string;
}

export interface OpsSettings {
  auth: 'login' | 'proxy';
  users: OpsUserConfig[];
  proxy: { userHeader: string; roleHeader?: string; defaultRole?: OpsRole; trustedProxies: string[] };
  session: { ttlSeconds: number; secureCookie?: boolean; secret?: string };
  circuit: { failureThreshold: number; coolDownMs: number };
  reconciliationDays: number;
}

/** The `ops` block as the config file gives it (typed from the config schema). */
type RawOps = NonNullable<LoadedConfig['ops']>;

export function opsSettings(config: LoadedConfig): OpsSettings {
  const raw: RawOps = config.ops ?? {};
  return {
    auth: raw.auth ?? 'login',
    users: raw.users ?? [],
    proxy: {
      userHeader: (raw.proxy?.userHeader ?? 'X-Forwarded-User').toLowerCase(),
      roleHeader: raw.proxy?.roleHeader?.toLowerCase(),
      defaultRole: raw.proxy?.defaultRole,
      trustedProxies: raw.proxy?.trustedProxies ?? ['127.0.0.1', '::1'],
    },
    session: { ttlSeconds: (raw.session?.ttlMinutes ?? 480) * 60, secureCookie: raw.session?.secureCookie, secret: raw.session?.secret },
    circuit: { failureThreshold: raw.circuit?.failureThreshold ?? 5, coolDownMs: (raw.circuit?.coolDownSeconds ?? 300) * 1000 },
    reconciliationDays: raw.reconciliationDays ?? 7,
  };
}
