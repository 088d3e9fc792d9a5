/**
 * The file server iSupport reads and writes (seed §5.1 b: "place them in an ftp server"): one small interface, three
 * transports. `transport` in the connection settings chooses: `sftp` (default, ssh2-sftp-client), `ftp` (plain) or
 * `ftps` (FTP with explicit TLS, AUTH TLS), both with basic-ftp. Every fault is a typed PeerError whose
 * `context.sftpCode` is one of ENOENT, EACCES, AUTH, FAILURE, ETIMEDOUT or the transport's own code (the key keeps its
 * old name so existing checks keep working), and whose message names the operation and path, never file contents.
 */
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { AdapterContext } from 'caseway/core';
import { PeerError } from 'caseway/core';
import { DEFAULT_FILE_MODE, DEFAULT_TRANSPORT, type IsupportSettings, type TransportName } from './settings';

export interface RemoteEntry {
  name: string;
  type: 'd' | '-' | 'l' | string;
  size: number;
  /** Milliseconds since the epoch (SFTP v3: seconds; FTP: what the listing tells, 0 when it tells nothing). */
  modifyTime: number;
}

export interface FileTransport {
  readonly kind: TransportName;
  list(dir: string): Promise<RemoteEntry[]>;
  /** The entry type at a path, or false when nothing is there. */
  exists(target: string): Promise<false | string>;
  size(target: string): Promise<number>;
  /** Permission bits of a remote file (e.g. 0o600), when the transport can tell. */
  mode(target: string): Promise<number | undefined>;
  /** A read stream of a remote file; errors surface on the stream as typed errors. */
  readStream(target: string): Readable;
  readText(target: string): Promise<string>;
  /** Writes a whole file, with the connection's fileMode (default 0600) unless it is 'keep'. */
  put(data: Buffer, target: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  /** Creates a folder and its parents; nothing happens when it exists. */
  mkdir(dir: string): Promise<void>;
  delete(target: string): Promise<void>;
  rmdir(dir: string): Promise<void>;
  end(): Promise<void>;
  /** A fault from one of this transport's streams as a typed error (a typed error stays as it is). */
  error(op: string, target: string | undefined, err: unknown): PeerError;
}

/** The file mode written files get: the setting as an octal string ("0600", "640"), or undefined for 'keep'. */
export function fileModeOf(settings: IsupportSettings): number | undefined {
  const raw = settings.fileMode ?? DEFAULT_FILE_MODE;
  if (raw === 'keep') return undefined;
  return parseInt(raw, 8);
}

export function transportOf(settings: IsupportSettings): TransportName {
  return settings.transport ?? DEFAULT_TRANSPORT;
}

/** A typed error for one failed file-server operation. Authentication and permission faults cannot heal by retrying. */
export function transportError(ctx: AdapterContext<IsupportSettings>, kind: TransportName, op: string, target: string | undefined, code: string, err: unknown): PeerError {
  if (err instanceof PeerError) return err;
  const retryable = !['AUTH', 'EACCES', 'CONFIG'].includes(code);
  const where = target ? ` ${target}` : '';
  return new PeerError(`isupport: ${kind.toUpperCase()} ${op}${where} failed: ${code}`, {
    retryable,
    code: code === 'AUTH' ? 'PEER_AUTH' : retryable ? (op === 'connect' ? 'PEER_UNREACHABLE' : 'PEER_RETRYABLE') : 'PEER_REJECTED',
    context: { connection: ctx.connection.name, peer: `isupport-${kind}`, transport: kind, sftpCode: code, operation: op },
    cause: err,
  });
}

export function isNotFound(err: unknown): boolean {
  return err instanceof PeerError && err.context.sftpCode === 'ENOENT';
}

/** Runs one operation, timing it into the peer metrics and turning faults into typed errors. */
export async function timed<T>(
  ctx: AdapterContext<IsupportSettings>,
  kind: TransportName,
  op: string,
  target: string | undefined,
  codeOf: (err: unknown) => string,
  fn: () => Promise<T>,
  quietNotFound = false,
): Promise<T> {
  const started = Date.now();
  const label = `${kind.toUpperCase()} ${op}`;
  try {
    const result = await fn();
    ctx.metrics.peerResponse(label, 'ok', (Date.now() - started) / 1000);
    return result;
  } catch (err) {
    const code = err instanceof PeerError ? String(err.context.sftpCode ?? 'ERROR') : codeOf(err);
    if (!(quietNotFound && code === 'ENOENT')) ctx.metrics.peerResponse(label, code, (Date.now() - started) / 1000);
    throw transportError(ctx, kind, op, target, code, err);
  }
}

/** Moves a folder under `targetDir`, choosing a free name (`name`, `name.1`, ...) so nothing is overwritten. */
export async function moveFolder(ctx: AdapterContext<IsupportSettings>, t: FileTransport, source: string, targetDir: string): Promise<string> {
  await t.mkdir(targetDir);
  const base = path.posix.basename(source);
  for (let i = 0; i < 1000; i++) {
    const target = path.posix.join(targetDir, i === 0 ? base : `${base}.${i}`);
    if (await t.exists(target)) continue;
    await t.rename(source, target);
    return target;
  }
  throw new PeerError(`isupport: no free name under ${targetDir} for ${base}`, { retryable: true, context: { connection: ctx.connection.name } });
}
