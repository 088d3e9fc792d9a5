/** Shared bits for the webhook tests: a sample case with personal data, and a delivery request for it. */
import http from 'node:http';
import type { DeliveryRequest } from '../../../src/core/adapter';
import type { CanonicalCase } from '../../../src/core/model/canonical.generated';

export const SURNAME = 'Quixotefield';

export function sampleCase(): CanonicalCase {
  return {
    type: 'etd-application',
    status: 'received',
    source: { system: 'etd', connection: 'etd-form', id: 'ETD0000000001' },
    parties: [
      {
        roles: ['applicant'],
        person: { forenames: 'Alma', surname: SURNAME, birthDate: '1990-02-03', identityDocuments: [{ type: 'passport', number: 'P98765432' }] },
        contacts: [{ kind: 'email', value: 'alma@example.org' }],
      },
    ],
  };
}

export function deliveryRequest(over: Partial<DeliveryRequest> = {}): DeliveryRequest {
  return {
    case: sampleCase(),
    hubId: 'hub-1',
    action: 'post',
    options: {},
    route: 'etd-to-any',
    deliveryId: 'd-0123456789abcdef',
    attempt: 1,
    references: [],
    ...over,
  };
}

export interface RawReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  json: unknown;
}

/** A plain node:http request (every header and byte is ours); the reply body parsed as JSON when it is JSON. */
export function request(url: string, req: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { ...req.headers };
    if (req.body !== undefined) headers['Content-Length'] = Buffer.byteLength(req.body);
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
        resolve({ status: res.statusCode ?? 0, headers: res.headers, json });
      });
    });
    // A server may answer 413 and close before the whole body is written.
    r.on('error', reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}
