/** Connection settings of a 121-platform connection (see configuration-schema.json) and their defaults. */
import { DEFAULT_MAX_RESPONSE_BYTES } from 'caseway/core';

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

export const DEFAULT_ATTRIBUTE_MAPPING: Readonly<Record<string, string>> = { 'person.fullName': 'fullName' };

export function resolveSettings(s: Platform121Settings): ResolvedSettings {
  return {
    baseUrl: s.baseUrl.replace(/\/+$/, ''),
    programId: s.programId,
    username: s.username,
    password: s.password,
    programFspConfigurationName: s.programFspConfigurationName,
    attributeMapping: { ...(s.attributeMapping ?? DEFAULT_ATTRIBUTE_MAPPING) },
    attributeDefaults: { ...(s.attributeDefaults ?? {}) },
    requestsPerMinute: s.throttle?.requestsPerMinute ?? 2400,
    loginsPerMinute: s.throttle?.loginsPerMinute ?? 20,
    batchSize: Math.min(Math.max(s.batchSize ?? 1000, 1), 1000),
    batchWaitMs: s.batchWaitMs ?? 200,
    statusConfirmTimeoutMs: s.statusConfirmTimeoutMs ?? 60_000,
    statusConfirmIntervalMs: s.statusConfirmIntervalMs ?? 500,
    timeoutMs: s.timeoutMs ?? 30_000,
    maxResponseBytes: s.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
    importTimeoutMs: s.importTimeoutMs ?? 300_000,
    maxRetries: s.maxRetries ?? 3,
    retryBaseDelayMs: s.retryBaseDelayMs ?? 500,
    referenceIdPrefix: s.referenceIdPrefix ?? 'cw-',
    updateReason: s.updateReason ?? 'Updated by Caseway',
  };
}
