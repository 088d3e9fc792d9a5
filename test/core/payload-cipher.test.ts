/**
 * The payload cipher draws its IVs from a pool (one CSPRNG call per 256 payloads): every payload must still get an
 * IV of its own, across pool boundaries, and open to what was sealed; a changed byte must still be refused. Sealed
 * values are bytes (format v2); values stored as text by earlier versions (format v1) must still open.
 */
import { PayloadCipher, SealedValueError } from '../../src/core/store/payload-cipher';
import { sealV1 } from '../helpers/sealed-v1';

describe('PayloadCipher', () => {
  const key = PayloadCipher.generateKey();
  const cipher = new PayloadCipher(key);

  it('gives every payload its own IV, across several pools, and each opens to what was sealed', () => {
    const sealed = Array.from({ length: 700 }, (_, i) => cipher.seal(`payload ${i}`));
    const ivs = sealed.map((s) => s.subarray(3, 15).toString('hex'));
    expect(new Set(ivs).size).toBe(sealed.length);
    expect(sealed.map((s) => cipher.open(s))).toEqual(Array.from({ length: 700 }, (_, i) => `payload ${i}`));
  });

  it('stores bytes: the v2 header, IV, tag and ciphertext, no base64 and no plaintext', () => {
    const plain = 'Ada Lovelace, born 1815-12-10';
    const sealed = cipher.seal(plain);
    expect(sealed.subarray(0, 3).toString('latin1')).toBe('v2:');
    expect(sealed.length).toBe(3 + 12 + 16 + Buffer.byteLength(plain));
    expect(sealed.includes(Buffer.from('Lovelace'))).toBe(false);
  });

  it('opens non-ASCII text whole', () => {
    const plain = 'Zoë Ångström – 日本語 – 🙂';
    expect(cipher.open(cipher.seal(plain))).toBe(plain);
  });

  it('the same text sealed twice reads differently (fresh IV each time)', () => {
    expect(cipher.seal('same').equals(cipher.seal('same'))).toBe(false);
  });

  it('refuses a payload whose ciphertext, tag or IV was changed, with a typed error that is not retryable', () => {
    const sealed = cipher.seal('hello world');
    for (const at of [3, 15, 31, sealed.length - 1]) {
      const changed = Buffer.from(sealed);
      changed[at] ^= 1;
      expect(() => cipher.open(changed)).toThrow(SealedValueError);
      expect(() => cipher.open(changed)).toThrow(expect.objectContaining({ code: 'SEALED_VALUE_UNREADABLE', retryable: false }));
    }
    expect(cipher.open(Buffer.from(sealed))).toBe('hello world');
  });

  it('refuses a payload cut short, and a value of no known format', () => {
    const sealed = cipher.seal('hello world');
    expect(() => cipher.open(sealed.subarray(0, 20))).toThrow(SealedValueError);
    expect(() => cipher.open(sealed.subarray(0, sealed.length - 1))).toThrow();
    expect(() => cipher.open(Buffer.from('{"plain":"json"} and then some more text'))).toThrow(SealedValueError);
    expect(() => cipher.open(Buffer.from(`v3:${'x'.repeat(40)}`))).toThrow(SealedValueError);
  });

  it('refuses a payload sealed under another key, saying so and nothing of the value', () => {
    const other = new PayloadCipher(PayloadCipher.generateKey());
    expect(() => cipher.open(other.seal('Jane Doe'))).toThrow(/cannot be opened: it does not authenticate under this data key/);
    expect(() => cipher.open(other.seal('Jane Doe'))).toThrow(expect.not.objectContaining({ message: expect.stringContaining('Jane') }));
  });

  describe('values stored as text by earlier versions (format v1)', () => {
    it('opens them', () => {
      expect(cipher.open(Buffer.from(sealV1(key, 'stored before v2 – Zoë')))).toBe('stored before v2 – Zoë');
    });

    it('refuses one whose body was changed, one under another key, and one without its four parts', () => {
      const [v, iv, tag, body] = sealV1(key, 'hello world').split('.');
      const bytes = Buffer.from(body, 'base64');
      bytes[0] ^= 1;
      expect(() => cipher.open(Buffer.from([v, iv, tag, bytes.toString('base64')].join('.')))).toThrow(SealedValueError);
      expect(() => cipher.open(Buffer.from(sealV1(PayloadCipher.generateKey(), 'secret')))).toThrow(SealedValueError);
      expect(() => cipher.open(Buffer.from([v, iv, tag].join('.')))).toThrow(SealedValueError);
      expect(() => cipher.open(Buffer.from([v, iv, tag, body, 'x'].join('.')))).toThrow(SealedValueError);
    });

    it('refuses one whose tag was cut short (a tag of fewer than 16 bytes is not accepted)', () => {
      const [v, iv, tag, body] = sealV1(key, 'hello world').split('.');
      const short = Buffer.from(tag, 'base64').subarray(0, 4).toString('base64');
      expect(() => cipher.open(Buffer.from([v, iv, short, body].join('.')))).toThrow(SealedValueError);
    });
  });
});
