/**
 * The SFTP side of iSupport: one connection per poll or delivery (ssh2-sftp-client), every operation timed into the
 * peer metrics, and every fault turned into a typed error. Messages name operations and paths (folder names are
 * request or case ids), never file contents.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import type { Readable } from 'node:stream';
import SftpClient from 'ssh2-sftp-client';
import type { AdapterContext } from '../../../src/core/adapter';
import { PeerError } from '../../../src/core/errors';
import type { IsupportSettings, SftpSettings } from './settings';

export interface SftpEntry {
  name: string;
  type: 'd' | '-' | 'l' | string;
  size: number;
  /** Milliseconds since the epoch (SFTP v3 has second precision). */
  modifyTime: number;
}

export function isNotFound(err: unknown): boolean {
  const e = err as { code?: unknown; cause?: unknown } | undefined;
  if (!e) return false;
  if (e.code === 'ENOENT' || e.code === 2) return true;
  if (err instanceof PeerError && err.context.sftpCode === 'ENOENT') return true;
  return false;
}

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
  if (err instanceof PeerError) return err;
  const code = sftpCode(err);
  const retryable = !['AUTH', 'EACCES'].includes(code);
  const where = target ? ` ${target}` : '';
  return new PeerError(`isupport: SFTP ${op}${where} failed: ${code}`, {
    retryable,
    code: code === 'AUTH' ? 'PEER_AUTH' : retryable ? (op === 'connect' ? 'PEER_UNREACHABLE' : 'PEER_RETRYABLE') : 'PEER_REJECTED',
    context: { connection: ctx.connection.name, peer: 'isupport-sftp', sftpCode: code, operation: op },
    cause: err,
  });
}

function hostVerifier(expected: string | undefined): ((key: Buffer) => boolean) | undefined {
  if (!expected) return undefined;
  const want = expected.replace(/^SHA256:/, '').replace(/=+$/, '');
  return (key: Buffer) => createHash('sha256').update(key).digest('base64').replace(/=+$/, '') === want;
}

export class IsupportSftp {
  private constructor(
    private readonly ctx: AdapterContext<IsupportSettings>,
    private readonly client: SftpClient,
  ) {}

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
        readyTimeout: s.readyTimeoutMs ?? 20000,
        hostVerifier: hostVerifier(s.hostKeySha256),
        retries: 0,
      } as SftpClient.ConnectOptions);
      ctx.metrics.peerResponse('SFTP connect', 'ok', (Date.now() - started) / 1000);
    } catch (err) {
      const e = sftpError(ctx, 'connect', `${s.host}:${s.port ?? 22}`, err);
      ctx.metrics.peerResponse('SFTP connect', String(e.context.sftpCode), (Date.now() - started) / 1000);
      await client.end().catch(() => undefined);
      throw e;
    }
    return new IsupportSftp(ctx, client);
  }

  /** Connects, runs fn, and always closes the connection. */
  static async with<T>(ctx: AdapterContext<IsupportSettings>, fn: (sftp: IsupportSftp) => Promise<T>): Promise<T> {
    const sftp = await IsupportSftp.connect(ctx);
    try {
      return await fn(sftp);
    } finally {
      await sftp.end();
    }
  }

  private async timed<T>(op: string, target: string | undefined, fn: () => Promise<T>, quietNotFound = false): Promise<T> {
    const started = Date.now();
    try {
      const result = await fn();
      this.ctx.metrics.peerResponse(`SFTP ${op}`, 'ok', (Date.now() - started) / 1000);
      return result;
    } catch (err) {
      const e = sftpError(this.ctx, op, target, err);
      const code = String(e.context.sftpCode);
      if (!(quietNotFound && code === 'ENOENT')) this.ctx.metrics.peerResponse(`SFTP ${op}`, code, (Date.now() - started) / 1000);
      throw e;
    }
  }

  async list(dir: string): Promise<SftpEntry[]> {
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
      stream = this.client.createReadStream(target) as unknown as Readable;
    } catch (err) {
      throw sftpError(this.ctx, 'read', target, err);
    }
    stream.once('end', () => this.ctx.metrics.peerResponse('SFTP read', 'ok', (Date.now() - started) / 1000));
    return stream;
  }

  async readText(target: string): Promise<string> {
    return this.timed('read', target, async () => {
      const data = await this.client.get(target);
      return Buffer.isBuffer(data) ? data.toString('utf8') : String(data);
    });
  }

  async put(data: Buffer, target: string): Promise<void> {
    await this.timed('write', target, async () => {
      await this.client.put(data, target);
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

  /** Moves a folder under `targetDir`, choosing a free name (`name`, `name.1`, ...) so nothing is overwritten. */
  async moveFolder(source: string, targetDir: string): Promise<string> {
    await this.mkdir(targetDir);
    const base = path.posix.basename(source);
    for (let i = 0; i < 1000; i++) {
      const target = path.posix.join(targetDir, i === 0 ? base : `${base}.${i}`);
      if (await this.exists(target)) continue;
      await this.rename(source, target);
      return target;
    }
    throw new PeerError(`isupport: no free name under ${targetDir} for ${base}`, { retryable: true, context: { connection: this.ctx.connection.name } });
  }

  async end(): Promise<void> {
    await this.client.end().catch(() => undefined);
  }
}
