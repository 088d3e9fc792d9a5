/** Connection settings of a webhook connection, and the defaults the adapter fills in (configuration-schema.json's). */

import { propertySchema, schemaDefaults } from 'caseway/core';
import schema from '../configuration-schema.json';
import type { WebhookSettings } from './settings.generated';

/** The settings types are generated from configuration-schema.json (`npm run gen:types`); these name their parts. */
export type { WebhookSettings };
export type InboundSettings = NonNullable<WebhookSettings['inbound']>;

export const ADAPTER = 'webhook';

// The defaults configuration-schema.json declares: the values live there only.
const SCHEMA_FILE = 'webhook configuration-schema.json';
const defaultOf = schemaDefaults<WebhookSettings>(schema, SCHEMA_FILE);
const inboundDefault = schemaDefaults<InboundSettings>(propertySchema(schema, 'inbound'), `${SCHEMA_FILE} inbound`);
export const DEFAULT_METHOD = defaultOf('method');
export const DEFAULT_TIMEOUT_MS = defaultOf('timeoutMs');
export const DEFAULT_MAX_RESPONSE_BYTES = defaultOf('maxResponseBytes');
export const DEFAULT_MAX_RETRY_AFTER_MS = defaultOf('maxRetryAfterMs');
export const DEFAULT_TOLERANCE_SECONDS = inboundDefault('toleranceSeconds');
export const DEFAULT_BODY_LIMIT_BYTES = inboundDefault('bodyLimitBytes');

export function inboundPath(connection: string, settings: WebhookSettings, options: { path?: string }): string {
  const fromOptions = options.path || undefined;
  return fromOptions ?? settings.inbound?.path ?? `/webhooks/${encodeURIComponent(connection)}`;
}
