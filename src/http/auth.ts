import type { NextFunction, Request, Response } from 'express';
import { sameSecret } from '../core/util';

/**
 * The /api endpoints return cases with personal data. When CASEWAY_API_TOKEN is set, callers must send it as a
 * Bearer token; without it the API is open, which is only for a local sandbox (the start-up banner says so).
 */
export function requireApiToken(req: Request, res: Response, next: NextFunction): void {
  if (!req.path.startsWith('/api/')) return next();
  const expected = process.env.CASEWAY_API_TOKEN;
  if (!expected) return next();
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (given && sameSecret(given, expected)) return next();
  res.status(401).json({ error: 'Unauthorized' });
}
