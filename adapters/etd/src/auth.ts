/**
 * Inbound authentication (the spec leaves it TBD): an API key in a header, and per key an optional IP allowlist.
 * No key or an unknown key -> 401; a known key from an address outside its allowlist -> 403.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { normaliseIp } from 'caseway/core';
import type { ApiKeySetting } from './settings';

export type AuthOutcome = { ok: true; keyName?: string } | { ok: false; status: 401 | 403 };

export interface AuthOptions {
  apiKeys: ApiKeySetting[];
  header: string;
  allowUnauthenticated?: boolean;
}

/** An allowlist from addresses and CIDR ranges (IPv4 and IPv6). Throws naming the entry's position, not its value. */
export function buildAllowList(entries: string[], label: string): BlockList {
  const list = new BlockList();
  entries.forEach((entry, i) => {
    const [rawAddress, prefix] = entry.split('/');
    const address = normaliseIp(rawAddress ?? '');
    const family = isIP(address);
    if (!family) throw new Error(`etd inbound.apiKeys "${label}": allowIps[${i}] is not an IP address or CIDR range`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      return;
    }
    const bits = Number(prefix);
    if (!/^\d+$/.test(prefix) || bits > (family === 4 ? 32 : 128)) {
      throw new Error(`etd inbound.apiKeys "${label}": allowIps[${i}] has an invalid prefix length`);
    }
    list.addSubnet(address, bits, type);
  });
  return list;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

export function createAuthenticator(options: AuthOptions): (headers: Record<string, string | string[] | undefined>, remoteAddress: string | undefined) => AuthOutcome {
  const header = options.header.toLowerCase();
  const keys = options.apiKeys.map((k) => ({
    name: k.name,
    digest: digest(k.key),
    allow: k.allowIps && k.allowIps.length ? buildAllowList(k.allowIps, k.name) : undefined,
  }));
  return (headers, remoteAddress) => {
    const raw = headers[header];
    const given = Array.isArray(raw) ? raw[0] : raw;
    if (given === undefined || given === '') return options.allowUnauthenticated ? { ok: true } : { ok: false, status: 401 };
    const givenDigest = digest(given);
    // Compare against every key (constant time each) so timing does not tell which keys exist.
    let match: (typeof keys)[number] | undefined;
    for (const key of keys) if (timingSafeEqual(key.digest, givenDigest) && !match) match = key;
    if (!match) return { ok: false, status: 401 };
    if (match.allow) {
      const address = normaliseIp(remoteAddress ?? '');
      const family = isIP(address);
      if (!family || !match.allow.check(address, family === 4 ? 'ipv4' : 'ipv6')) return { ok: false, status: 403 };
    }
    return { ok: true, keyName: match.name };
  };
}
