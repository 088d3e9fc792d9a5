/** What runs in front of every /api route: request recording (no bodies), the per-IP ThrottlerGuard, injected faults. */
import type { Express, NextFunction, Request, Response } from 'express';
import { parseCookies } from './http';
import { THROTTLED } from './reference';
import type { FaultSpec, SandboxStore } from './store';

function throttle(store: SandboxStore, req: Request, res: Response, path: string): boolean {
  const t = store.options.throttle;
  const login = req.method === 'POST' && path === '/api/users/login';
  const ip = req.socket.remoteAddress ?? 'unknown';
  const key = `${ip}|${login ? 'login' : 'default'}`;
  const limit = login ? t.loginLimit : t.limit;
  const ttl = login ? t.loginTtlMs : t.ttlMs;
  const now = Date.now();
  let b = store.buckets.get(key);
  if (!b || b.resetAt <= now) {
    b = { count: 0, resetAt: now + ttl };
    store.buckets.set(key, b);
  }
  b.count++;
  if (b.count <= limit) return true;
  if (t.retryAfterHeader) res.setHeader('Retry-After', String(Math.max(1, Math.ceil((b.resetAt - now) / 1000))));
  res.status(429).json(THROTTLED);
  return false;
}

function takeFault(store: SandboxStore, req: Request, path: string): FaultSpec | undefined {
  const f = store.faults.find(
    (x) =>
      x.left > 0 &&
      (!x.method || x.method.toUpperCase() === req.method) &&
      (!x.path || (typeof x.path === 'string' ? path.includes(x.path) : x.path.test(path))),
  );
  if (f && f.skip > 0) {
    f.skip--;
    return undefined;
  }
  if (f) {
    f.left--;
    if (f.left <= 0) store.faults = store.faults.filter((x) => x !== f);
  }
  return f;
}

/** Records every /api request when it finishes. Install before the body parsers. */
export function recordRequests(app: Express, store: SandboxStore): void {
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const cookies = parseCookies(req.headers.cookie);
    const started = Date.now();
    res.on('finish', () => {
      store.requests.push({
        method: req.method,
        path: req.originalUrl.split('?')[0],
        query: { ...(req.query as Record<string, unknown>) },
        status: res.statusCode,
        cookies: Object.keys(cookies),
        tokenCookie: cookies.access_token_general,
        authorization: typeof req.headers.authorization === 'string',
        interfaceHeader: typeof req.headers['x-121-interface'] === 'string' ? req.headers['x-121-interface'] : undefined,
        rows: Array.isArray(req.body) ? req.body.length : undefined,
        at: started,
      });
      store.log?.debug({ method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode }, 'sandbox121 request');
    });
    next();
  });
}

/** Throttling, then an injected fault if one matches. */
export function throttleAndFaults(app: Express, store: SandboxStore): void {
  app.use('/api', (req: Request, res: Response, next: NextFunction) => {
    const path = req.originalUrl.split('?')[0];
    if (!throttle(store, req, res, path)) return;
    const fault = takeFault(store, req, path);
    if (!fault) return next();
    const respond = () => {
      if (fault.status === undefined) return next();
      for (const [k, v] of Object.entries(fault.headers ?? {})) res.setHeader(k, v);
      res.status(fault.status).json(fault.body ?? { statusCode: fault.status, message: 'Internal server error' });
    };
    if (fault.delayMs) {
      store.timers.after(fault.delayMs, () => {
        if (!res.headersSent && !res.writableEnded) respond();
      });
    } else respond();
  });
}
