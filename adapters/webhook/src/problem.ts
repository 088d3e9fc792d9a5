/** Problem details (RFC 9457) for every refusal of the inbound endpoint. Details name fields and reasons, never values. */
import type { Response } from 'express';

export const PROBLEM_TYPE_BASE = 'https://caseway.dev/problems/webhook/';

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  /** Schema errors of a mapped case: JSON pointer and message only. */
  errors?: Array<{ pointer: string; message: string }>;
}

export function problem(status: number, slug: string, title: string, detail?: string, errors?: Problem['errors']): Problem {
  return { type: `${PROBLEM_TYPE_BASE}${slug}`, title, status, ...(detail ? { detail } : {}), ...(errors ? { errors } : {}) };
}

export function sendProblem(res: Response, p: Problem, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.status(p.status).type('application/problem+json').send(JSON.stringify(p));
}

export const PROBLEM_SCHEMA = {
  type: 'object',
  required: ['type', 'title', 'status'],
  properties: {
    type: { type: 'string', format: 'uri' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    errors: {
      type: 'array',
      items: { type: 'object', required: ['pointer', 'message'], properties: { pointer: { type: 'string' }, message: { type: 'string' } } },
    },
  },
};
