/**
 * One place that answers a webhook whose intake failed in a way a retry can fix (Redis unreachable, a reply with an
 * error, replicas not reached): 503 with Retry-After, for every webhook adapter, before the adapter's own catch-all
 * (which answers only if nothing was sent yet). Nothing of such a call was acknowledged, so the source's retry is safe.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { RequestHandler, Response } from 'express';
import { CasewayError } from '../core/errors';
import { isRedisUnavailable } from '../core/store/replies';

/** Seconds a source is asked to wait before retrying. */
export const RETRY_AFTER_SECONDS = 5;

const responses = new AsyncLocalStorage<Response>();

/** Mounted before the webhook routers: remembers which response the current intake call belongs to. */
export const trackWebhookResponse: RequestHandler = (_req, res, next) => responses.run(res, next);

/**
 * Intake errors answered 503: retryable Caseway errors (StoreUnavailableError, RedisUnavailableError, ...), and any
 * error that says Redis was unavailable (isRedisUnavailable) should one reach here untyped.
 */
export function isRetryableIntakeFailure(err: unknown): boolean {
  return (err instanceof CasewayError && err.retryable) || isRedisUnavailable(err);
}

/** 503 + Retry-After, the same body wherever it is answered (webhooks here, any other route in the app's error handler). */
export function sendServiceUnavailable(res: Response, err: unknown): void {
  res.setHeader('Retry-After', String(RETRY_AFTER_SECONDS));
  res.status(503).json({ error: 'Service Unavailable', code: err instanceof CasewayError ? err.code : 'STORE_UNAVAILABLE', retryable: true, retryAfterSeconds: RETRY_AFTER_SECONDS });
}

/** Answers the current webhook call 503 + Retry-After when `err` is a retryable intake failure; returns whether it did. */
export function answerRetryableIntakeFailure(err: unknown): boolean {
  const res = responses.getStore();
  if (!res || res.headersSent || !isRetryableIntakeFailure(err)) return false;
  sendServiceUnavailable(res, err);
  return true;
}
