/**
 * The FTP side of iSupport (`transport: ftp` or `ftps`), with basic-ftp. `ftps` is explicit TLS (AUTH TLS on the
 * control port, then PBSZ 0 / PROT P so the data connections are encrypted too), verified against the system CAs plus
 * `sftp.tls.ca`. One control connection per poll or delivery, used by one operation at a time (basic-ftp runs one
 * task per connection); each read stream gets a connection of its own, because the export reader streams several
 * files at once. File modes are set with `SITE CHMOD` (what vsftpd, ProFTPD and ftp-srv understand).
 */
import path from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { Client, FileType, FTPError, type FileInfo } from 'basic-ftp';
import type { ConnectionOptions } from 'node:tls';
import type { AdapterContext } from 'caseway/core';
import type { PeerError } from 'caseway/core';
import { DEFAULT_READY_TIMEOUT_MS, DEFAULT_TLS_REJECT_UNAUTHORIZED, type IsupportSettings } from './settings';
import { fileModeOf, isNotFound, timed, transportError, type FileTransport, type RemoteEntry } from './transport';

type FtpKind = 'ftp' | 'ftps';

/** Our code for an FTP fault: reply codes 530/532 = AUTH, 550 = ENOENT or EACCES (by its text), 553 = EACCES. */
export function ftpCode(err: unknown): string {
  if (err instanceof FTPError) {
    const text = err.message;
    if (err.code === 530 || err.code === 532) return 'AUTH';
    if (err.code === 550) return /no such|not found|not exist|ENOENT|cannot find/i.test(text) ? 'ENOENT' : 'EACCES';
    if (err.code === 553) return 'EACCES';
    if (err.code >= 500) return 'FAILURE';
    return String(err.code);
  }
  const e = err as { code?: unknown; message?: unknown } | undefined;
  if (/timeout/i.test(String(e?.message ?? ''))) return 'ETIMEDOUT';
  if (typeof e?.code === 'string' && e.code) return e.code;
  if (/certificate|self.signed|SSL|TLS/i.test(String(e?.message ?? ''))) return 'TLS';
  return 'ERROR';
}

function entryOf(f: FileInfo): RemoteEntry {
  const type = f.type === FileType.Directory ? 'd' : f.type === FileType.SymbolicLink ? 'l' : '-';
  let modifyTime = f.modifiedAt ? f.modifiedAt.getTime() : NaN;
  if (!Number.isFinite(modifyTime) && f.rawModifiedAt) modifyTime = Date.parse(f.rawModifiedAt);
  return { name: f.name, type, size: f.size, modifyTime: Number.isFinite(modifyTime) ? modifyTime : 0 };
}

export class IsupportFtp implements FileTransport {
  private chain: Promise<unknown> = Promise.resolve();
  private readonly fileMode: number | undefined;
  private readonly streams = new Set<Client>();

  private constructor(
    private readonly ctx: AdapterContext<IsupportSettings>,
    readonly kind: FtpKind,
    private readonly client: Client,
  ) {
    this.fileMode = fileModeOf(ctx.connection.settings);
  }

