/**
 * Case payloads hold personal data, so they are encrypted before they reach Redis (AES-256-GCM, random 96-bit IV
 * per payload). Queues carry only references to them. Losing the key makes stored payloads unreadable.
 *
 * Sealed values are stored as bytes (format v2): `v2:` | IV (12 bytes) | GCM tag (16 bytes) | ciphertext. Format v1,
 * written before 2026-12-01, was text: `v1.<IV>.<tag>.<ciphertext>`, each part base64 (a third larger, and encoded on
 * every write, decoded on every read). Both are read, so a hub upgraded over stored cases still opens every one.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { CasewayError, DetailHasher } from '../errors';

const V1_PREFIX = 'v1.';
const V2_HEADER = Buffer.from('v2:', 'latin1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
/** IVs drawn from the CSPRNG in one call: a fresh pool per 256 payloads, each IV handed out once. */
const IVS_PER_POOL = 256;
/** HKDF `info` of the error-detail hash key: a key of its own, never the encryption key itself. */
const DETAIL_HASH_INFO = 'caseway error-detail hash';
/** HKDF `info` of the key's fingerprint: tells two keys apart, and gives nothing of either away. */
const FINGERPRINT_INFO = 'caseway data key fingerprint';

/**
 * A stored sealed value this hub cannot open: not in a known format (v1 or v2), cut short, or its authentication
 * fails (sealed under another data key, or its bytes were changed). No attempt can change that: not retryable, so a
 * delivery meeting one becomes a dead letter at once, with this message, instead of retrying to its limit.
 */
export class SealedValueError extends CasewayError {
  constructor(reason: string) {
    super(`a stored case value cannot be opened: ${reason}`, { code: 'SEALED_VALUE_UNREADABLE', retryable: false });
  }
}

/** The opened text, or SealedValueError when GCM refuses the value (another key, changed bytes, a bad tag). */
function authenticated(open: () => Buffer): string {
  try {
    return open().toString('utf8');
  } catch {
    throw new SealedValueError('it does not authenticate under this data key (sealed under another key, or its bytes were changed)');
  }
}

export class PayloadCipher {
  private readonly key: Buffer;
  private ivPool = Buffer.alloc(0);
  private ivOffset = 0;

  constructor(keyBase64: string) {
    const key = Buffer.from(keyBase64, 'base64');
    if (key.length !== 32) throw new Error('the data key must be 32 bytes, base64-encoded (try: openssl rand -base64 32)');
    this.key = key;
  }

  static generateKey(): string {
    return randomBytes(32).toString('base64');
  }

  /**
   * A random 96-bit IV, as random as randomBytes(12) and never handed out twice: a pool is replaced (not refilled)
   * when used up, so an IV already handed out is never overwritten.
   */
  private nextIv(): Buffer {
    if (this.ivOffset + IV_BYTES > this.ivPool.length) {
      this.ivPool = randomBytes(IV_BYTES * IVS_PER_POOL);
      this.ivOffset = 0;
    }
    const iv = this.ivPool.subarray(this.ivOffset, this.ivOffset + IV_BYTES);
    this.ivOffset += IV_BYTES;
    return iv;
  }

  /** The keyed hasher of peer error free text, its key derived from the data key (HKDF-SHA-256). */
  detailHasher(): DetailHasher {
    return new DetailHasher(Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), DETAIL_HASH_INFO, 32)));
  }

  /** 16 bytes derived from the key (HKDF-SHA-256), hex: equal for equal keys, and no way back to the key. */
  fingerprint(): string {
    return Buffer.from(hkdfSync('sha256', this.key, Buffer.alloc(0), FINGERPRINT_INFO, 16)).toString('hex');
  }

  /** Seals a text (format v2, bytes): what is stored in Redis. */
  seal(plain: string): Buffer {
    const iv = this.nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = cipher.update(plain, 'utf8');
    const last = cipher.final();
    return Buffer.concat([V2_HEADER, iv, cipher.getAuthTag(), body, last]);
  }

  /** Opens a sealed value of either format; throws on another format, a changed byte or another key. */
  open(sealed: Buffer): string {
    if (sealed.length >= V2_HEADER.length + IV_BYTES + TAG_BYTES && sealed.subarray(0, V2_HEADER.length).equals(V2_HEADER)) {
      const ivEnd = V2_HEADER.length + IV_BYTES;
      const decipher = createDecipheriv('aes-256-gcm', this.key, sealed.subarray(V2_HEADER.length, ivEnd), { authTagLength: TAG_BYTES });
      decipher.setAuthTag(sealed.subarray(ivEnd, ivEnd + TAG_BYTES));
      return authenticated(() => Buffer.concat([decipher.update(sealed.subarray(ivEnd + TAG_BYTES)), decipher.final()]));
    }
    if (sealed.subarray(0, V1_PREFIX.length).toString('latin1') === V1_PREFIX) return this.openV1(sealed.toString('latin1'));
    throw new SealedValueError(sealed.length < V2_HEADER.length + IV_BYTES + TAG_BYTES ? 'too short' : 'unknown version');
  }

  /** Format v1 (text, base64 parts), as stored before 2026-12-01. */
  private openV1(sealed: string): string {
    const [, iv, tag, body, extra] = sealed.split('.');
    if (!iv || !tag || body === undefined || extra !== undefined) throw new SealedValueError('a v1 value without its four parts');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'), { authTagLength: TAG_BYTES });
    return authenticated(() => {
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]);
    });
  }
}
