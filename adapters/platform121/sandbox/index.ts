/**
 * The 121 sandbox as a hub SandboxDefinition. The connection's own settings may carry credentials (accepted as the
 * admin's), a programId (created as a Westeros-like program when it is not 2 or 3) and `sandbox` options:
 * { statusApplyDelayMs, tokenTtlSeconds, seed, throttle: { limit, ttlMs, loginLimit, loginTtlMs, retryAfterHeader } }.
 */
import type { SandboxDefinition, SandboxHandle, SandboxOptions } from 'caseway/core';
import { Sandbox121, type ThrottleOptions } from './server';
import { isRecord } from 'caseway/core';

export { Sandbox121 } from './server';
export type { Sandbox121Options, FaultSpec, RecordedRequest, SandboxEvent, ThrottleOptions } from './server';

function usable(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && !v.includes('${');
}


/** Connection settings that reach a sandbox for the given program. */
export function sandboxConnectionSettings(sb: Sandbox121, programId: number, username: string, password: string): Record<string, unknown> {
  const ocw = programId === 3;
  return {
    baseUrl: sb.url,
    programId,
    username,
    password,
    programFspConfigurationName: ocw ? 'Intersolve-visa' : 'ironBank',
    attributeMapping: ocw
      ? {
          'person.fullName': 'fullName',
          'contacts.whatsapp': 'whatsappPhoneNumber',
          'address.lines[0]': 'addressStreet',
          'address.postcode': 'addressPostalCode',
          'address.town': 'addressCity',
        }
      : {
          'person.fullName': 'fullName',
          'person.birthDate': 'dob',
          'person.attributes.house': 'house',
          'person.attributes.motto': 'motto',
          'contacts.whatsapp': 'whatsappPhoneNumber',
        },
    ...(ocw ? {} : { attributeDefaults: { house: 'stark' } }),
  };
}

export const sandbox: SandboxDefinition = {
  description:
    '121-service look-alike: cookie login, program permissions, all-or-nothing import, async status changes, registration events, throttling; /sandbox/* to act as a portal user.',
  async start(opts: SandboxOptions): Promise<SandboxHandle> {
    const s = opts.settings ?? {};
    const sbOpts = isRecord(s.sandbox) ? s.sandbox : {};
    const username = usable(s.username) ? s.username : 'admin@example.org';
    const password = usable(s.password) ? s.password : 'password';
    const programId = typeof s.programId === 'number' ? s.programId : 2;
    const sb = await Sandbox121.start({
      host: opts.host,
      port: opts.port ?? 0,
      adminUsername: username,
      adminPassword: password,
      extraProgramIds: [programId],
      statusApplyDelayMs: typeof sbOpts.statusApplyDelayMs === 'number' ? sbOpts.statusApplyDelayMs : undefined,
      tokenTtlSeconds: typeof sbOpts.tokenTtlSeconds === 'number' ? sbOpts.tokenTtlSeconds : undefined,
      seed: typeof sbOpts.seed === 'boolean' ? sbOpts.seed : undefined,
      throttle: isRecord(sbOpts.throttle) ? (sbOpts.throttle as ThrottleOptions) : undefined,
      log: opts.log,
    });
    opts.log.info({ url: sb.url, programId }, 'platform121 sandbox listening');
    return {
      urls: { api: `${sb.url}/api`, control: `${sb.url}/sandbox` },
      settings: sandboxConnectionSettings(sb, programId, username.toLowerCase(), password),
      stop: () => sb.stop(),
    };
  },
};
