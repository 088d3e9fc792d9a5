/**
 * An embedded SFTP server (ssh2 Server) over a folder on disk, so `npm start` needs no system sshd. Password auth
 * for one user; every path the client names is resolved inside the root (".." cannot climb out). RENAME refuses to
 * overwrite, like OpenSSH's SFTP v3 rename.
 */
import { createHash } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { Server, utils, type Connection, type ParsedKey, type SFTPWrapper } from 'ssh2';
import { sameSecret, type Logger } from 'caseway/core';

const { OPEN_MODE, STATUS_CODE, flagsToString } = utils.sftp;

export interface SftpServerOptions {
  host: string;
  port?: number;
  root: string;
  username: string;
  password: string;
  log?: Logger;
}

export interface SftpServerHandle {
  port: number;
  /** SHA-256 of the host key, base64 without padding (what hostKeySha256 expects). */
  hostKeySha256: string;
  /** Number of SFTP sessions opened so far. */
  sessions(): number;
  stop(): Promise<void>;
}

function statusOf(err: unknown): number {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return STATUS_CODE.NO_SUCH_FILE;
  if (code === 'EACCES' || code === 'EPERM') return STATUS_CODE.PERMISSION_DENIED;
  return STATUS_CODE.FAILURE;
}

function attrsOf(st: Stats) {
  return {
    mode: st.mode,
    uid: 0,
    gid: 0,
    size: st.size,
    atime: Math.floor(st.atimeMs / 1000),
    mtime: Math.floor(st.mtimeMs / 1000),
  };
}

function longname(name: string, st: Stats): string {
  const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : '-';
  const perms = st.isDirectory() ? 'rwxr-xr-x' : 'rw-r--r--';
  const date = new Date(st.mtimeMs).toUTCString().slice(5, 22);
  return `${type}${perms}    1 isupport isupport ${String(st.size).padStart(8)} ${date} ${name}`;
}

type OpenHandle = { kind: 'file'; fh: FileHandle } | { kind: 'dir'; real: string; done: boolean };

function serveSftp(sftp: SFTPWrapper, root: string): void {
  const handles = new Map<number, OpenHandle>();
  let next = 1;
  const virtual = (p: string): string => path.posix.normalize(`/${p === '.' ? '' : p}`);
  const real = (p: string): string => path.join(root, virtual(p));
  const newHandle = (h: OpenHandle): Buffer => {
    const id = next++;
    handles.set(id, h);
    const buf = Buffer.alloc(4);
    buf.writeUInt32BE(id, 0);
    return buf;
  };
  const lookup = (handle: Buffer): OpenHandle | undefined => (handle.length === 4 ? handles.get(handle.readUInt32BE(0)) : undefined);
  const run = (reqid: number, fn: () => Promise<void>): void => {
    fn().catch((err: unknown) => sftp.status(reqid, statusOf(err)));
  };

  sftp
    .on('OPEN', (reqid, filename, flags) =>
      run(reqid, async () => {
        const mode = flagsToString(flags) ?? ((flags & OPEN_MODE.WRITE) !== 0 ? 'w' : 'r');
        const fh = await fs.open(real(filename), mode);
        sftp.handle(reqid, newHandle({ kind: 'file', fh }));
      }),
    )
    .on('READ', (reqid, handle, offset, length) =>
      run(reqid, async () => {
        const h = lookup(handle);
        if (!h || h.kind !== 'file') return void sftp.status(reqid, STATUS_CODE.FAILURE);
        const buf = Buffer.alloc(Math.min(length, 256 * 1024));
        const { bytesRead } = await h.fh.read(buf, 0, buf.length, offset);
        if (bytesRead === 0) return void sftp.status(reqid, STATUS_CODE.EOF);
        sftp.data(reqid, buf.subarray(0, bytesRead));
      }),
    )
    .on('WRITE', (reqid, handle, offset, data) =>
      run(reqid, async () => {
        const h = lookup(handle);
        if (!h || h.kind !== 'file') return void sftp.status(reqid, STATUS_CODE.FAILURE);
        await h.fh.write(data, 0, data.length, offset);
        sftp.status(reqid, STATUS_CODE.OK);
      }),
    )
    .on('FSTAT', (reqid, handle) =>
      run(reqid, async () => {
        const h = lookup(handle);
        if (!h) return void sftp.status(reqid, STATUS_CODE.FAILURE);
        sftp.attrs(reqid, attrsOf(h.kind === 'file' ? await h.fh.stat() : await fs.stat(h.real)));
      }),
    )
    .on('FSETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK))
    .on('SETSTAT', (reqid) => sftp.status(reqid, STATUS_CODE.OK))
    .on('CLOSE', (reqid, handle) =>
      run(reqid, async () => {
        const id = handle.length === 4 ? handle.readUInt32BE(0) : -1;
        const h = handles.get(id);
        if (!h) return void sftp.status(reqid, STATUS_CODE.FAILURE);
        handles.delete(id);
        if (h.kind === 'file') await h.fh.close();
        sftp.status(reqid, STATUS_CODE.OK);
      }),
    )
    .on('OPENDIR', (reqid, p) =>
      run(reqid, async () => {
        const r = real(p);
        const st = await fs.stat(r);
        if (!st.isDirectory()) return void sftp.status(reqid, STATUS_CODE.FAILURE);
        sftp.handle(reqid, newHandle({ kind: 'dir', real: r, done: false }));
      }),
    )
    .on('READDIR', (reqid, handle) =>
      run(reqid, async () => {
        const h = lookup(handle);
        if (!h || h.kind !== 'dir') return void sftp.status(reqid, STATUS_CODE.FAILURE);
        if (h.done) return void sftp.status(reqid, STATUS_CODE.EOF);
        h.done = true;
        const names = [];
        for (const name of await fs.readdir(h.real)) {
          const st = await fs.lstat(path.join(h.real, name)).catch(() => null);
          if (st) names.push({ filename: name, longname: longname(name, st), attrs: attrsOf(st) });
        }
        if (!names.length) return void sftp.status(reqid, STATUS_CODE.EOF);
        sftp.name(reqid, names);
      }),
    )
    .on('STAT', (reqid, p) => run(reqid, async () => void sftp.attrs(reqid, attrsOf(await fs.stat(real(p))))))
    .on('LSTAT', (reqid, p) => run(reqid, async () => void sftp.attrs(reqid, attrsOf(await fs.lstat(real(p))))))
    .on('REMOVE', (reqid, p) => run(reqid, async () => (await fs.unlink(real(p)), sftp.status(reqid, STATUS_CODE.OK))))
    .on('RMDIR', (reqid, p) => run(reqid, async () => (await fs.rmdir(real(p)), sftp.status(reqid, STATUS_CODE.OK))))
    .on('MKDIR', (reqid, p) => run(reqid, async () => (await fs.mkdir(real(p)), sftp.status(reqid, STATUS_CODE.OK))))
    .on('RENAME', (reqid, from, to) =>
      run(reqid, async () => {
        const target = real(to);
        if (await fs.lstat(target).then(() => true, () => false)) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'target exists');
        await fs.rename(real(from), target);
        sftp.status(reqid, STATUS_CODE.OK);
      }),
    )
    .on('REALPATH', (reqid, p) => {
      const v = virtual(p);
      sftp.name(reqid, [{ filename: v, longname: v, attrs: {} as never }]);
    })
    .on('close', () => {
      for (const h of handles.values()) if (h.kind === 'file') void h.fh.close().catch(() => undefined);
      handles.clear();
    });
}

