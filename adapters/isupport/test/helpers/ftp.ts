/**
 * An FTP or FTPS test server (the sandbox's ftp-srv server) whose root is the machine's "/", so a path is the same on
 * disk and over FTP, as with the OpenSSH test server. Password login; FTPS with a fresh self-signed certificate that
 * the client trusts through sftp.tls.ca.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startFtpServer } from '../../sandbox/ftp-server';
import { sandboxTlsPair } from '../../sandbox/tls-cert';

export interface TestFtpServer {
  host: string;
  port: number;
  username: string;
  password: string;
  /** PEM certificate of an FTPS server (undefined for plain FTP). */
  cert?: string;
  dataDir: string;
  stop(): Promise<void>;
}

export async function startTestFtp(secure: boolean): Promise<TestFtpServer> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-ftp-'));
  const tls = secure ? sandboxTlsPair() : undefined;
  if (secure && !tls) throw new Error('the FTPS tests need openssl or adapters/isupport/sandbox/test-only-tls/');
  const username = 'caseway';
  const password = randomBytes(12).toString('hex');
  const server = await startFtpServer({ host: '127.0.0.1', root: '/', username, password, tls });
  return {
    host: '127.0.0.1',
    port: server.port,
    username,
    password,
    cert: tls?.cert,
    dataDir: dir,
    stop: async () => {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
