/**
 * Webhook source `notices`: learns of finished requests from iSupport's notification e-mails, forwarded by a mail
 * relay to POST /isupport/{connection}/notices (the raw message, message/rfc822, or just its text).
 *   - export notice: reads the named export folder at once (same rules and ledger as the `export` poll source);
 *   - import notice: records the iSupport application id for the import request id (see importApplication()).
 */
import express, { type Request, type Response, type Router } from 'express';
import { timingSafeEqual } from 'node:crypto';
import path from 'node:path';
import type { AdapterContext, WebhookSourceDefinition } from '../../../src/core/adapter';
import { safeMessage } from '../../../src/core/errors';
import { runExportScan } from './export-source';
import { looksLikeMime, parseMail } from './mime';
import { isPlainName, safeSegment } from './naming';
import { parseNotice } from './notices';
import type { IsupportSettings } from './settings';

const APPLICATIONS = 'import:applications';

export interface ImportApplication {
  requestId: string;
  applicationId: string;
  completedOn: string;
  completedAt?: string;
  receivedAt: string;
}

/** The iSupport application id reported for an import request folder, once its notice arrived. */
export async function importApplication(ctx: AdapterContext<IsupportSettings>, requestId: string): Promise<ImportApplication | null> {
  const raw = await ctx.state.hashGet(APPLICATIONS, requestId);
  return raw ? (JSON.parse(raw) as ImportApplication) : null;
}

function bodyText(req: Request): string {
  const body: unknown = req.body;
  if (typeof body === 'string') return body;
  if (Buffer.isBuffer(body)) return body.toString('utf8');
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    for (const key of ['text', 'body', 'raw', 'message']) if (typeof o[key] === 'string') return o[key] as string;
  }
  return '';
}

function authorised(req: Request, token: string | undefined): boolean {
  if (!token) return true;
  const given = (req.get('authorization') ?? '').replace(/^Bearer\s+/i, '') || req.get('x-caseway-token') || '';
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export const noticesSource: WebhookSourceDefinition<IsupportSettings> = {
  kind: 'webhook',
  description:
    'POST /isupport/{connection}/notices: an iSupport notification mail (raw or text). Export notices make the named export folder be read at once; import notices record the iSupport application id.',
  optionsSchema: {
    type: 'object',
    additionalProperties: false,
    properties: { token: { type: 'string', description: 'Shared secret the relay sends as Authorization: Bearer <token> (use ${ENV_VAR}).' } },
  },
  mount(router: Router, ctx, emit, options): void {
    const token = (options as { token?: string }).token;
    const route = `/isupport/${encodeURIComponent(ctx.connection.name)}/notices`;
    router.post(route, express.text({ type: (req) => !/json/i.test(String(req.headers['content-type'] ?? '')), limit: '512kb' }), express.json({ limit: '512kb' }), async (req: Request, res: Response) => {
      if (!authorised(req, token)) {
        res.status(401).json({ error: 'unauthorised' });
        return;
      }
      let text = bodyText(req);
      if (looksLikeMime(text)) text = parseMail(text).text;
      const notice = parseNotice(text);
      if (!notice) {
        res.status(422).json({ error: 'not an iSupport export or import notice' });
        return;
      }
      try {
        if (notice.kind === 'import') {
          const entry: ImportApplication = {
            requestId: notice.requestId,
            applicationId: notice.applicationId,
            completedOn: notice.completedOn,
            completedAt: notice.completedAt,
            receivedAt: new Date().toISOString(),
          };
          await ctx.state.hashSet(APPLICATIONS, notice.requestId, JSON.stringify(entry));
          ctx.log.info({ requestId: notice.requestId, applicationId: notice.applicationId }, 'isupport: import notice received');
          res.status(200).json({ kind: 'import', requestId: notice.requestId, applicationId: notice.applicationId });
          return;
        }
        const base = path.posix.basename(notice.location.trim());
        const folder = isPlainName(base) ? base : safeSegment(base);
        const result = await runExportScan(ctx, emit, { names: [folder] });
        const report = result.reports.find((r) => r.folder === folder);
        ctx.log.info({ requestId: notice.requestId, folder, outcome: report?.outcome ?? 'pending' }, 'isupport: export notice received');
        res.status(report ? 200 : 202).json({
          kind: 'export',
          requestId: notice.requestId,
          folder,
          outcome: report?.outcome ?? 'pending',
          cases: report?.cases ?? null,
          reason: result.skipped.find((s) => s.folder === folder)?.reason ?? (report ? undefined : 'folder not found in the export folder'),
        });
      } catch (err) {
        ctx.log.warn({ error: safeMessage(err) }, 'isupport: notice handling failed');
        res.status(503).json({ error: safeMessage(err) });
      }
    });
  },
};
