/**
 * Webhook source `notices`: learns of finished requests from iSupport's notification e-mails, forwarded by a mail
 * relay to POST /isupport/{connection}/notices (the raw message, message/rfc822, or just its text).
 *   - export notice: reads the named export folder at once (same rules and ledger as the `export` poll source);
 *   - import notice: records the iSupport application id for the import request id (see importApplication()) and,
 *     when the request folder was written by importCase here, links it to that hub case: an event whose case carries
 *     the hub id and the cross-references {system:'isupport', kind:'applicationId'} (and the request id), so the
 *     hub records them on the case that was imported.
 */
import express, { type Request, type Response, type Router } from 'express';
import path from 'node:path';
import type { AdapterContext, Emit, SourceEvent, WebhookSourceDefinition, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { safeMessage, sameSecret } from 'caseway/core';
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

/** What importCase recorded for a request folder it wrote (connection state `import:{folder}`). */
interface UploadRecord {
  hubId?: string;
  deliveryId?: string;
}

/**
 * The event that links an import notice to the hub case importCase wrote: the case names its hub id (so the hub
 * finds it) and carries the application id and request id as cross-references. Its eventId is stable per request
 * and application id, so a notice posted twice is dropped as a duplicate.
 */
export function applicationLinkEvent(connection: string, hubId: string, app: ImportApplication): SourceEvent {
  return {
    eventId: `isupport:application:${app.requestId}:${app.applicationId}`,
    case: {
      hubId,
      type: 'maintenance',
      source: { system: 'isupport', connection, id: app.applicationId },
      references: [
        { system: 'isupport', connection, id: app.applicationId, kind: 'applicationId' },
        { system: 'isupport', connection, id: app.requestId, kind: 'requestId' },
      ],
      parties: [],
      extensions: { isupport: { notice: 'import', requestId: app.requestId, applicationId: app.applicationId, completedOn: app.completedOn, ...(app.completedAt ? { completedAt: app.completedAt } : {}) } },
    },
  };
}

/** Records the application id and links it to the hub case of the request folder, when this hub wrote it. */
export async function recordImportApplication(ctx: AdapterContext<IsupportSettings>, emit: Emit, app: ImportApplication): Promise<string | null> {
  await ctx.state.hashSet(APPLICATIONS, app.requestId, JSON.stringify(app));
  const upload = await ctx.state.getJson<UploadRecord>(`import:${app.requestId}`);
  if (!upload?.hubId) return null;
  const [result] = await emit([applicationLinkEvent(ctx.connection.name, upload.hubId, app)]);
  return result?.hubId ?? upload.hubId;
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
  return sameSecret(given, token);
}

const noticesSourceOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { token: { type: 'string', description: 'Shared secret the relay sends as Authorization: Bearer <token> (use ${ENV_VAR}).' } },
} as const satisfies ConstOptionsSchema;

export const noticesSource: WebhookSourceDefinition<IsupportSettings, typeof noticesSourceOptionsSchema> = {
  kind: 'webhook',
  description:
    'POST /isupport/{connection}/notices: an iSupport notification mail (raw or text). Export notices make the named export folder be read at once; import notices record the iSupport application id.',
  optionsSchema: noticesSourceOptionsSchema,
  mount(router: Router, ctx, emit, options): void {
    const token = options.token;
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
          const hubId = await recordImportApplication(ctx, emit, entry);
          ctx.log.info({ requestId: notice.requestId, applicationId: notice.applicationId, hubId }, 'isupport: import notice received');
          res.status(200).json({ kind: 'import', requestId: notice.requestId, applicationId: notice.applicationId, hubId });
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