  private static async open(ctx: AdapterContext<IsupportSettings>, kind: FtpKind): Promise<Client> {
    const s = ctx.connection.settings.sftp;
    const port = s.port ?? 21;
    if (s.password === undefined) {
      throw transportError(ctx, kind, 'connect', `${s.host}:${port}`, 'CONFIG', new Error('FTP needs sftp.password (a private key is for SFTP only)'));
    }
    const client = new Client(s.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
    const secureOptions: ConnectionOptions = {
      ca: s.tls?.ca,
      servername: s.tls?.servername,
      rejectUnauthorized: s.tls?.rejectUnauthorized ?? DEFAULT_TLS_REJECT_UNAUTHORIZED,
    };
    const started = Date.now();
    try {
      await client.access({ host: s.host, port, user: s.username, password: s.password, secure: kind === 'ftps', secureOptions: kind === 'ftps' ? secureOptions : undefined });
      ctx.metrics.peerResponse(`${kind.toUpperCase()} connect`, 'ok', (Date.now() - started) / 1000);
      return client;
    } catch (err) {
      client.close();
      const code = ftpCode(err);
      ctx.metrics.peerResponse(`${kind.toUpperCase()} connect`, code, (Date.now() - started) / 1000);
      throw transportError(ctx, kind, 'connect', `${s.host}:${port}`, code, err);
    }
  }

  static async connect(ctx: AdapterContext<IsupportSettings>, kind: FtpKind): Promise<IsupportFtp> {
    return new IsupportFtp(ctx, kind, await IsupportFtp.open(ctx, kind));
  }

  /** One operation at a time on the control connection, in call order. */
  private run<T>(op: string, target: string | undefined, fn: (c: Client) => Promise<T>, quietNotFound = false): Promise<T> {
    const next = this.chain.then(() => timed(this.ctx, this.kind, op, target, ftpCode, () => fn(this.client), quietNotFound));
    this.chain = next.catch(() => undefined);
    return next;
  }

  async list(dir: string): Promise<RemoteEntry[]> {
    return this.run('list', dir, async (c) => {
      // An empty listing of a missing folder is indistinguishable from an empty one on some servers: check first.
      await c.send(`CWD ${dir}`).catch((err: unknown) => {
        throw err instanceof FTPError && err.code === 550 ? new FTPError({ code: 550, message: 'No such file or directory' }) : err;
      });
      const entries = await c.list();
      return entries.filter((f) => f.name !== '.' && f.name !== '..').map(entryOf);
    });
  }

  async exists(target: string): Promise<false | string> {
    const parent = path.posix.dirname(target);
    const name = path.posix.basename(target);
    try {
      const entry = (await this.list(parent)).find((e) => e.name === name);
      return entry ? entry.type : false;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  async size(target: string): Promise<number> {
    return this.run('stat', target, (c) => c.size(target));
  }

  /** FTP has no portable stat; the mode is read from the UNIX-style LIST line when the server sends one. */
  async mode(target: string): Promise<number | undefined> {
    return this.run('stat', target, async (c) => {
      const entry = (await c.list(path.posix.dirname(target))).find((f) => f.name === path.posix.basename(target));
      const p = entry?.permissions;
      if (!p) return undefined;
      return (p.user << 6) | (p.group << 3) | p.world;
    });
  }

  readStream(target: string): Readable {
    const out = new PassThrough();
    const started = Date.now();
    // basic-ftp ends its destination even when the transfer fails; this sink forwards data but leaves ending to us,
    // so a failed transfer surfaces as an error, never as a short file.
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        if (out.write(chunk)) cb();
        else out.once('drain', () => cb());
      },
    });
    void (async () => {
      let client: Client | undefined;
      try {
        client = await IsupportFtp.open(this.ctx, this.kind);
        this.streams.add(client);
        await client.downloadTo(sink, target);
        this.ctx.metrics.peerResponse(`${this.kind.toUpperCase()} read`, 'ok', (Date.now() - started) / 1000);
        out.end();
      } catch (err) {
        const code = ftpCode(err);
        this.ctx.metrics.peerResponse(`${this.kind.toUpperCase()} read`, code, (Date.now() - started) / 1000);
        out.destroy(transportError(this.ctx, this.kind, 'read', target, code, err));
      } finally {
        if (client) {
          this.streams.delete(client);
          client.close();
        }
      }
    })();
    return out;
  }

  async readText(target: string): Promise<string> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.readStream(target)) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
    return Buffer.concat(chunks).toString('utf8');
  }

  async put(data: Buffer, target: string): Promise<void> {
    await this.run('write', target, async (c) => {
      await c.uploadFrom(Readable.from([data]), target);
      if (this.fileMode !== undefined) await c.send(`SITE CHMOD ${this.fileMode.toString(8).padStart(4, '0')} ${target}`);
    });
  }

  async rename(from: string, to: string): Promise<void> {
    await this.run('rename', `${from} -> ${to}`, async (c) => {
      await c.rename(from, to);
    });
  }

  async mkdir(dir: string): Promise<void> {
    await this.run('mkdir', dir, async (c) => {
      let at = '';
      for (const part of dir.split('/').filter(Boolean)) {
        at = `${at}/${part}`;
        const made = await c.send(`MKD ${at}`).then(
          () => true,
          (err: unknown) => {
            if (err instanceof FTPError && err.code === 550) return false; // exists (checked below) or refused
            throw err;
          },
        );
        if (!made) await c.send(`CWD ${at}`);
      }
      await c.send('CWD /');
    });
  }

  async delete(target: string): Promise<void> {
    await this.run('delete', target, async (c) => {
      await c.remove(target);
    });
  }

  async rmdir(dir: string): Promise<void> {
    await this.run('rmdir', dir, async (c) => {
      await c.removeDir(dir);
    });
  }

  error(op: string, target: string | undefined, err: unknown): PeerError {
    return transportError(this.ctx, this.kind, op, target, ftpCode(err), err);
  }

  async end(): Promise<void> {
    await this.chain.catch(() => undefined);
    this.client.close();
    for (const c of this.streams) c.close();
  }
}
