/**
 * A sealed value in format v1, as hubs before 2026-12-01 stored it (`v1.<iv>.<tag>.<ciphertext>`, each part base64),
 * built here from the format, not from the cipher: tests of reading values an earlier hub left in Redis.
 */
import { createCipheriv, randomBytes } from 'node:crypto';

export function sealV1(keyBase64: string, plain: string): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', Buffer.from(keyBase64, 'base64'), iv);
  const body = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
  return ['v1', iv.toString('base64'), c.getAuthTag().toString('base64'), body.toString('base64')].join('.');
}
