/**
 * Reply decoding. iCasework answers XML by default, JSON with Format=json, CSV from getreport with Format=csv.
 * Shapes handled: <createcaseresponse><caseid> (lower case), <Cases><Case> with flat dotted elements
 * (CaseDetails.CaseId ...), the empty <Cases />, and JSON bodies that are several objects back to back (`}{`).
 *
 * XML safety: a DOCTYPE (and with it any ENTITY declaration, internal or external) is refused before parsing, so no
 * entity is ever expanded or fetched; fast-xml-parser's entity limits stay on as a second fence.
 */
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import Papa from 'papaparse';
import { isRecord } from 'caseway/core';

export type Flat = Record<string, string>;

/** A reply body that cannot be used: malformed, unsafe or of the wrong kind. Carries no body text. */
export class ReplyDecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplyDecodeError';
  }
}

const xmlParser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
  processEntities: { enabled: true, maxEntityCount: 10, maxEntitySize: 1000, maxTotalExpansions: 1000, maxExpandedLength: 100000 },
  htmlEntities: false,
  // Keep the document's own structure; an element repeated becomes an array, a single one does not.
});

/** Parses an XML reply after refusing DOCTYPE/ENTITY declarations. Returns the object of the document. */
export function parseXmlSafely(text: string): Record<string, unknown> {
  const head = text.replace(/^\uFEFF/, '');
  if (/<!DOCTYPE/i.test(head) || /<!ENTITY/i.test(head)) {
    throw new ReplyDecodeError('XML reply refused: it declares a DOCTYPE or entities');
  }
  if (head.trimStart()[0] !== '<') throw new ReplyDecodeError('reply is not XML');
  const valid = XMLValidator.validate(head);
  if (valid !== true) throw new ReplyDecodeError(`XML reply is malformed (${valid.err.code} at line ${valid.err.line})`);
  try {
    return xmlParser.parse(head) as Record<string, unknown>;
  } catch (err) {
    throw new ReplyDecodeError(`XML reply could not be parsed (${(err as Error).name})`);
  }
}

/**
 * Parses a JSON body that may be one value or several top-level values back to back (`{..}{..}`, with or
 * without whitespace between). Scans with string awareness, so `}{` inside a string does not split.
 */
export function parseJsonValues(text: string): unknown[] {
  const values: unknown[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i])) i++;
    if (i >= n) break;
    const start = i;
    const open = text[i];
    if (open !== '{' && open !== '[') {
      // a bare scalar: only valid as the whole body
      try {
        values.push(JSON.parse(text.slice(start)));
      } catch {
        throw new ReplyDecodeError('JSON reply is malformed');
      }
      break;
    }
    let depth = 0;
    let inString = false;
    for (; i < n; i++) {
      const c = text[i];
      if (inString) {
        if (c === '\\') i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === '{' || c === '[') depth++;
      else if (c === '}' || c === ']') {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
    if (depth !== 0) throw new ReplyDecodeError('JSON reply is truncated');
    try {
      values.push(JSON.parse(text.slice(start, i)));
    } catch {
      throw new ReplyDecodeError('JSON reply is malformed');
    }
  }
  return values;
}

export function parseCsv(text: string): Flat[] {
  const result = Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: true, delimiter: ',' });
  if (result.errors.some((e) => e.type === 'Quotes' || e.type === 'Delimiter')) {
    throw new ReplyDecodeError('CSV reply is malformed');
  }
  return result.data.map((row) => {
    const out: Flat = {};
    for (const [k, v] of Object.entries(row)) if (k !== '__parsed_extra') out[k] = v ?? '';
    return out;
  });
}

/** A scalar element's text: '' for an empty element, the #text of an element with attributes. */
function textOf(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (isRecord(value) && '#text' in value) return textOf(value['#text']);
  return '';
}

/** Flattens one record (an XML element's children or a JSON object) into dotted-name -> string. */
export function flattenRecord(value: unknown): Flat {
  const out: Flat = {};
  if (!isRecord(value)) return out;
  for (const [key, v] of Object.entries(value)) {
    if (key.startsWith('@')) continue;
    if (Array.isArray(v)) {
      v.forEach((item, idx) => {
        if (isRecord(item) && !('#text' in item)) {
          for (const [k2, v2] of Object.entries(flattenRecord(item))) out[`${key}${idx + 1}.${k2}`] = v2;
        } else out[idx === 0 ? key : `${key}${idx + 1}`] = textOf(item);
      });
    } else if (isRecord(v) && !('#text' in v) && Object.keys(v).some((k) => !k.startsWith('@'))) {
      for (const [k2, v2] of Object.entries(flattenRecord(v))) out[`${key}.${k2}`] = v2;
    } else {
      out[key] = textOf(v);
    }
  }
  return out;
}

