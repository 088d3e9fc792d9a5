/** Shared bits for the ETD tests: fixtures and a raw HTTP client (node:http, so every header and byte is ours). */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { JsonObject } from '../src/json';

export function fixture(name: string): JsonObject {
  return JSON.parse(readFileSync(path.join(__dirname, 'fixtures', name), 'utf8')) as JsonObject;
}

/** The seed's own example request, exactly as the spec prints it. */
export const seedBody = (): JsonObject => fixture('seed-example.json');
/** A fully valid application (the demo sample). */
export const validBody = (): JsonObject => fixture('valid-application.json');
export const validApp = (): JsonObject => validBody().etdApp as JsonObject;

/** The error list a faithful validator gives for the seed example (required fields left as ""; years "x"). */
export const SEED_ERRORS = [
  { 'passportDetails.passportApplicant.relationship': 'Required' },
  { 'lostStolenDetails.place': 'Required' },
  { 'lostStolenDetails.date': 'Required' },
  { 'lostStolenDetails.country': 'Required' },
  { 'lostStolenDetails.circumstances': 'Required' },
  { 'lostStolenDetails.policeDetails.reportedDate': 'Required' },
  { 'lostStolenDetails.policeDetails.policeStation': 'Required' },
  { 'lostStolenDetails.policeDetails.policeReportNumber': 'Required' },
  { 'lostStolenDetails.policeDetails.prevReported': 'Required' },
  { 'journeyDetails.departDate': 'Required' },
  { 'journeyDetails.arrivalDate': 'Required' },
  { 'journeyDetails.destCountry': 'Required' },
  { 'journeyDetails.travelPurpose': 'Required' },
  { 'journeyDetails.returnJourneyDetails.departDate': 'Required' },
  { 'journeyDetails.returnJourneyDetails.arrivalDate': 'Required' },
  { 'furtherInformation.registeredApplicant': 'Required' },
  { 'firstTimeApp.HMPORefNumber': 'Required' },
  { 'firstTimeApp.appDate': 'Required' },
  { 'firstTimeApp.countersignature.years': 'Invalid format' },
];

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  json: unknown;
}

export interface RawRequest {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in chunks without Content-Length. */
  chunked?: boolean;
}

export function request(url: string, req: RawRequest = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined && !req.chunked) headers['Content-Length'] = Buffer.byteLength(req.body);
    const r = http.request(url, { method: req.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on('error', reject);
    if (req.body !== undefined) {
      if (req.chunked) {
        const buf = Buffer.from(req.body);
        for (let i = 0; i < buf.length; i += 1024) r.write(buf.subarray(i, i + 1024));
      } else r.write(req.body);
    }
    r.end();
  });
}

export const JSON_HEADERS = { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' };

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<RawReply> {
  return request(url, { headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) });
}

/** Sets a value at a dotted path (creating objects), or deletes it when value is undefined. Returns the root. */
export function edit(root: JsonObject, dotted: string, value: unknown): JsonObject {
  const keys = dotted.split('.');
  let node = root as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  const last = keys[keys.length - 1];
  if (value === undefined) delete node[last];
  else node[last] = value;
  return root;
}
