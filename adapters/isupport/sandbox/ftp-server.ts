/**
 * An embedded FTP / FTPS server (ftp-srv) over a folder on disk: what the seed describes ("place them in an ftp
 * server"). Password login for one user; passive mode on loopback; with `tls` it offers explicit TLS (AUTH TLS) and
 * encrypts data connections after PROT P. The certificate is a fresh self-signed one (see tls-cert.ts).
 */
import { createRequire } from 'node:module';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { FtpSrv } from 'ftp-srv';
import { sameSecret, type Logger } from 'caseway/core';

export interface FtpServerOptions {
  host: string;
  port?: number;
  /** Folder that is "/" for the client. */
  root: string;
  username: string;
  password: string;
  /** PEM key and certificate: offer explicit TLS (FTPS). */
  tls?: { key: string; cert: string };
  log?: Logger;
}

export interface FtpServerHandle {
  port: number;
  /** Logins accepted so far. */
  sessions(): number;
  stop(): Promise<void>;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** ftp-srv logs through a bunyan-style logger; the sandbox keeps it quiet (warnings go to the hub's logger). */
interface QuietLog {
  trace(...args: unknown[]): void;
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
  child(...args: unknown[]): QuietLog;
}

function quietLog(log: Logger | undefined): QuietLog {
  const q: QuietLog = {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: () => undefined,
    error: (...args: unknown[]) => {
      const last = args[args.length - 1];
      log?.debug({ detail: typeof last === 'string' ? last : 'error' }, 'isupport sandbox: ftp server error');
    },
    child: () => q,
  };
  return q;
}

/** What ftp-srv keeps per control connection, and its listening server (neither in its typings). */
interface FtpSrvInternals {
  connections: Record<string, { close(code?: number): PromiseLike<unknown> }>;
  server: NetServer;
}

/**
 * Control connections without Nagle's algorithm. ftp-srv leaves it on, so each reply it writes in pieces waited for
 * the client's delayed acknowledgement (~40 ms on Linux) before its last piece went out: every LIST, RETR or STOR over
 * this server took ~50 ms on loopback, where a real server answers at once. The replies themselves are unchanged.
 */
function withoutNagle(server: FtpSrv): void {
  (server as unknown as FtpSrvInternals).server.on('connection', (socket: Socket) => socket.setNoDelay(true));
}

/** ftp-srv's passive-mode connector (src/connector/passive.js of ftp-srv 4.6.3; not in its typings). */
interface PassiveConnectorClass {
  prototype: { waitForConnection(this: unknown, options?: { timeout?: number; delay?: number }): PromiseLike<unknown> };
}

/** How often a transfer command looks for its data connection (ftp-srv's own default: every 50 ms). */
const PASSIVE_POLL_MS = 5;
let passivePollSet = false;

/**
 * ftp-srv starts a LIST, RETR or STOR only once its passive data connection is ready, which it checks every 50 ms; an
 * FTPS data connection is ready only after its TLS handshake, later than the first check, so every FTPS transfer
 * waited ~50 ms more than a real server would make it. The check is the same, made every 5 ms; how long ftp-srv waits
 * in all (5 s) is unchanged. ftp-srv has one connector class for every server in the process, so this is done once.
 */
function withQuickPassivePoll(): void {
  if (passivePollSet) return;
  const passive = createRequire(__filename)('ftp-srv/src/connector/passive') as PassiveConnectorClass;
  const original = passive.prototype.waitForConnection;
  passive.prototype.waitForConnection = function (this: unknown, options = {}) {
    return original.call(this, { delay: PASSIVE_POLL_MS, ...options });
  };
  passivePollSet = true;
}

/**
 * ftp-srv 4.6.3's disconnectClient (run for every control connection that closes, and for each one on close()) arms a
 * timer of `options.timeout` or 1 s that it never clears: after any FTP session, and after stop(), the process could
 * not exit for that long (it held jest workers past their exit). The same steps without the timer: forget the
 * connection, close its socket without a reply (code 0), settle at once as the original does.
 */
function withoutStrayDisconnectTimer(server: FtpSrv): void {
  const internals = server as unknown as FtpSrvInternals;
  server.disconnectClient = async (id: string): Promise<string | undefined> => {
    const client = internals.connections[id];
    if (!client) return undefined;
    delete internals.connections[id];
    try {
      Promise.resolve(client.close(0)).catch(() => undefined);
    } catch {
      // the socket is gone already
    }
    return 'Disconnected';
  };
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

export async function startFtpServer(opts: FtpServerOptions): Promise<FtpServerHandle> {
  const port = opts.port || (await freePort(opts.host));
  // ftp-srv adds process signal listeners per server that close it and call process.exit(0) on SIGTERM, SIGINT and
  // SIGQUIT: in a hub, that ended the process before the hub's own graceful stop could finish in-flight work (and
  // before it logged "hub stopped"). They are removed at once; the hub stops this server as part of its own stop.
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const pasvMin = 40000 + Math.floor(Math.random() * 20000);
  const server = new FtpSrv({
    url: `ftp://${opts.host}:${port}`,
    pasv_url: opts.host,
    pasv_min: pasvMin,
    pasv_max: Math.min(65535, pasvMin + 5000),
    anonymous: false,
    greeting: 'iSupport sandbox FTP server',
    tls: opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : false,
    log: quietLog(opts.log),
  });
  withoutStrayDisconnectTimer(server);
  withoutNagle(server);
  withQuickPassivePoll();
  for (const s of SIGNALS) for (const l of process.listeners(s)) if (!before.get(s)!.has(l)) process.removeListener(s, l);
  let sessions = 0;
  server.on('login', ({ username, password }, resolve, reject) => {
    if (sameSecret(username, opts.username) && sameSecret(password, opts.password)) {
      sessions += 1;
      resolve({ root: opts.root });
    } else reject(new Error('Invalid username or password'));
  });
  server.on('client-error', ({ error }) => opts.log?.debug({ detail: error instanceof Error ? error.message : 'error' }, 'isupport sandbox: ftp client error'));
  await server.listen();
  return {
    port,
    sessions: () => sessions,
    stop: async () => {
      await server.close();
    },
  };
}
