import type { NextFunction, Request, Response } from 'express';
import { sameSecret } from '../core/util';

/**
 * Whether a request path is under /api. Case-insensitive on purpose: express matches routes case-insensitively by
 * default, so a check that let `/API/cases/1` through would open the endpoint it guards (the /api routers are also
 * made case-sensitive, so such a path now matches no route; this check holds even if one forgot that).
 */
export function isApiPath(path: string): boolean {
  return /^\/api(\/|$)/i.test(path);
}

/**
 * The /api endpoints return cases with personal data. When CASEWAY_API_TOKEN is set, callers must send it as a
 * Bearer token; without it the API is open, which is only for a local sandbox (the start-up banner says so).
 */
export function requireApiToken(req: Request, res: Response, next: NextFunction): void {
  if (!isApiPath(req.path)) return next();
  const expected = process.env.CASEWAY_API_TOKEN;
  if (!expected) return next();
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (given && sameSecret(given, expected)) return next();
  res.status(401).json({ error: 'Unauthorized' });
}
