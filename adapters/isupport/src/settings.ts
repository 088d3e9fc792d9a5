/**
 * Connection settings (configuration-schema.json) and their defaults. The mail settings use camelCase names for the
 * properties of iSupport's ApplicationResource.properties:
 *   SCHEDULAR_SMTP_HOST -> smtp.host, EXPORT_BATCH_REQUEST_MAIL_SUBJECT -> smtp.subject,
 *   EXPORT_BATCH_REQUEST_MAIL_FROM -> smtp.from, EXPORT_BATCH_REQUEST_MAIL_TO -> smtp.to, SUPPORT_EMAIL -> smtp.supportEmail.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
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

/** The seed's ApplicationResource.properties values, used where a connection leaves a mail setting out. */
export const SEED_MAIL_DEFAULTS = {
  subject: 'Request Status',
  from: 'no-reply@protechsolutions.com',
  to: 'helpdesk@protechsoft.com',
  supportEmail: 'isupport-admin@protechsolutions.com',
  exportSupportEmail: 'isupport-batch-admin@protechsolutions.com',
  timeZone: 'America/Chicago',
} as const;

export function resolveSmtp(smtp: SmtpSettings): ResolvedSmtp {
  const supportEmail = smtp.supportEmail ?? SEED_MAIL_DEFAULTS.supportEmail;
  return {
    host: smtp.host,
    port: smtp.port ?? 25,
    secure: smtp.secure ?? false,
    username: smtp.username,
    password: smtp.password,
    subject: smtp.subject ?? SEED_MAIL_DEFAULTS.subject,
    from: smtp.from ?? SEED_MAIL_DEFAULTS.from,
    to: smtp.to ?? SEED_MAIL_DEFAULTS.to,
    supportEmail,
    exportSupportEmail: smtp.exportSupportEmail ?? SEED_MAIL_DEFAULTS.exportSupportEmail,
    deadLetterTo: smtp.deadLetterTo ?? supportEmail,
    timeZone: smtp.timeZone ?? SEED_MAIL_DEFAULTS.timeZone,
  };
}

export interface ResolvedPolling {
  stableWaitMs: number;
  maxFoldersPerPoll: number;
  emitBatchSize: number;
  emitBatchRows: number;
  maxBufferedRows: number;
  incompleteTimeoutMs: number;
  folderLockMs: number;
  tempSuffixes: string[];
}

export function resolvePolling(p: PollingSettings | undefined): ResolvedPolling {
  return {
    stableWaitMs: p?.stableWaitMs ?? 2000,
    maxFoldersPerPoll: p?.maxFoldersPerPoll ?? 20,
    emitBatchSize: p?.emitBatchSize ?? 100,
    emitBatchRows: p?.emitBatchRows ?? 200,
    maxBufferedRows: p?.maxBufferedRows ?? 200000,
    incompleteTimeoutMs: p?.incompleteTimeoutMs ?? 86400000,
    folderLockMs: p?.folderLockMs ?? 120000,
    tempSuffixes: p?.tempSuffixes ?? ['.part', '.tmp', '.filepart', '.partial'],
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
