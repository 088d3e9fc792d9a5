/** Opens the connection's file server with the transport its settings name (sftp, ftp or ftps). */
import type { AdapterContext } from 'caseway/core';
import { IsupportFtp } from './ftp-client';
import type { IsupportSettings } from './settings';
import { IsupportSftp } from './sftp-client';
import { transportOf, type FileTransport } from './transport';

/** Connects with the connection's transport. */
export async function connectTransport(ctx: AdapterContext<IsupportSettings>): Promise<FileTransport> {
  const kind = transportOf(ctx.connection.settings);
  return kind === 'sftp' ? IsupportSftp.connect(ctx) : IsupportFtp.connect(ctx, kind);
}

/** Connects, runs fn, and always closes the connection. */
export async function withTransport<T>(ctx: AdapterContext<IsupportSettings>, fn: (t: FileTransport) => Promise<T>): Promise<T> {
  const t = await connectTransport(ctx);
  try {
    return await fn(t);
  } finally {
    await t.end();
  }
}
