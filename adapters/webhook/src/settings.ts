/** Connection settings of a webhook connection, and the defaults the adapter fills in. */

import type { WebhookSettings } from './settings.generated';

/** The settings types are generated from configuration-schema.json (`npm run gen:types`); these name their parts. */
export type { WebhookSettings };
export type InboundSettings = NonNullable<WebhookSettings['inbound']>;

export const ADAPTER = 'webhook';
export const DEFAULT_TIMEOUT_MS = 15000;
export const DEFAULT_MAX_RETRY_AFTER_MS = 30000;
export const DEFAULT_TOLERANCE_SECONDS = 300;
export const DEFAULT_BODY_LIMIT_BYTES = 1024 * 1024;

export function inboundPath(connection: string, settings: WebhookSettings, options: { path?: string }): string {
  const fromOptions = options.path || undefined;
  return fromOptions ?? settings.inbound?.path ?? `/webhooks/${encodeURIComponent(connection)}`;
}
