/**
 * Standard Webhooks (https://www.standardwebhooks.com): webhook-id, webhook-timestamp (Unix seconds) and
 * webhook-signature "v1,<base64 HMAC-SHA256 of id.timestamp.body>" under a "whsec_" secret. The HMAC is the
 * `standardwebhooks` package's; the timestamp window is checked here so that it can be configured (the package's
 * own verify() fixes it at five minutes).
 */
import { timingSafeEqual } from 'node:crypto';
import { Webhook } from 'standardwebhooks';

export const HEADER_ID = 'webhook-id';
export const HEADER_TIMESTAMP = 'webhook-timestamp';
export const HEADER_SIGNATURE = 'webhook-signature';

export interface SignatureHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
}

/** The three headers for one send of a message. The id stays the same on every retry; timestamp and signature do not. */
export function signatureHeaders(secret: string, webhookId: string, body: string, now: Date = new Date()): SignatureHeaders {
  const signature = new Webhook(secret).sign(webhookId, now, body);
  return { 'webhook-id': webhookId, 'webhook-timestamp': String(Math.floor(now.getTime() / 1000)), 'webhook-signature': signature };
}

export type VerifyOutcome =
  | { ok: true; webhookId: string; timestamp: number }
  | { ok: false; status: 400 | 401; reason: 'missing-headers' | 'bad-timestamp' | 'timestamp-outside-tolerance' | 'bad-signature' | 'no-secret' };

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** True when the secret is usable by the package ("whsec_" + non-empty base64, or plain base64). */
export function isUsableSecret(secret: string): boolean {
  try {
    new Webhook(secret);
    return true;
  } catch {
    return false;
  }
}

export function verifySignature(
  secrets: readonly string[],
  headers: Record<string, string | string[] | undefined>,
  body: Buffer,
  toleranceSeconds: number,
  nowMs: number = Date.now(),
): VerifyOutcome {
  const webhookId = header(headers, HEADER_ID);
  const stamp = header(headers, HEADER_TIMESTAMP);
  const signatures = header(headers, HEADER_SIGNATURE);
  if (!webhookId || !stamp || !signatures) return { ok: false, status: 400, reason: 'missing-headers' };
  if (!/^[0-9]{1,12}$/.test(stamp)) return { ok: false, status: 400, reason: 'bad-timestamp' };
  const timestamp = Number(stamp);
  if (Math.abs(Math.floor(nowMs / 1000) - timestamp) > toleranceSeconds) return { ok: false, status: 401, reason: 'timestamp-outside-tolerance' };
  if (!secrets.length) return { ok: false, status: 401, reason: 'no-secret' };
  const payload = body.toString('utf8');
  const offered = signatures
    .split(' ')
    .map((s) => s.split(','))
    .filter(([version, sig]) => version === 'v1' && typeof sig === 'string' && sig.length > 0)
    .map(([, sig]) => Buffer.from(sig));
  for (const secret of secrets) {
    const expected = Buffer.from(new Webhook(secret).sign(webhookId, new Date(timestamp * 1000), payload).split(',')[1]);
    if (offered.some((sig) => sig.length === expected.length && timingSafeEqual(sig, expected))) return { ok: true, webhookId, timestamp };
  }
  return { ok: false, status: 401, reason: 'bad-signature' };
}