/**
 * A fresh ed25519 host key pair whose two halves parse. ssh2 1.17.0's generateKeyPairSync strips every leading zero
 * byte of the public key, so about 1 key in 256 comes out 31 bytes long and is refused as "Malformed OpenSSH public
 * key" (mscdex/ssh2#1513, #1390, open): the sandbox would then fail to start 1 time in 256. Such a pair is drawn again.
 */
export function sshHostKeyPair(): { private: string; public: ParsedKey } {
  for (let tries = 1; ; tries += 1) {
    const keys = utils.generateKeyPairSync('ed25519');
    const publicKey = utils.parseKey(keys.public);
    const privateKey = utils.parseKey(keys.private);
    if (!(publicKey instanceof Error) && !(privateKey instanceof Error)) return { private: keys.private, public: publicKey };
    if (tries >= 32) throw publicKey instanceof Error ? publicKey : privateKey;
  }
}

export async function startSftpServer(opts: SftpServerOptions): Promise<SftpServerHandle> {
  await fs.mkdir(opts.root, { recursive: true });
  const keys = sshHostKeyPair();
  const hostKeySha256 = createHash('sha256').update(keys.public.getPublicSSH()).digest('base64').replace(/=+$/, '');
  const clients = new Set<Connection>();
  let sessions = 0;
  const server = new Server({ hostKeys: [keys.private] }, (client) => {
    clients.add(client);
    client
      .on('authentication', (auth) => {
        if (auth.method === 'password' && sameSecret(auth.username, opts.username) && sameSecret(auth.password, opts.password)) return auth.accept();
        return auth.reject(['password']);
      })
      .on('ready', () => {
        client.on('session', (accept) => {
          const session = accept();
          session.on('sftp', (acceptSftp) => {
            sessions += 1;
            serveSftp(acceptSftp(), opts.root);
          });
        });
      })
      .on('error', (err) => opts.log?.debug({ error: err.message }, 'isupport sandbox: sftp client error'))
      .on('close', () => clients.delete(client));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    hostKeySha256,
    sessions: () => sessions,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const c of clients) c.end();
        server.close(() => resolve());
      }),
  };
}
