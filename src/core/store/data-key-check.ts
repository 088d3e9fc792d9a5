/**
 * Every hub process on one Redis prefix must seal and open with the same data key. A process started with another
 * key would store cases the others cannot open (their deliveries fail, intake cannot read the views it wrote) and
 * could not open theirs: cases corrupted by configuration. So the first process on a prefix records the key's
 * fingerprint (PayloadCipher.fingerprint: HKDF of the key, nothing of the key itself), and every process compares its
 * own with it before it writes anything, refusing to start on a mismatch.
 *
 * A prefix that already holds sealed values but no fingerprint (cases stored by a hub before this check) is checked
 * against one stored payload before the fingerprint is recorded, so an upgrade started with the wrong key stops too.
 */
import type { Redis } from 'ioredis';
import { CasewayError } from '../errors';
import { keysWithPrefix } from '../redis';
import type { Keys } from './keys';
import type { PayloadCipher } from './payload-cipher';

/** This process's data key is not the one the cases on this prefix are sealed with; nothing was written. */
export class DataKeyMismatchError extends CasewayError {
  constructor(readonly prefix: string, reason: string) {
    super(
      `the data key (CASEWAY_DATA_KEY or hub.dataKey) is not the one the cases on Redis prefix "${prefix}" are sealed with (${reason}); every hub process on a prefix needs the same key, so this one did not start and wrote nothing`,
      { code: 'DATA_KEY_MISMATCH', retryable: false, context: { prefix } },
    );
  }
}

/**
 * A stored payload of this prefix, if there is one. Runs only while no fingerprint is recorded (once per prefix), so
 * a SCAN through a large Redis that holds none is paid once.
 */
async function someStoredPayload(redis: Redis, keys: Keys): Promise<Buffer | null> {
  for await (const batch of keysWithPrefix(redis, keys.payload(''))) {
    for (const key of batch) {
      const value = await redis.getBuffer(key).catch(() => null);
      if (value) return value;
    }
  }
  return null;
}

/**
 * Records this key's fingerprint on the prefix, or checks it against the one recorded. Returns what it did; throws
 * DataKeyMismatchError when the key is not the prefix's.
 */
export async function checkDataKey(redis: Redis, keys: Keys, cipher: PayloadCipher): Promise<'recorded' | 'matched'> {
  const own = cipher.fingerprint();
  const key = keys.dataKeyCheck();
  let stored = await redis.get(key);
  if (stored === null) {
    const probe = await someStoredPayload(redis, keys);
    if (probe) {
      try {
        cipher.open(probe);
      } catch {
        throw new DataKeyMismatchError(keys.prefix, 'a stored case payload does not open with it');
      }
    }
    // Two processes starting together: the first SET wins, the other compares with it.
    if ((await redis.set(key, own, 'NX')) === 'OK') return 'recorded';
    stored = await redis.get(key);
  }
  if (stored !== own) throw new DataKeyMismatchError(keys.prefix, `fingerprint ${own.slice(0, 8)}… here, ${String(stored).slice(0, 8)}… recorded`);
  return 'matched';
}
