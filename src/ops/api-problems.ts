/**
 * /api input is checked against the same endpoint specs that build /openapi.json (path, query and body, by ajv),
 * and every /api error is answered as RFC 9457 problem details (application/problem+json): a 4xx the handlers or
 * the validator give as {"error": ...} is rewritten on its way out, and a dead letter of an unknown connection is
 * a 404 problem, not a 500.
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { STATUS_CODES } from 'node:http';
import type { Hub } from '../core/hub';
import { isApiPath } from '../http/auth';
import { coreEndpoints, validated } from './api-spec';

export const PROBLEM_TYPE = 'application/problem+json';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
}

export function problem(status: number, detail: string | undefined, instance: string): Problem {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, ...(detail ? { detail } : {}), instance };
}

/** Rewrites {"error": "..."} answers of status >= 400 into problem details, for /api paths. */
function problemAnswers(req: Request, res: Response, next: NextFunction): void {
  if (!isApiPath(req.path)) return next();
  const json = res.json.bind(res);
  res.json = (body?: unknown) => {
    if (res.statusCode >= 400 && body && typeof body === 'object' && 'error' in body) {
      const detail = typeof body.error === 'string' ? body.error : undefined;
      res.type(PROBLEM_TYPE);
      return res.send(JSON.stringify(problem(res.statusCode, detail, req.originalUrl.split('?')[0])));
    }
    return json(body);
  };
  next();
}

/** Middleware for the /api router: problem answers, then input validation and known connections, per endpoint. */
export function apiInput(hub: Hub): Router {
  const router = express.Router({ caseSensitive: true });
  router.use(problemAnswers);
  for (const spec of coreEndpoints().filter((s) => s.path.startsWith('/api/'))) {
    router[spec.method](spec.path, validated(spec), (req: Request, res: Response, next: NextFunction) => {
      const fromPath: unknown = req.params.connection;
      const connection = typeof fromPath === 'string' ? fromPath : typeof req.query.connection === 'string' ? req.query.connection : undefined;
      if (connection !== undefined && !hub.runtime.connections.has(connection)) return void res.status(404).json({ error: `No connection "${connection}" in the config` });
      next();
    });
  }
  return router;
}
