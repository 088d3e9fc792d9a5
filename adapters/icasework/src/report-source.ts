/**
 * The `report` poll source: runs a configured getreport on a schedule and emits each new or changed case once.
 * A case is "changed" when the hash of its report row(s) differs from the one remembered in the connection state
 * (Redis), so restarts do not re-emit. eventId = icasework:<caseid>:<row hash>. With fetchDetails (default) the full
 * record comes from getcasedetails. case.notes holds only the notes not emitted before.
 */
import { createHash } from 'node:crypto';
import type { AdapterContext, Emit, PollOutcome, PollSourceDefinition, SourceEvent, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { PermanentError, schemaDefaults } from 'caseway/core';
import { DEFAULT_HUB_ID_PATTERN, DEFAULT_NOTE_PREFIX, caseFromFlat, notesFromFlat } from './canonical';
import type { Flat } from './codec';
import { clientFor } from './client-cache';
import type { IcaseworkSettings } from './settings';

type Ctx = AdapterContext<IcaseworkSettings>;

export interface ReportSourceOptions {
  reportId: string;
  format?: 'xml' | 'json' | 'csv';
  fetchDetails: boolean;
  caseIdColumn: string;
  updatedColumn: string;
  notePrefix: string;
  hubIdPattern: string;
  excludeNoteAuthors: string[];
  maxChangesPerPoll: number;
  getCaseDocuments: boolean;
  keepDocumentTokens: boolean;
}

export function reportOptions(o: OptionsOf<typeof reportSourceOptionsSchema>): ReportSourceOptions {
  if (typeof o.reportId !== 'string' || o.reportId === '') {
    throw new PermanentError('icasework report source: option reportId is required', { field: 'reportId' });
  }
  return {
    reportId: o.reportId,
    format: o.format,
    fetchDetails: o.fetchDetails ?? reportDefault('fetchDetails'),
    caseIdColumn: o.caseIdColumn ?? reportDefault('caseIdColumn'),
    updatedColumn: o.updatedColumn ?? reportDefault('updatedColumn'),
    notePrefix: o.notePrefix ?? reportDefault('notePrefix'),
    hubIdPattern: o.hubIdPattern ?? reportDefault('hubIdPattern'),
    excludeNoteAuthors: o.excludeNoteAuthors ?? reportDefault('excludeNoteAuthors'),
    maxChangesPerPoll: o.maxChangesPerPoll ?? reportDefault('maxChangesPerPoll'),
    getCaseDocuments: o.getCaseDocuments ?? reportDefault('getCaseDocuments'),
    keepDocumentTokens: o.keepDocumentTokens ?? reportDefault('keepDocumentTokens'),
  };
}

/** A stable hash of one case's report rows (column order does not matter). */
export function rowHash(rows: Flat[]): string {
  const canon = rows.map((r) => JSON.stringify(Object.keys(r).sort().map((k) => [k, r[k]])));
  return createHash('sha256').update(canon.join('\n')).digest('hex');
}

function parseLocal(ts: string | undefined): number | undefined {
  if (!ts) return undefined;
  const iso = /Z|[+-]\d{2}:?\d{2}$/.test(ts) ? ts : `${ts}Z`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

/** A download URL without its embedded access_token (a bearer credential must not be stored with the case). */
export function withoutAccessToken(url: string): string {
  try {
    const u = new URL(url);
    if (!u.searchParams.has('access_token')) return url;
    u.searchParams.delete('access_token');
    return u.toString();
  } catch {
    return url.replace(/([?&])access_token=[^&#]*&?/, '$1').replace(/[?&]$/, '');
  }
}

export async function pollReport(ctx: Ctx, emit: Emit, rawOptions: OptionsOf<typeof reportSourceOptionsSchema>): Promise<PollOutcome> {
  const opts = reportOptions(rawOptions);
  const client = clientFor(ctx);
  const rows = await client.getReport(opts.reportId, opts.format);
  const hashKey = `report:${opts.reportId}:hash`;
  const known = await ctx.state.hashGetAll(hashKey);

  const byCase = new Map<string, Flat[]>();
  let newest: number | undefined;
  for (const row of rows) {
    const caseId = row[opts.caseIdColumn];
    if (!caseId) continue;
    const list = byCase.get(caseId) ?? [];
    list.push(row);
    byCase.set(caseId, list);
    const t = parseLocal(row[opts.updatedColumn]);
    if (t !== undefined && (newest === undefined || t > newest)) newest = t;
  }

  const pattern = new RegExp(opts.hubIdPattern);
  const pending: Array<{ event: SourceEvent; caseId: string; hash: string; noteKeys: string[] }> = [];
  for (const [caseId, caseRows] of byCase) {
    const hash = rowHash(caseRows);
    if (known[caseId] === hash) continue;
    if (pending.length >= opts.maxChangesPerPoll) break;
    let flat: Flat = Object.assign({}, ...caseRows) as Flat;
    if (opts.caseIdColumn !== 'CaseDetails.CaseId' && !flat['CaseDetails.CaseId']) flat['CaseDetails.CaseId'] = caseId;
    if (opts.fetchDetails) {
      const details = await client.getCaseDetails({ CaseId: caseId });
      const last = details[details.length - 1];
      if (last) flat = { ...flat, ...last };
    }
    const notesKey = `report:${opts.reportId}:notes:${caseId}`;
    const allNotes = notesFromFlat(flat, opts.notePrefix).filter((n) => !n.author || !opts.excludeNoteAuthors.includes(n.author));
    const seen = await ctx.state.areMembers(notesKey, allNotes.map((n) => n.key));
    const fresh = allNotes.filter((_, i) => !seen[i]);
    const eventId = `icasework:${caseId}:${hash.slice(0, 16)}`;
    const documents = opts.getCaseDocuments
      ? (await client.getCaseDocuments(caseId)).map((d) => (d.url && !opts.keepDocumentTokens ? { ...d, url: withoutAccessToken(d.url) } : d))
      : undefined;
    const c = caseFromFlat(flat, {
      documents,
      connection: ctx.connection.name,
      hubIdPattern: pattern,
      notePrefix: opts.notePrefix,
      notes: fresh.map(({ key: _key, ...n }) => n),
      reportId: opts.reportId,
    });
    c.source.eventId = eventId;
    pending.push({ event: { eventId, case: c }, caseId, hash, noteKeys: fresh.map((n) => n.key) });
  }

  let emitted = 0;
  for (let i = 0; i < pending.length; i += 50) {
    const batch = pending.slice(i, i + 50);
    const results = await emit(batch.map((p) => p.event));
    emitted += results.filter((r) => !r.duplicate).length;
    // Only once the hub holds the events durably: remember them, so a restart does not emit them again.
    for (const p of batch) {
      await ctx.state.hashSet(hashKey, p.caseId, p.hash);
      await ctx.state.addToSet(`report:${opts.reportId}:notes:${p.caseId}`, p.noteKeys);
    }
  }
  if (pending.length) ctx.log.info({ reportId: opts.reportId, rows: rows.length, changed: pending.length, emitted }, 'icasework report polled');
  return { emitted, lagSeconds: newest === undefined ? undefined : Math.max(0, Math.round((Date.now() - newest) / 1000)) };
}

const reportSourceOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['reportId'],
  properties: {
    reportId: { type: 'string', minLength: 1, description: 'The iCasework ad-hoc report reference (ReportId).' },
    format: { enum: ['xml', 'json', 'csv'], description: "Reply format asked of getreport; default the connection's format." },
    fetchDetails: { type: 'boolean', default: true, description: 'Call getcasedetails for each changed case to get its full record.' },
    caseIdColumn: { type: 'string', minLength: 1, default: 'CaseDetails.CaseId' },
    updatedColumn: { type: 'string', minLength: 1, default: 'CaseStatusTouchTimes.LastUpdatedTime', description: 'Used for the poller-lag metric.' },
    notePrefix: { type: 'string', minLength: 1, default: DEFAULT_NOTE_PREFIX, description: 'Flat note columns are <prefix>N.Text/.Id/.Type/.CreatedBy/.DateCreated.' },
    hubIdPattern: { type: 'string', minLength: 1, default: DEFAULT_HUB_ID_PATTERN, description: 'Regex: an ExternalId matching it becomes a {system:"hub"} reference.' },
    excludeNoteAuthors: { type: 'array', items: { type: 'string' }, default: [], description: 'Notes by these authors (CreatedBy) are not emitted.' },
    maxChangesPerPoll: { type: 'integer', minimum: 1, default: 500 },
    getCaseDocuments: {
      type: 'boolean',
      default: false,
      description: "Enrichment: call getcasedocuments for each changed case and put its documents (id, name, MIME type, category, date, download URL) on the emitted case. A document added without any report column changing is not noticed until the case's row changes.",
    },
    keepDocumentTokens: {
      type: 'boolean',
      default: false,
      description: 'Keep the access_token iCasework embeds in document download URLs (default: removed, so no bearer credential is stored with the case; fetch with the connection\'s own credentials instead).',
    },
  },
} as const satisfies ConstOptionsSchema;
// Option defaults are read from the schema (what the console and the docs show), never restated.
const reportDefault = schemaDefaults<OptionsOf<typeof reportSourceOptionsSchema>>(reportSourceOptionsSchema, 'icasework report source options');

export const reportSource: PollSourceDefinition<IcaseworkSettings, typeof reportSourceOptionsSchema> = {
  kind: 'poll',
  description: 'Polls an iCasework getreport report and emits each new or changed case (and its new notes) once.',
  defaultIntervalMs: 60000,
  optionsSchema: reportSourceOptionsSchema,
  poll: pollReport,
};
