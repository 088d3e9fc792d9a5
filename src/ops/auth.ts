/**
 * Who may use /ops and /ops/queues. Two modes (config `ops.auth`):
 * - login: users from config sign in with a password (scrypt hash in config); the session lives in Redis and the
 *   browser holds only a random token in an HttpOnly, SameSite=Strict cookie.
 * - proxy: a reverse proxy authenticates and passes the user (and optionally the role) in headers, accepted only
 *   from trusted proxy addresses.
 * Every state-changing request needs the CSRF token of the session (forms carry it as `_csrf`) and is refused when
 * the browser says it comes from another site; the queue dashboard's own calls (which carry no token) need the
 * browser's proof that they come from this hub's pages (Origin or Sec-Fetch-Site), or the token as X-CSRF-Token.
 * Failed sign-ins slow down the next attempt of the same user name from the same client address, exponentially,
 * so nobody can lock the real operator out from elsewhere. The role is read from config on every request, so removing a user
 * or demoting one takes effect at once. The intake and peer-facing APIs never accept this login.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Hub } from '../core/hub';
import { sameSecret } from '../core/util';
import { OpsKeys } from './keys';
import { decoyHash, verifyPassword } from './password';
import type { OpsRole, OpsSettings } from './settings';

export const SESSION_COOKIE = 'cw_ops';
export const LOGIN_COOKIE = 'cw_ops_login';
/** Failed sign-ins of one user name from one address that cost nothing; each further one doubles the wait. */
export const FREE_LOGIN_FAILURES = 5;
const MAX_LOGIN_DELAY_S = 15 * 60;
/** A (user, address) pair's failures are forgotten this long after the last one (plus its wait). */
const LOGIN_FAILURE_MEMORY_S = 60 * 60;

/** Seconds a (user, address) pair must wait after its n-th failed sign-in in a row: 0, ..., 1, 2, 4, ... 900. */
export function loginDelaySeconds(failures: number): number {
  return failures < FREE_LOGIN_FAILURES ? 0 : Math.min(MAX_LOGIN_DELAY_S, 2 ** (failures - FREE_LOGIN_FAILURES));
}

export interface OpsUser {
  name: string;
  role: OpsRole;
  via: 'login' | 'proxy';
  csrf: string;
  /** Hash of the session token (login mode). */
  session?: string;
}

/** The user requireUser() found for this request. */
export function userOf(res: Response): OpsUser {
  return res.locals.opsUser as OpsUser;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    if (i <= 0) continue;
    const name = part.slice(0, i).trim();
    const value = part.slice(i + 1).trim();
    try {
      out[name] = decodeURIComponent(value);
    } catch {
      out[name] = value;
    }
  }
  return out;
}

function normaliseAddress(address: string | undefined): string {
  return (address ?? '').replace(/^::ffff:/, '');
}

/** The address the request came from (the socket's: `trust proxy` is off, so no header can choose it). */
export function clientAddress(req: Request): string {
  return normaliseAddress(req.socket.remoteAddress);
}

export type LoginResult = { ok: true; token: string; user: OpsUser } | { ok: false; reason: 'invalid' | 'throttled'; retryAfterSeconds: number };

export class OpsAuth {
  private readonly keys: OpsKeys;
  private secretKey?: Promise<Buffer>;

  constructor(private readonly hub: Hub, readonly settings: OpsSettings) {
    this.keys = new OpsKeys(hub.runtime.keys.prefix);
  }

  get mode(): 'login' | 'proxy' {
    return this.settings.auth;
  }

  get hasUsers(): boolean {
    return this.settings.users.length > 0 || (this.mode === 'proxy' && !!(this.settings.proxy.roleHeader || this.settings.proxy.defaultRole));
  }

  private roleOf(name: string): OpsRole | undefined {
    return this.settings.users.find((u) => u.name === name)?.role;
  }

  /** The configured secret, or one random key kept in Redis and shared by every hub process. */
  private secret(): Promise<Buffer> {
    this.secretKey ??= (async () => {
      if (this.settings.session.secret) return Buffer.from(this.settings.session.secret);
      const redis = this.hub.runtime.redis;
      await redis.set(this.keys.secret(), randomBytes(32).toString('base64'), 'NX');
      const stored = await redis.get(this.keys.secret());
      return Buffer.from(stored ?? '', 'base64');
    })();
    return this.secretKey;
  }

