/**
 * Connection settings (configuration-schema.json) and their defaults. The mail settings use camelCase names for the
 * properties of iSupport's ApplicationResource.properties:
 *   SCHEDULAR_SMTP_HOST -> smtp.host, EXPORT_BATCH_REQUEST_MAIL_SUBJECT -> smtp.subject,
 *   EXPORT_BATCH_REQUEST_MAIL_FROM -> smtp.from, EXPORT_BATCH_REQUEST_MAIL_TO -> smtp.to, SUPPORT_EMAIL -> smtp.supportEmail.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { propertySchema, schemaDefaults } from 'caseway/core';
import schema from '../configuration-schema.json';
import type { IsupportSettings } from './settings.generated';

/** The settings types are generated from configuration-schema.json (`npm run gen:types`); these name their parts. */
export type { IsupportSettings };
/** File server protocol: sftp (default), ftp, or ftps (explicit TLS). */
export type TransportName = NonNullable<IsupportSettings['transport']>;
/** The file server block; named `sftp` for existing configurations, it serves every transport. */
export type SftpSettings = IsupportSettings['sftp'];
/** TLS of an `ftps` connection (explicit TLS: AUTH TLS on the control port, protected data connections). */
export type FtpsTlsSettings = NonNullable<SftpSettings['tls']>;
export type SmtpSettings = NonNullable<IsupportSettings['smtp']>;
export type PollingSettings = NonNullable<IsupportSettings['polling']>;
export type ApiSettings = IsupportSettings['api'];

// The defaults configuration-schema.json declares: the values live there only. The mail ones are the seed's
// ApplicationResource.properties values, used where a connection leaves a mail setting out.
const SCHEMA_FILE = 'isupport configuration-schema.json';
const defaultOf = schemaDefaults<IsupportSettings>(schema, SCHEMA_FILE);
const sftpSchema = propertySchema(schema, 'sftp');
const sftpDefault = schemaDefaults<SftpSettings>(sftpSchema, `${SCHEMA_FILE} sftp`);
const tlsDefault = schemaDefaults<FtpsTlsSettings>(propertySchema(sftpSchema, 'tls'), `${SCHEMA_FILE} sftp.tls`);
const apiDefault = schemaDefaults<ApiSettings>(propertySchema(schema, 'api'), `${SCHEMA_FILE} api`);
const smtpDefault = schemaDefaults<SmtpSettings>(propertySchema(schema, 'smtp'), `${SCHEMA_FILE} smtp`);
const pollingDefault = schemaDefaults<PollingSettings>(propertySchema(schema, 'polling'), `${SCHEMA_FILE} polling`);

export const DEFAULT_TRANSPORT = defaultOf('transport');
export const DEFAULT_FILE_MODE = defaultOf('fileMode');
export const DEFAULT_BOM = defaultOf('bom');
export const DEFAULT_REQUEST_PREFIX = defaultOf('requestPrefix');
export const DEFAULT_REFERENCE_DATA_REFRESH_MS = defaultOf('referenceDataRefreshMs');
export const DEFAULT_READY_TIMEOUT_MS = sftpDefault('readyTimeoutMs');
export const DEFAULT_TLS_REJECT_UNAUTHORIZED = tlsDefault('rejectUnauthorized');
export const DEFAULT_API_TIMEOUT_MS = apiDefault('timeoutMs');
export const DEFAULT_API_MAX_RESPONSE_BYTES = apiDefault('maxResponseBytes');
export const DEFAULT_CASE_ID_ESCAPING = apiDefault('caseIdEscaping');

export interface ResolvedSmtp {
  host: string;
  port: number;
  secure: boolean;
  username?: string;
  password?: string;
  subject: string;
  from: string;
  to: string;
  supportEmail: string;
  exportSupportEmail: string;
  deadLetterTo: string;
  timeZone: string;
}

export function resolveSmtp(smtp: SmtpSettings): ResolvedSmtp {
  const supportEmail = smtp.supportEmail ?? smtpDefault('supportEmail');
  return {
    host: smtp.host,
    port: smtp.port ?? smtpDefault('port'),
    secure: smtp.secure ?? smtpDefault('secure'),
    username: smtp.username,
    password: smtp.password,
    subject: smtp.subject ?? smtpDefault('subject'),
    from: smtp.from ?? smtpDefault('from'),
    to: smtp.to ?? smtpDefault('to'),
    supportEmail,
    exportSupportEmail: smtp.exportSupportEmail ?? smtpDefault('exportSupportEmail'),
    deadLetterTo: smtp.deadLetterTo ?? supportEmail,
    timeZone: smtp.timeZone ?? smtpDefault('timeZone'),
  };
}

/** Every polling setting has a schema default, so the resolved block is the settings type with none left out. */
export type ResolvedPolling = Required<PollingSettings>;

export function resolvePolling(p: PollingSettings | undefined): ResolvedPolling {
  return {
    stableWaitMs: p?.stableWaitMs ?? pollingDefault('stableWaitMs'),
    maxFoldersPerPoll: p?.maxFoldersPerPoll ?? pollingDefault('maxFoldersPerPoll'),
    emitBatchSize: p?.emitBatchSize ?? pollingDefault('emitBatchSize'),
    emitBatchRows: p?.emitBatchRows ?? pollingDefault('emitBatchRows'),
    maxBufferedRows: p?.maxBufferedRows ?? pollingDefault('maxBufferedRows'),
    incompleteTimeoutMs: p?.incompleteTimeoutMs ?? pollingDefault('incompleteTimeoutMs'),
    folderLockMs: p?.folderLockMs ?? pollingDefault('folderLockMs'),
    tempSuffixes: p?.tempSuffixes ?? pollingDefault('tempSuffixes'),
  };
}

export interface ResolvedDirs {
  exportDir: string;
  importDir: string;
  archiveDir: string;
  failedDir: string;
  stagingDir?: string;
}

function trimSlash(dir: string): string {
  return dir.length > 1 ? dir.replace(/\/+$/, '') : dir;
}

export function resolveDirs(sftp: SftpSettings): ResolvedDirs {
  const exportDir = trimSlash(sftp.exportDir);
  return {
    exportDir,
    importDir: trimSlash(sftp.importDir),
    archiveDir: trimSlash(sftp.archiveDir ?? path.posix.join(exportDir, 'archive')),
    failedDir: trimSlash(sftp.failedDir ?? path.posix.join(exportDir, 'failed')),
    stagingDir: sftp.stagingDir ? trimSlash(sftp.stagingDir) : undefined,
  };
}

/** The repository's config/ folder: found by walking up from this file, so it works from src and from dist. */
export function repoConfigDir(): string {
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const candidate = path.join(dir, 'config', 'isupport');
    if (existsSync(candidate)) return path.join(dir, 'config');
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.resolve('config');
}

export const DEFAULT_LAYOUT_FILES = {
  export: 'isupport/export-layout.json',
  import: 'isupport/import-layout.json',
  codeLists: 'isupport/code-lists.json',
} as const;

/** Absolute path of a layout file: the connection's own (relative to the working directory) or the default one. */
export function layoutPath(settings: IsupportSettings, which: keyof typeof DEFAULT_LAYOUT_FILES): string {
  const own = settings.layouts?.[which];
  if (own) return path.resolve(own);
  return path.join(repoConfigDir(), DEFAULT_LAYOUT_FILES[which]);
}
