/**
 * Connection settings (configuration-schema.json) and the URLs they resolve to for each iCasework generation:
 *   legacy     https://portal.icasework.com/services/{account}/{op}
 *   subdomain  https://{account}.icasework.com/{op}          (current production / eUAT)
 *   db         https://uat.icasework.com/{op}?db={account}   (current UAT)
 * getreport lives on a separate reporting host for the current generations: https://{account}reports.icasework.com.
 */
import { schemaDefaults } from 'caseway/core';
import schema from '../configuration-schema.json';
import type { IcaseworkSettings } from './settings.generated';

/** The settings type is generated from configuration-schema.json (`npm run gen:types`); these name its parts. */
export type { IcaseworkSettings };
export type UrlStyle = NonNullable<IcaseworkSettings['urlStyle']>;
export type AuthMode = NonNullable<IcaseworkSettings['authMode']>;
export type ReplyFormat = NonNullable<IcaseworkSettings['format']>;

/** Settings with every default applied. */
export interface ResolvedSettings {
  urlStyle: UrlStyle;
  baseUrl: string;
  account?: string;
  reportsBaseUrl: string;
  authMode: AuthMode;
  key: string;
  secret: string;
  tokenUrl: string;
  tokenRefreshSkewSeconds: number;
  format: ReplyFormat;
  signedParameters: Record<string, string[]>;
  timeoutMs: number;
  readRetries: number;
  retryBaseDelayMs: number;
  retryableErrorCodes: string[];
  maxResponseBytes: number;
  healthReportId?: string;
}

/**
 * Which parameter each operation signs. The vendor documents createcase (none: date + secret) and the calls on a
 * case (CaseId, or ExternalId when that identifies the case; worked example on updateexternalid); uploaddocuments and
 * getcasedocuments take CaseId only. For addcasenotes, updatecustomer, updatecase and getreport the signed parameter
 * is UNKNOWN: by analogy CaseId/ExternalId, Id and ReportId. test/signed-parameters.test.ts holds this table against
 * the sandbox's own, written from the reference.
 */
export const DEFAULT_SIGNED_PARAMETERS: Record<string, string[]> = {
  createcase: [],
  getcasedetails: ['CaseId', 'ExternalId'],
  getcasedocuments: ['CaseId'],
  uploaddocuments: ['CaseId'],
  updatecase: ['CaseId', 'ExternalId'],
  addcasenotes: ['CaseId', 'ExternalId'],
  updateexternalid: ['CaseId'],
  updatecustomer: ['Id'],
  getreport: ['ReportId'],
};

const DEFAULT_BASE_URL: Record<UrlStyle, string> = {
  legacy: 'https://portal.icasework.com',
  subdomain: 'https://{account}.icasework.com',
  db: 'https://uat.icasework.com',
};

function stripSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function fillAccount(url: string, account: string | undefined, field: string): string {
  if (!url.includes('{account}')) return url;
  if (!account) throw new Error(`icasework settings: ${field} contains {account} but no account is set`);
  return url.split('{account}').join(encodeURIComponent(account));
}

/** The defaults configuration-schema.json declares: the values live there only. */
const defaultOf = schemaDefaults<IcaseworkSettings>(schema, 'icasework configuration-schema.json');

export function resolveSettings(raw: IcaseworkSettings): ResolvedSettings {
  const urlStyle = raw.urlStyle ?? defaultOf('urlStyle');
  if ((urlStyle === 'legacy' || urlStyle === 'db') && !raw.account) {
    throw new Error(`icasework settings: account is required for urlStyle ${urlStyle}`);
  }
  const baseUrl = stripSlash(fillAccount(raw.baseUrl ?? DEFAULT_BASE_URL[urlStyle], raw.account, 'baseUrl'));
  const defaultReports = urlStyle === 'subdomain' && !raw.baseUrl ? 'https://{account}reports.icasework.com' : baseUrl;
  const reportsBaseUrl = stripSlash(fillAccount(raw.reportsBaseUrl ?? defaultReports, raw.account, 'reportsBaseUrl'));
  const resolved: ResolvedSettings = {
    urlStyle,
    baseUrl,
    account: raw.account,
    reportsBaseUrl,
    authMode: raw.authMode ?? defaultOf('authMode'),
    key: raw.key,
    secret: raw.secret,
    tokenUrl: '',
    tokenRefreshSkewSeconds: raw.tokenRefreshSkewSeconds ?? defaultOf('tokenRefreshSkewSeconds'),
    format: raw.format ?? defaultOf('format'),
    signedParameters: { ...DEFAULT_SIGNED_PARAMETERS, ...(raw.signedParameters ?? {}) },
    timeoutMs: raw.timeoutMs ?? defaultOf('timeoutMs'),
    readRetries: raw.readRetries ?? defaultOf('readRetries'),
    retryBaseDelayMs: raw.retryBaseDelayMs ?? defaultOf('retryBaseDelayMs'),
    retryableErrorCodes: raw.retryableErrorCodes ?? defaultOf('retryableErrorCodes'),
    maxResponseBytes: raw.maxResponseBytes ?? defaultOf('maxResponseBytes'),
    healthReportId: raw.healthReportId,
  };
  resolved.tokenUrl = raw.tokenUrl ? fillAccount(raw.tokenUrl, raw.account, 'tokenUrl') : operationUrl(resolved, 'token');
  return resolved;
}

/** The full URL of one operation (getreport goes to the reports host). */
export function operationUrl(settings: ResolvedSettings, op: string): string {
  const host = op === 'getreport' ? settings.reportsBaseUrl : settings.baseUrl;
  const account = settings.account ?? '';
  switch (settings.urlStyle) {
    case 'legacy':
      return `${host}/services/${encodeURIComponent(account)}/${op}`;
    case 'db':
      return `${host}/${op}?db=${encodeURIComponent(account)}`;
    default:
      return `${host}/${op}`;
  }
}
