/** Connection settings of a 121-platform connection (see configuration-schema.json) and their defaults. */
import { propertySchema, schemaDefaults } from 'caseway/core';
import schema from '../configuration-schema.json';
import type { Platform121Settings } from './settings.generated';

/** The settings type is generated from configuration-schema.json (`npm run gen:types`). */
export type { Platform121Settings };
export type AttributeValue = string | number | boolean;

export interface ResolvedSettings {
  baseUrl: string;
  programId: number;
  username: string;
  password: string;
  programFspConfigurationName?: string;
  attributeMapping: Record<string, string>;
  attributeDefaults: Record<string, AttributeValue>;
  requestsPerMinute: number;
  loginsPerMinute: number;
  batchSize: number;
  batchWaitMs: number;
  statusConfirmTimeoutMs: number;
  statusConfirmIntervalMs: number;
  timeoutMs: number;
  maxResponseBytes: number;
  importTimeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  referenceIdPrefix: string;
  updateReason: string;
}

// The defaults configuration-schema.json declares: the values live there only.
const SCHEMA_FILE = '121-platform configuration-schema.json';
const defaultOf = schemaDefaults<Platform121Settings>(schema, SCHEMA_FILE);
export const DEFAULT_ATTRIBUTE_MAPPING: Readonly<Record<string, string>> = defaultOf('attributeMapping');
const throttleDefault = schemaDefaults<NonNullable<Platform121Settings['throttle']>>(propertySchema(schema, 'throttle'), `${SCHEMA_FILE} throttle`);

export function resolveSettings(s: Platform121Settings): ResolvedSettings {
  return {
    baseUrl: s.baseUrl.replace(/\/+$/, ''),
    programId: s.programId,
    username: s.username,
    password: s.password,
    programFspConfigurationName: s.programFspConfigurationName,
    attributeMapping: { ...(s.attributeMapping ?? DEFAULT_ATTRIBUTE_MAPPING) },
    attributeDefaults: { ...(s.attributeDefaults ?? {}) },
    requestsPerMinute: s.throttle?.requestsPerMinute ?? throttleDefault('requestsPerMinute'),
    loginsPerMinute: s.throttle?.loginsPerMinute ?? throttleDefault('loginsPerMinute'),
    batchSize: Math.min(Math.max(s.batchSize ?? defaultOf('batchSize'), 1), 1000),
    batchWaitMs: s.batchWaitMs ?? defaultOf('batchWaitMs'),
    statusConfirmTimeoutMs: s.statusConfirmTimeoutMs ?? defaultOf('statusConfirmTimeoutMs'),
    statusConfirmIntervalMs: s.statusConfirmIntervalMs ?? defaultOf('statusConfirmIntervalMs'),
    timeoutMs: s.timeoutMs ?? defaultOf('timeoutMs'),
    maxResponseBytes: s.maxResponseBytes ?? defaultOf('maxResponseBytes'),
    importTimeoutMs: s.importTimeoutMs ?? defaultOf('importTimeoutMs'),
    maxRetries: s.maxRetries ?? defaultOf('maxRetries'),
    retryBaseDelayMs: s.retryBaseDelayMs ?? defaultOf('retryBaseDelayMs'),
    referenceIdPrefix: s.referenceIdPrefix ?? defaultOf('referenceIdPrefix'),
    updateReason: s.updateReason ?? defaultOf('updateReason'),
  };
}
