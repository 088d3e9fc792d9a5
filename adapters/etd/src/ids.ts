/** Deterministic ids for an application: the same content (whatever its key order or spacing) gives the same ids. */
import { canonicalJson, sha256Hex, type JsonObject } from './json';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** sha256 of the etdApp with keys sorted: the hub's event id for the application. */
export function applicationDigest(etdApp: JsonObject): string {
  return sha256Hex(canonicalJson(etdApp));
}

/** "ETD" + 10 Crockford base-32 characters (50 bits) of the digest, e.g. "ETD4M9Q2ZK7XP". */
export function appRefNumberFor(digest: string): string {
  let bits = BigInt(`0x${digest.slice(0, 13)}`) >> 2n; // 52 bits -> 50
  let out = '';
  for (let i = 0; i < 10; i++) {
    out = CROCKFORD[Number(bits & 31n)] + out;
    bits >>= 5n;
  }
  return `ETD${out}`;
}
