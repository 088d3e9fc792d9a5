/**
 * The fault proxy's records without the proxy (direct mode of peer-main.ts): the hub calls the sandbox peer's own URL
 * and every request to it is recorded in the peer's process by observing the peer's own HTTP server, so the
 * benchmarks count calls per case, duplicates and lost cases from the same ProxyRecords (fault-proxy.ts) without an
 * extra HTTP hop (the forwarding proxy cost the peer process ~0.24 ms of CPU per case).
 *
 * How: Node's diagnostics channel `http.server.request.start` announces every request a server in this process takes,
 * before the server's own 'request' handlers run; requests arriving on the peer's port are recorded. The recorder
 * never reads the request stream (the peer's body parser does); once the exchange is over (the response's 'close')
 * it takes the body the parser left in `req.body` (express: parsed JSON, parsed form fields or a raw Buffer), the
 * status the peer answered and, for the operations whose record needs it (createcase: the caseid), the reply body,
 * copied as the peer writes it (res.write/res.end are wrapped for those requests only). The fields are built by the
 * proxy's own code (recordOf, replyCaseId), with forwarded = true and replyLost = false: nothing is in between.
 *
 * Differences from the proxy, none of which a benchmark meets: a request the peer refused before reading its body
 * (e.g. IIZUKA's 401 for a wrong key) or whose body its parser refused (400, not JSON) has only the query's token
 * (the proxy found it in the raw body); a request whose caller went away before the peer
 * answered is recorded with status 0 (the proxy, whose own connection to the peer stayed open, saw the peer's answer).
 * Faults (plans, down) need the proxy: the fault suite keeps it.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import { READS_REPLY, recordOf, replyCaseId, TOKEN_PATTERN, type ProxyRecord } from './fault-proxy';

const REQUEST_START = 'http.server.request.start';

/** What the record takes from the request body: the token found in it, and the parameters (query, then form body). */
interface BodyParts {
  token?: string;
  param: (name: string) => string | null;
}

/**
 * The request body as the peer's body parser left it in `req.body`, read as the proxy reads the raw body: the token
 * anywhere in it; the parameters of a form body after the query's (parsed fields are read as they are, not encoded
 * back into a form and parsed again). No body (not read, or refused by the parser): the query alone.
 */
function bodyParts(req: IncomingMessage, url: URL): BodyParts {
  const query = (name: string): string | null => url.searchParams.get(name);
  const body: unknown = 'body' in req ? req.body : undefined;
  if (body === undefined || body === null) return { param: query };
  if (body instanceof Uint8Array) {
    const text = Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8');
    const params = new URLSearchParams(url.search);
    if (isForm(req)) for (const [k, v] of new URLSearchParams(text)) params.append(k, v);
    return { token: text.match(TOKEN_PATTERN)?.[0], param: (name) => params.get(name) };
  }
  if (typeof body === 'object' && isForm(req)) {
    // Parsed form fields, in the order sent (a repeated field is an array of its values; a bracketed name, an object).
    const first = new Map<string, string>();
    let token: string | undefined;
    const entries: Array<[string, unknown]> = Object.entries(body);
    for (const [name, value] of entries) {
      const values: unknown[] = Array.isArray(value) ? value : [value];
      for (const v of values) {
        if (typeof v === 'string') {
          if (!first.has(name)) first.set(name, v);
          token ??= v.match(TOKEN_PATTERN)?.[0];
        } else token ??= JSON.stringify(v)?.match(TOKEN_PATTERN)?.[0];
      }
    }
    return { token, param: (name) => query(name) ?? first.get(name) ?? null };
  }
  // JSON (or text): the token anywhere in it; no parameters beyond the query, as the proxy reads a non-form body.
  return { token: (typeof body === 'string' ? body : (JSON.stringify(body) ?? '')).match(TOKEN_PATTERN)?.[0], param: query };
}

function isForm(req: IncomingMessage): boolean {
  return req.headers['content-type']?.includes('application/x-www-form-urlencoded') ?? false;
}

/** Copies what the peer writes as its reply body; the reply goes out unchanged. */
function tapReply(res: ServerResponse): () => string {
  const chunks: Buffer[] = [];
  const keep = (chunk: unknown, encoding: unknown): void => {
    if (typeof chunk === 'string') chunks.push(Buffer.from(chunk, typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8'));
    else if (chunk instanceof Uint8Array) chunks.push(Buffer.from(chunk));
  };
  const { write, end } = res;
  res.write = (...args: unknown[]): boolean => {
    keep(args[0], args[1]);
    return Reflect.apply(write, res, args);
  };
  res.end = (...args: unknown[]): ServerResponse => {
    keep(args[0], args[1]);
    return Reflect.apply(end, res, args);
  };
  return () => Buffer.concat(chunks).toString('utf8');
}

export class PeerRecorder {
  readonly records: ProxyRecord[] = [];
  private readonly listener = (message: unknown): void => this.observe(message);

  /** `port`: the peer's port (requests to other servers of the process, the control server's, are not recorded). */
  constructor(private readonly port: number) {}

  start(): this {
    subscribe(REQUEST_START, this.listener);
    return this;
  }

  stop(): void {
    unsubscribe(REQUEST_START, this.listener);
  }

  private observe(message: unknown): void {
    if (typeof message !== 'object' || message === null || !('request' in message) || !('response' in message)) return;
    const { request, response } = message;
    if (!(request instanceof IncomingMessage) || !(response instanceof ServerResponse) || request.socket.localPort !== this.port) return;
    const url = new URL(request.url ?? '/', 'http://peer');
    // Recorded on arrival, in arrival order, as the proxy does (what the URL and headers say); what the body says and
    // the reply once the exchange is over.
    const record: ProxyRecord = { ...recordOf(url, request.headers, undefined, (name) => url.searchParams.get(name)), forwarded: true };
    this.records.push(record);
    const reply = READS_REPLY.has(record.op) ? tapReply(response) : undefined;
    response.once('close', () => {
      const body = bodyParts(request, url);
      Object.assign(record, recordOf(url, request.headers, body.token, body.param), { forwarded: true });
      // Not ended: the peer had not answered when the caller went away (or never answers).
      if (!response.writableEnded) return;
      record.status = response.statusCode;
      record.at = Date.now();
      if (reply) record.caseId = replyCaseId(reply());
    });
  }
}
