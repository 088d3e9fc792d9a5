/** The sandbox's reply bodies: XML/JSON/CSV in the recorded shapes, and iCasework's HTML error page. */
import type { Response } from 'express';
import Papa from 'papaparse';

export function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

const XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>';

/** `<{root}><k>v</k>...</{root}>`, e.g. <createcaseresponse><caseid>492233</caseid><team>INBOXIR</team></createcaseresponse>. */
export function simpleXml(root: string, fields: Record<string, string>): string {
  const inner = Object.entries(fields)
    .map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`)
    .join('');
  return `${XML_HEAD}<${root}>${inner}</${root}>`;
}

/** `<Cases RequestId=".."><Case>flat elements</Case>...</Cases>`; `<Cases />` when empty. */
export function casesXml(rows: Array<Array<[string, string]>>, requestId?: string): string {
  if (rows.length === 0) return `${XML_HEAD}\n<Cases />\n`;
  const attr = requestId ? ` RequestId="${xmlEscape(requestId)}"` : '';
  const body = rows
    .map((row) => `<Case>\n${row.map(([k, v]) => `<${k}>${xmlEscape(v)}</${k}>`).join('\n')}\n</Case>`)
    .join('\n');
  return `${XML_HEAD}\n<Cases${attr}>\n${body}\n</Cases>\n`;
}

export interface DocumentEntry {
  id: string;
  name: string;
  category?: string;
  mimeType?: string;
  source?: string;
  documentDate?: string;
  downloadUrl: string;
}

/** getcasedocuments (recorded fixture): attributes on <Document>, the download URL as CDATA text; `<Documents />` when none. */
export function documentsXml(docs: DocumentEntry[]): string {
  if (docs.length === 0) return `${XML_HEAD}\n<Documents />\n`;
  const attr = (name: string, v: string | undefined) => (v === undefined ? '' : ` ${name}="${xmlEscape(v)}"`);
  const body = docs
    .map(
      (d) =>
        `  <Document${attr('Id', d.id)}${attr('Name', d.name)}${attr('Category', d.category)}${attr('Type', d.mimeType)}${attr('Source', d.source)}${attr('DocumentDate', d.documentDate)}><![CDATA[${d.downloadUrl.split(']]>').join(']]]]><![CDATA[>')}]]></Document>`,
    )
    .join('\n');
  return `${XML_HEAD}\n<Documents>\n${body}\n</Documents>\n`;
}

/** getcasedocuments JSON: UNKNOWN in the reference; the sandbox answers {"Documents":[{Id,Name,Category,Type,Source,DocumentDate,URL}]}. */
export function documentsJson(docs: DocumentEntry[]): string {
  return JSON.stringify({
    Documents: docs.map((d) => ({ Id: d.id, Name: d.name, Category: d.category ?? '', Type: d.mimeType ?? '', Source: d.source ?? '', DocumentDate: d.documentDate ?? '', URL: d.downloadUrl })),
  });
}

/** getcasedetails JSON: one flat object per case, several back to back with nothing between (`}{`). */
export function casesJsonBackToBack(rows: Array<Array<[string, string]>>): string {
  return rows.map((row) => JSON.stringify(Object.fromEntries(row))).join('');
}

export function casesCsv(rows: Array<Array<[string, string]>>, header: boolean, emptyColumns: string[] = ['CaseDetails.CaseId']): string {
  if (rows.length === 0) return Papa.unparse({ fields: emptyColumns, data: [] }, { header: true, newline: '\r\n' });
  const fields: string[] = [];
  const seen = new Set<string>();
  for (const row of rows) for (const [k] of row) if (!seen.has(k)) {
    seen.add(k);
    fields.push(k);
  }
  const data = rows.map((row) => {
    const m = Object.fromEntries(row);
    return fields.map((f) => m[f] ?? '');
  });
  return Papa.unparse({ fields, data }, { header, newline: '\r\n' });
}

export const ERROR_PAGE = `<!DOCTYPE html>
<html>
<head>
  <meta charset="utf-8" />
  <title>Error Page</title>
</head>
<body>
  <div class="error-wrapper">
    <div class="error-content">
      <p class="uat-logo"><span class="light-blue">iCasework</span></p>
      <h1>
        An Unexpected Error Occured
      </h1>
      <p class="leading-text">
        The Page You Were Looking For Was Not Found
      </p>
      <p>
        You may have typed the address incorrectly or you may have used an outdated link. If it happens repeatedly, please contact your <strong>system administrator.</strong>
      </p>
    </div>
  </div>
</body>
</html>
`;

/** HTTP 400 (or another status) with the HTML error page and, when given, the application error headers. */
export function sendErrorPage(res: Response, status: number, code?: string, info?: string, extraHeaders: Record<string, string> = {}): void {
  res.status(status);
  res.set('Content-Type', 'text/html;charset=UTF-8');
  if (code) res.set('X-Application-Error-Code', code);
  if (info) res.set('X-Application-Error-Info', info);
  for (const [k, v] of Object.entries(extraHeaders)) res.set(k, v);
  res.send(ERROR_PAGE);
}

export function sendXml(res: Response, body: string): void {
  res.status(200).set('Content-Type', 'text/xml;charset=UTF-8').send(body);
}

export function sendJson(res: Response, body: string): void {
  res.status(200).set('Content-Type', 'application/json;charset=UTF-8').send(body);
}

/** The wrong-db answer: 200 with an empty body (Content-Length: 0). */
export function sendEmpty(res: Response): void {
  res.status(200);
  res.removeHeader('Content-Type');
  res.set('Content-Length', '0');
  res.end();
}
