/**
 * The payload cipher draws its IVs from a pool (one CSPRNG call per 256 payloads): every payload must still get an
 * IV of its own, across pool boundaries, and decrypt to what was sealed; a changed byte must still be refused.
 */
import { PayloadCipher } from '../../src/core/store/payload-cipher';

describe('PayloadCipher', () => {
  const cipher = new PayloadCipher(PayloadCipher.generateKey());

  it('gives every payload its own IV, across several pools, and each decrypts to what was sealed', () => {
    const sealed = Array.from({ length: 700 }, (_, i) => cipher.encrypt(`payload ${i}`));
    const ivs = sealed.map((s) => s.split('.')[1]);
    expect(ivs.every((iv) => Buffer.from(iv, 'base64').length === 12)).toBe(true);
    expect(new Set(ivs).size).toBe(sealed.length);
    expect(sealed.map((s) => cipher.decrypt(s))).toEqual(Array.from({ length: 700 }, (_, i) => `payload ${i}`));
  });

  it('the same text sealed twice reads differently (fresh IV each time)', () => {
    expect(cipher.encrypt('same')).not.toBe(cipher.encrypt('same'));
  });

  it('refuses a payload whose body was changed', () => {
    const [v, iv, tag, body] = cipher.encrypt('hello world').split('.');
    const bytes = Buffer.from(body, 'base64');
    bytes[0] ^= 1;
    expect(() => cipher.decrypt([v, iv, tag, bytes.toString('base64')].join('.'))).toThrow();
  });

  it('refuses a payload sealed under another key', () => {
    const other = new PayloadCipher(PayloadCipher.generateKey());
    expect(() => cipher.decrypt(other.encrypt('secret'))).toThrow();
  });
});
