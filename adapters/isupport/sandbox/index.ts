/**
 * The iSupport sandbox for `npm start` and tests: embedded SFTP server, request API and SMTP capture in one start().
 */
import type { SandboxDefinition } from 'caseway/core';
import { startIsupportSandbox } from './isupport-sandbox';

export { IsupportSandbox, startIsupportSandbox, type IsupportSandboxOptions, type ApiCall } from './isupport-sandbox';
export type { ImportedRequest } from './import-scheduler';
export { startSftpServer } from './sftp-server';
export { startFtpServer } from './ftp-server';
export { startSmtpCapture, type CapturedMail } from './smtp-capture';

export const isupportSandbox: SandboxDefinition = {
  description:
    'Embedded SFTP server and FTP/FTPS server (password auth; FTPS with explicit TLS and a self-signed certificate) over workDir/sftp with the sample exports, the iSupport request API (acknowledges, then writes export folders and mails the export notice), an import scheduler (mails the import notice) and an SMTP capture.',
  start: (options) => startIsupportSandbox(options),
};
