/** Connection settings of an ETD connection, and the defaults the adapter fills in (configuration-schema.json's). */

import { propertySchema, schemaDefaults } from 'caseway/core';
import schema from '../configuration-schema.json';
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

// The defaults configuration-schema.json declares: the values live there only.
const SCHEMA_FILE = 'etd configuration-schema.json';
const defaultOf = schemaDefaults<EtdSettings>(schema, SCHEMA_FILE);
const inboundSchema = propertySchema(schema, 'inbound');
const inboundDefault = schemaDefaults<InboundSettings>(inboundSchema, `${SCHEMA_FILE} inbound`);
const validationDefault = schemaDefaults<ValidationSettings>(propertySchema(inboundSchema, 'validation'), `${SCHEMA_FILE} inbound.validation`);

/** Outbound (IIZUKA): the header the API key goes in, the timeout, the passport field's name. */
export const DEFAULT_API_KEY_HEADER = defaultOf('apiKeyHeader');
export const DEFAULT_TIMEOUT_MS = defaultOf('timeoutMs');
export const DEFAULT_PASSPORT_ISSUED_IN_UK_FIELD: PassportIssuedInUKField = defaultOf('passportIssuedInUKField');
/** Inbound (the web form's POST). */
export const DEFAULT_INBOUND_PATH = inboundDefault('path');
export const DEFAULT_INBOUND_API_KEY_HEADER = inboundDefault('apiKeyHeader');
export const DEFAULT_BODY_LIMIT_BYTES = inboundDefault('bodyLimitBytes');
export const DEFAULT_IDEMPOTENCY_KEY_TTL_SECONDS = inboundDefault('idempotencyKeyTtlSeconds');
export const DEFAULT_IDEMPOTENCY_IN_FLIGHT_SECONDS = inboundDefault('idempotencyInFlightSeconds');
export const DEFAULT_CASE_INSENSITIVE_ENUMS = validationDefault('caseInsensitiveEnums');

export function inboundPath(settings: EtdSettings, options: { path?: string }): string {
  const fromOptions = options.path || undefined;
  return fromOptions ?? settings.inbound?.path ?? DEFAULT_INBOUND_PATH;
}