  /** Cookie attributes; the session cookie is only sent to /ops (never to the API or the webhook intake). */
  cookieOptions(req: Request, maxAgeSeconds: number, path = '/ops'): string {
    const secure = this.settings.session.secureCookie ?? req.secure;
    return `Path=${path}; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }

  /** The signed-in user of this request, or null. */
  async authenticate(req: Request): Promise<OpsUser | null> {
    if (this.mode === 'proxy') return this.fromProxy(req);
    const token = parseCookies(req.headers.cookie)[SESSION_COOKIE];
    if (!token || token.length > 200) return null;
    const session = sha256(token);
    const stored = await this.hub.runtime.redis.hgetall(this.keys.session(session));
    if (!stored.user || !stored.csrf) return null;
    const role = this.roleOf(stored.user);
    if (!role) return null;
    return { name: stored.user, role, via: 'login', csrf: stored.csrf, session };
  }

  private async fromProxy(req: Request): Promise<OpsUser | null> {
    const { proxy } = this.settings;
    if (!proxy.trustedProxies.map(normaliseAddress).includes(normaliseAddress(req.socket.remoteAddress))) return null;
    const name = String(req.headers[proxy.userHeader] ?? '').trim();
    if (!name || name.length > 200) return null;
    const headerRole = proxy.roleHeader ? String(req.headers[proxy.roleHeader] ?? '').trim().toLowerCase() : '';
    const role = headerRole === 'viewer' || headerRole === 'operator' ? headerRole : this.roleOf(name) ?? proxy.defaultRole;
    if (!role) return null;
    const csrf = createHmac('sha256', await this.secret()).update(`csrf\u0000${name}`).digest('base64url');
    return { name, role, via: 'proxy', csrf };
  }

  /**
   * Checks a password. Failed attempts slow down only the same user name from the same address (exponential back-off
   * after a few free ones); while it waits, that pair is refused without checking. Unknown users cost as much as
   * known ones.
   */
  async login(username: string, password: string, address: string): Promise<LoginResult> {
    const redis = this.hub.runtime.redis;
    const failuresKey = this.keys.loginFailures(sha256(`${username.toLowerCase()}\u0000${address}`));
    const until = Number((await redis.hget(failuresKey, 'until')) ?? 0);
    if (until > Date.now()) return { ok: false, reason: 'throttled', retryAfterSeconds: Math.ceil((until - Date.now()) / 1000) };
    const user = this.settings.users.find((u) => u.name === username);
    const ok = user?.passwordHash ? await verifyPassword(password, user.passwordHash) : (await verifyPassword(password, await decoyHash()), false);
    if (!ok || !user) {
      const failures = await redis.hincrby(failuresKey, 'failures', 1);
      const delay = loginDelaySeconds(failures);
      await redis.multi().hset(failuresKey, 'until', String(Date.now() + delay * 1000)).expire(failuresKey, LOGIN_FAILURE_MEMORY_S + delay).exec();
      return { ok: false, reason: 'invalid', retryAfterSeconds: delay };
    }
    await redis.del(failuresKey);
    const token = randomBytes(32).toString('base64url');
    const session = sha256(token);
    const csrf = randomBytes(24).toString('base64url');
    const key = this.keys.session(session);
    await redis.multi().hset(key, { user: user.name, csrf, createdAt: new Date().toISOString() }).expire(key, this.settings.session.ttlSeconds).exec();
    return { ok: true, token, user: { name: user.name, role: user.role, via: 'login', csrf, session } };
  }

  async logout(user: OpsUser): Promise<void> {
    if (user.session) await this.hub.runtime.redis.del(this.keys.session(user.session));
  }

  /** Refuses a state-changing request without the session's CSRF token or coming from another site. */
  csrfOk(req: Request, user: OpsUser): boolean {
    if (crossSite(req)) return false;
    const body = req.body as Record<string, unknown> | undefined;
    const given = (typeof body?._csrf === 'string' ? body._csrf : undefined) ?? (req.headers['x-csrf-token'] as string | undefined);
    return typeof given === 'string' && sameSecret(given, user.csrf);
  }

  /** For calls that cannot carry the token (the queue dashboard's): the browser's same-origin proof, or the token. */
  originOrCsrfOk(req: Request, user: OpsUser): boolean {
    return sameOrigin(req) || this.csrfOk(req, user);
  }
}

/**
 * Positive proof that a browser request was started by a page of this hub: Fetch Metadata says same-origin, or the
 * Origin names the host addressed. A request without either (a script, an old client) proves nothing.
 */
export function sameOrigin(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin') return false;
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin === 'null') return site === 'same-origin';
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}

/**
 * True when the browser says the request was started by another site. Fetch Metadata (Sec-Fetch-Site, sent by every
 * current browser) decides; without it, an Origin naming another host than the one addressed is refused.
 */
export function crossSite(req: Request): boolean {
  const site = req.headers['sec-fetch-site'];
  if (typeof site === 'string') return site === 'cross-site' || site === 'same-site';
  const origin = req.headers.origin;
  if (!origin || origin === 'null') return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true;
  }
}

/** A path to go back to after login: only our own pages. */
export function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/ops(\/[^\s]*)?$/.test(value) && !value.startsWith('//') && !value.includes('\\') ? value : '/ops';
}

/** Middleware: sets res.locals.opsUser or answers 401 (JSON, for APIs) / a redirect to the login page (pages). */
export function requireUser(auth: OpsAuth, kind: 'page' | 'api') {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const user = await auth.authenticate(req);
    if (user) {
      res.locals.opsUser = user;
      return next();
    }
    res.setHeader('Cache-Control', 'no-store');
    if (kind === 'api' || req.method !== 'GET') return void res.status(401).json({ error: 'Sign in to the ops console first' });
    if (auth.mode === 'proxy') return void res.status(403).type('text/plain').send('Forbidden: the proxy did not identify a known ops user.');
    res.redirect(303, `/ops/login?next=${encodeURIComponent(req.originalUrl)}`);
  };
}
