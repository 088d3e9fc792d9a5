/**
 * The SFTP side of iSupport: one connection per poll or delivery (ssh2-sftp-client), every operation timed into the
 * peer metrics, and every fault turned into a typed error. Messages name operations and paths (folder names are
 * request or case ids), never file contents.
 */
import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Client as SshClient } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import type { AdapterContext } from 'caseway/core';
import type { PeerError } from 'caseway/core';
import { DEFAULT_READY_TIMEOUT_MS, type IsupportSettings, type SftpSettings } from './settings';
import { fileModeOf, timed, transportError, type FileTransport, type RemoteEntry } from './transport';

function sftpCode(err: unknown): string {
  const e = err as { code?: unknown; level?: unknown; message?: unknown };
  if (e?.level === 'client-authentication' || /authentication methods failed|ERR_BAD_AUTH/i.test(String(e?.message ?? ''))) return 'AUTH';
  if (e?.code === 2) return 'ENOENT';
  if (e?.code === 3) return 'EACCES';
  if (e?.code === 4) return 'FAILURE';
  if (typeof e?.code === 'string' || typeof e?.code === 'number') return String(e.code);
  if (/timed out/i.test(String(e?.message ?? ''))) return 'ETIMEDOUT';
  return 'ERROR';
}

/** A typed error for one failed SFTP operation. Authentication and permission faults cannot heal by retrying. */
export function sftpError(ctx: AdapterContext<IsupportSettings>, op: string, target: string | undefined, err: unknown): PeerError {
  return transportError(ctx, 'sftp', op, target, sftpCode(err), err);
}

function hostVerifier(expected: string | undefined): ((key: Buffer) => boolean) | undefined {
  if (!expected) return undefined;
  const want = expected.replace(/^SHA256:/, '').replace(/=+$/, '');
  return (key: Buffer) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === want;
}

/**
 * Bytes asked for per SFTP read request. OpenSSH answers up to 256 KiB per read (limits@openssh.com; ssh2 splits a
 * larger one), and the read stream keeps one request in flight, so bigger requests mean fewer round trips.
 */
const READ_CHUNK = 256 * 1024;

/**
 * Turns Nagle's algorithm off on the SSH socket. SFTP reads are small request packets, each waiting for its answer:
 * with Nagle on, each one waits for the peer's delayed ACK (~40 ms on Linux), which capped reads at ~1 MB/s
 * (a 139 MB export took 110 s to fetch over loopback; with this, a few seconds).
 */
function noDelay(client: SftpClient): void {
  if ('client' in client && client.client instanceof SshClient) client.client.setNoDelay(true);
}

export class IsupportSftp implements FileTransport {
  readonly kind = 'sftp' as const;
  private readonly fileMode: number | undefined;

  private constructor(
    private readonly ctx: AdapterContext<IsupportSettings>,
    private readonly client: SftpClient,
  ) {
    this.fileMode = fileModeOf(ctx.connection.settings);
  }

  static async connect(ctx: AdapterContext<IsupportSettings>, s: SftpSettings = ctx.connection.settings.sftp): Promise<IsupportSftp> {
    const client = new SftpClient('isupport');
    const started = Date.now();
    try {
      await client.connect({
        host: s.host,
        port: s.port ?? 22,
        username: s.username,
        password: s.password,
        privateKey: s.privateKey,
        passphrase: s.passphrase,
        readyTimeout: s.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS,
        hostVerifier: hostVerifier(s.hostKeySha256),
        retries: 0,
      } as SftpClient.ConnectOptions);
      noDelay(client);
      ctx.metrics.peerResponse('SFTP connect', 'ok', (Date.now() - started) / 1000);
    } catch (err) {
      const e = sftpError(ctx, 'connect', `${s.host}:${s.port ?? 22}`, err);
      ctx.metrics.peerResponse('SFTP connect', String(e.context.sftpCode), (Date.now() - started) / 1000);
      await client.end().catch(() => undefined);
      throw e;
    }
    return new IsupportSftp(ctx, client);
  }

  private async timed<T>(op: string, target: string | undefined, fn: () => Promise<T>, quietNotFound = false): Promise<T> {
    return timed(this.ctx, 'sftp', op, target, sftpCode, fn, quietNotFound);
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    return this.timed('list', dir, async () =>
      (await this.client.list(dir)).map((e) => ({ name: e.name, type: e.type, size: e.size, modifyTime: e.modifyTime })),
    );
  }

  /** The entry type at a path, or false when nothing is there. */
  async exists(target: string): Promise<false | string> {
    return this.timed('stat', target, async () => this.client.exists(target));
  }

  async size(target: string): Promise<number> {
    return this.timed('stat', target, async () => (await this.client.stat(target)).size);
  }

  /** A read stream of a remote file; errors surface on the stream as typed errors. */
  readStream(target: string): Readable {
    const started = Date.now();
    let stream: Readable;
    try {
      stream = this.client.createReadStream(target, { highWaterMark: READ_CHUNK }) as unknown as Readable;
    } catch (err) {
      throw sftpError(this.ctx, 'read', target, err);
    }
    stream.once('end', () => this.ctx.metrics.peerResponse('SFTP read', 'ok', (Date.now() - started) / 1000));
    return stream;
  }

  async mode(target: string): Promise<number | undefined> {
    return this.timed('stat', target, async () => (await this.client.stat(target)).mode & 0o7777);
  }

  async readText(target: string): Promise<string> {
    return this.timed('read', target, async () => {
      const data = await this.client.get(target);
      return Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    });
  }

  async put(data: Buffer, target: string): Promise<void> {
    await this.timed('write', target, async () => {
      const mode = this.fileMode;
      await this.client.put(data, target, mode === undefined ? undefined : { writeStreamOptions: { mode } });
      // The open mode applies only to a new file; an existing one (a retried .part) keeps its mode unless set.
      if (mode !== undefined) await this.client.chmod(target, mode);
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.timed('rename', `${from} -> ${to}`, async () => {
      await this.client.rename(from, to);
    });
  }

  async mkdir(dir: string): Promise<void> {
    await this.timed('mkdir', dir, async () => {
      if (await this.client.exists(dir)) return;
      await this.client.mkdir(dir, true);
    });
  }

  async delete(target: string): Promise<void> {
    await this.timed('delete', target, async () => {
      await this.client.delete(target, true);
    });
  }

  async rmdir(dir: string): Promise<void> {
    await this.timed('rmdir', dir, async () => {
      await this.client.rmdir(dir, true);
    });
  }

  error(op: string, target: string | undefined, err: unknown): PeerError {
    return sftpError(this.ctx, op, target, err);
  }

  async end(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
