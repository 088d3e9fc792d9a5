/**
 * Case payloads hold personal data, so they are encrypted before they reach Redis (AES-256-GCM, random 96-bit IV
 * per payload). Queues carry only references to them. Losing the key makes stored payloads unreadable.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { DetailHasher } from '../errors';

const VERSION = 'v1';
const IV_BYTES = 12;
/** IVs drawn from the CSPRNG in one call: a fresh pool per 256 payloads, each IV handed out once. */
const IVS_PER_POOL = 256;
/** HKDF `info` of the error-detail hash key: a key of its own, never the encryption key itself. */
const DETAIL_HASH_INFO = 'caseway error-detail hash';

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

  encrypt(plain: string): string {
    const iv = this.nextIv();
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return [VERSION, iv.toString('base64'), cipher.getAuthTag().toString('base64'), body.toString('base64')].join('.');
  }

  decrypt(sealed: string): string {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) throw new Error('stored payload is not in a known encrypted format');
    const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  }
}