/** The rows of a list reply: <Root><Row/>...</Root> (XML), an array / back-to-back objects / {Root:{Row:[...]}} (JSON). */
export function rowsOf(doc: unknown): Flat[] {
  if (Array.isArray(doc)) return doc.flatMap((item) => rowsOf(item));
  if (!isRecord(doc)) return [];
  const keys = Object.keys(doc).filter((k) => !k.startsWith('?') && !k.startsWith('@'));
  // A flat row itself (JSON getcasedetails): every value is a scalar.
  if (keys.length > 0 && keys.every((k) => !isRecord(doc[k]) && !Array.isArray(doc[k])) && keys.some((k) => k.includes('.'))) {
    return [flattenRecord(doc)];
  }
  if (keys.length !== 1) return keys.length === 0 ? [] : [flattenRecord(doc)];
  const root = doc[keys[0]];
  if (root === '' || root === undefined || root === null) return []; // <Cases />
  if (Array.isArray(root)) return root.map((r) => flattenRecord(r));
  if (!isRecord(root)) return [];
  const childKeys = Object.keys(root).filter((k) => !k.startsWith('@'));
  if (childKeys.length === 0) return [];
  if (childKeys.length === 1) {
    const rows = root[childKeys[0]];
    if (Array.isArray(rows)) return rows.map((r) => flattenRecord(r));
    if (isRecord(rows)) return [flattenRecord(rows)];
  }
  return [flattenRecord(root)];
}

/** Decodes a body by its look (XML, JSON or CSV) into documents. */
export function decodeBody(text: string, expect: 'xml' | 'json' | 'csv', contentType: string): unknown[] {
  const trimmed = text.replace(/^\uFEFF/, '').trimStart();
  if (/^<!DOCTYPE\s+html/i.test(trimmed) || /^<html/i.test(trimmed)) throw new ReplyDecodeError('reply is an HTML page');
  if (trimmed.startsWith('<')) return [parseXmlSafely(trimmed)];
  if (trimmed.startsWith('{') || trimmed.startsWith('[')) return parseJsonValues(trimmed);
  if (expect === 'csv' || /csv/i.test(contentType)) return parseCsv(text);
  throw new ReplyDecodeError(`reply is not ${expect.toUpperCase()}`);
}

/** The element under the reply root named `name` (case-insensitive), e.g. createcaseresponse.caseid. */
export function findResponseField(docs: unknown[], rootName: string, field: string): string | undefined {
  for (const doc of docs) {
    if (!isRecord(doc)) continue;
    const rootKey = Object.keys(doc).find((k) => k.toLowerCase() === rootName.toLowerCase());
    const root = rootKey ? doc[rootKey] : doc;
    if (!isRecord(root)) continue;
    const key = Object.keys(root).find((k) => k.toLowerCase() === field.toLowerCase());
    if (key) {
      const v = textOf(root[key]);
      if (v !== '') return v;
    }
  }
  return undefined;
}

/** One entry of a getcasedocuments reply. */
export interface CaseDocument {
  id: string;
  name: string;
  category?: string;
  /** The `Type` attribute: a MIME type. */
  mimeType?: string;
  source?: string;
  /** Zone-less local time, as iCasework writes it. */
  documentDate?: string;
  /** The download URL (the element's text; it may embed an access_token). */
  url?: string;
}

function attrOrKey(rec: Record<string, unknown>, name: string): string | undefined {
  const v = textOf(rec[`@${name}`] ?? rec[name]);
  return v === '' ? undefined : v;
}

/**
 * The documents of a getcasedocuments reply: XML `<Documents><Document Id Name Category Type Source DocumentDate>url`
 * (recorded; one or several), `<Documents />` (none), or JSON `{"Documents":[{Id,Name,...,URL}]}` (shape UNKNOWN in
 * the reference; the repeated-element form `{"Documents":{"Document":[...]}}` is read too).
 */
export function documentsOf(docs: unknown[]): CaseDocument[] {
  const out: CaseDocument[] = [];
  for (const doc of docs) {
    if (!isRecord(doc)) continue;
    const rootKey = Object.keys(doc).find((k) => k.toLowerCase() === 'documents');
    if (!rootKey) continue;
    let list: unknown = doc[rootKey];
    if (isRecord(list)) {
      const inner = Object.keys(list).find((k) => k.toLowerCase() === 'document');
      list = inner ? list[inner] : [];
    }
    const items = Array.isArray(list) ? list : list === '' || list === undefined || list === null ? [] : [list];
    for (const item of items) {
      if (!isRecord(item)) continue;
      const id = attrOrKey(item, 'Id');
      if (!id) continue;
      const url = '#text' in item ? textOf(item['#text']) : attrOrKey(item, 'URL');
      out.push({
        id,
        name: attrOrKey(item, 'Name') ?? '',
        category: attrOrKey(item, 'Category'),
        mimeType: attrOrKey(item, 'Type'),
        source: attrOrKey(item, 'Source'),
        documentDate: attrOrKey(item, 'DocumentDate'),
        url: url === '' ? undefined : url,
      });
    }
  }
  return out;
}
