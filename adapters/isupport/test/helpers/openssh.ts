/**
 * A real OpenSSH server for tests: /usr/sbin/sshd -D -e on a free loopback port, with a generated host key and a
 * generated client key authorised for the current user through a temporary AuthorizedKeysFile, serving SFTP with
 * internal-sftp. Files live in a temporary folder the test can also reach directly on disk.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const SSHD = '/usr/sbin/sshd';

export interface OpenSshServer {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** base64 SHA-256 of the host key, as hostKeySha256 expects. */
  hostKeySha256: string;
  /** A folder for the test's SFTP files (absolute path, same on disk and over SFTP). */
  dataDir: string;
  /** What sshd wrote to stderr so far. */
  log(): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function startOpenSsh(): Promise<OpenSshServer> {
  if (!existsSync(SSHD)) {
    throw new Error(
      `OpenSSH server not found at ${SSHD}: install openssh-server (apt-get install -y openssh-server; .ci/run installs it when missing) to run the iSupport SFTP tests`,
    );
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-sshd-'));
  const hostKey = path.join(dir, 'host_key');
  const clientKey = path.join(dir, 'client_key');
  const authorized = path.join(dir, 'authorized_keys');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'caseway-test-host', '-f', hostKey]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'caseway-test-client', '-f', clientKey]);
  copyFileSync(`${clientKey}.pub`, authorized);
  for (const f of [hostKey, clientKey, authorized]) chmodSync(f, 0o600);
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const dataDir = path.join(dir, 'data');
  mkdirSync(dataDir);
  const username = os.userInfo().username;
  const port = await freePort();
  const config = path.join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      `Port ${port}`,
      'ListenAddress 127.0.0.1',
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      'PidFile none',
      'UsePAM no',
      'StrictModes no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      `AllowUsers ${username}`,
      'LogLevel INFO',
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  const fingerprintLine = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`]).toString();
  const hostKeySha256 = /SHA256:(\S+)/.exec(fingerprintLine)?.[1] ?? '';

  let stderr = '';
  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start within 10 s: ${stderr}`)), 10000);
    const check = () => {
      if (/Server listening on/.test(stderr)) {
        clearTimeout(timer);
        child.stderr!.off('data', check);
        resolve();
      }
    };
    child.stderr!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`sshd exited with ${code}: ${stderr}`));
    });
  });

  return {
    host: '127.0.0.1',
    port,
    username,
    privateKey: readFileSync(clientKey, 'utf8'),
    hostKeySha256,
    dataDir,
    log: () => stderr,
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
