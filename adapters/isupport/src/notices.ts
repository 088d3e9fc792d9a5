/**
 * iSupport's completion e-mails (seed 8.1 and 8.2). "This text cannot be changed": the templates below are the seed's
 * texts exactly, with only the request id, the completion time (Java Date.toString(), e.g. "Mon Dec 14 22:30:19 CST
 * 2015"), the FTP location or application id, and the support address filled in. The parsers read them back.
 */

export interface ExportNotice {
  requestId: string;
  /** As printed in the mail. */
  completedOn: string;
  /** ISO-8601 (UTC) when the zone abbreviation is known. */
  completedAt?: string;
  location: string;
  supportEmail?: string;
}

export interface ImportNotice {
  requestId: string;
  completedOn: string;
  completedAt?: string;
  applicationId: string;
  supportEmail?: string;
}

export function exportNoticeText(n: { requestId: string; completedOn: string; location: string; supportEmail: string }): string {
  return [
    'Dear All,',
    '',
    `Your export request ( ${n.requestId} ) has been successfully completed on`,
    n.completedOn,
    '',
    `FTP File Location : ${n.location}`,
    ...closing(n.supportEmail),
  ].join('\n');
}

export function importNoticeText(n: { requestId: string; completedOn: string; applicationId: string; supportEmail: string }): string {
  return [
    'Dear All,',
    '',
    `Your import request ( ${n.requestId} ) has been successfully completed on ${n.completedOn}`,
    '',
    `ISupport Application ID : ${n.applicationId}`,
    ...closing(n.supportEmail),
  ].join('\n');
}

/** The end both notices share, word for word from the seed. */
function closing(supportEmail: string): string[] {
  return ['', `Please reach out to ${supportEmail} if you have any issues.`, '', 'Thank you.', '', 'Regards,', 'ISupport Batch Admin', ''];
}

/** A date the way Java's Date.toString() prints it: "EEE MMM dd HH:mm:ss zzz yyyy" in the given zone. */
export function javaDateString(date: Date, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    month: 'short',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
    year: 'numeric',
    timeZoneName: 'short',
  }).formatToParts(date);
  const get = (type: Intl.DateTimeFormatPartTypes): string => parts.find((p) => p.type === type)?.value ?? '';
  let zone = get('timeZoneName');
  if (/^GMT[+-]/.test(zone)) zone = zone.replace(/^GMT([+-])(\d{1,2})(?::?(\d{2}))?$/, (_m, s: string, h: string, m?: string) => `GMT${s}${h.padStart(2, '0')}:${m ?? '00'}`);
  return `${get('weekday')} ${get('month')} ${get('day')} ${get('hour')}:${get('minute')}:${get('second')} ${zone} ${get('year')}`;
}

const ZONE_OFFSETS: Record<string, number> = {
  UTC: 0, GMT: 0, WET: 0, BST: 60, WEST: 60, CET: 60, CEST: 120, EET: 120, EEST: 180, MSK: 180,
  EST: -300, EDT: -240, CST: -360, CDT: -300, MST: -420, MDT: -360, PST: -480, PDT: -420, AKST: -540, AKDT: -480, HST: -600,
};
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** "Mon Dec 14 22:30:19 CST 2015" -> "2015-12-15T04:30:19.000Z"; undefined for an unknown zone or shape. */
export function parseJavaDate(text: string): string | undefined {
  const m = /^(?:[A-Z][a-z]{2}) ([A-Z][a-z]{2}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([A-Z]{2,5}|GMT[+-]\d{2}:\d{2}) (\d{4})$/.exec(text.trim());
  if (!m) return undefined;
  const month = MONTHS.indexOf(m[1]);
  let offset: number | undefined = ZONE_OFFSETS[m[6]];
  const g = /^GMT([+-])(\d{2}):(\d{2})$/.exec(m[6]);
  if (g) offset = (g[1] === '-' ? -1 : 1) * (Number(g[2]) * 60 + Number(g[3]));
  if (month < 0 || offset === undefined) return undefined;
  const utc = Date.UTC(Number(m[7]), month, Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5])) - offset * 60000;
  return new Date(utc).toISOString();
}

function normalise(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/[ \t]+\n/g, '\n');
}

const SUPPORT = /Please reach out to\s+(\S+?)\s+if you have any issues\./;

export function parseExportNotice(text: string): ExportNotice | undefined {
  const t = normalise(text);
  const m = /Your export request \(\s*(\S+)\s*\) has been successfully completed on\s+(.+?)\s*\n\s*\n?\s*FTP File Location\s*:\s*(\S.*?)\s*$/m.exec(t);
  if (!m) return undefined;
  return { requestId: m[1], completedOn: m[2], completedAt: parseJavaDate(m[2]), location: m[3], supportEmail: SUPPORT.exec(t)?.[1] };
}

export function parseImportNotice(text: string): ImportNotice | undefined {
  const t = normalise(text);
  const m = /Your import request \(\s*(\S+)\s*\) has been successfully completed on\s+(.+?)\s*\n[\s\S]*?ISupport Application ID\s*:\s*(\S.*?)\s*$/m.exec(t);
  if (!m) return undefined;
  return { requestId: m[1], completedOn: m[2], completedAt: parseJavaDate(m[2]), applicationId: m[3], supportEmail: SUPPORT.exec(t)?.[1] };
}

export type Notice = ({ kind: 'export' } & ExportNotice) | ({ kind: 'import' } & ImportNotice);

export function parseNotice(text: string): Notice | undefined {
  const e = parseExportNotice(text);
  if (e) return { kind: 'export', ...e };
  const i = parseImportNotice(text);
  if (i) return { kind: 'import', ...i };
  return undefined;
}
