/** Connection settings of an ETD connection, and the defaults the adapter fills in. */

import type { EtdSettings } from './settings.generated';

/** The settings types are generated from configuration-schema.json (`npm run gen:types`); these name their parts. */
export type { EtdSettings };
export type InboundSettings = NonNullable<EtdSettings['inbound']>;
export type ApiKeySetting = NonNullable<InboundSettings['apiKeys']>[number];
/** Tunables for the rules the spec leaves TBD. Both the inbound endpoint and the sandbox peer apply them. */
export type ValidationSettings = NonNullable<InboundSettings['validation']>;
export type ValidationPatterns = NonNullable<ValidationSettings['patterns']>;
/** The name the outbound side sends passportDetails' issued-in-the-UK y/n under (the spec's 2015 name or the current one). */
export type PassportIssuedInUKField = NonNullable<EtdSettings['passportIssuedInUKField']>;

export const DEFAULT_INBOUND_PATH = '/etd/application';
export const DEFAULT_API_KEY_HEADER = 'X-API-Key';
export const DEFAULT_BODY_LIMIT_BYTES = 102400;
export const DEFAULT_TIMEOUT_MS = 15000;
export const DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS = 86400;
export const DEFAULT_IDEMPOTENCY_IN_FLIGHT_SECONDS = 15;
export const DEFAULT_PASSPORT_ISSUED_IN_UK_FIELD: PassportIssuedInUKField = 'passportIssuedInUK';

export function inboundPath(settings: EtdSettings, options: { path?: string }): string {
  const fromOptions = options.path || undefined;
  return fromOptions ?? settings.inbound?.path ?? DEFAULT_INBOUND_PATH;
}
