/**
 * The ETD web form, many times over: unique valid applications posted across the api hosts like a load balancer
 * would (a host that failed is avoided for a few seconds), each retried until the hub answers 200: after a 503
 * (honouring Retry-After) on the same host, after a timeout or a refused connection on another host.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT, sleep } from './hosts';

export interface Application {
  marker: string;
  body: string;
}

/** Applications that differ only in the e-mail address, which each peer keeps: the marker the peers are counted by. */
export function applications(tag: string, count: number): Application[] {
  const sample = readFileSync(path.join(ROOT, 'config/samples/etd-application.json'), 'utf8');
  const out: Application[] = [];
  for (let i = 0; i < count; i++) {
    const marker = `${tag}.${i}@example.org`;
    const app: { etdApp: { appDetails: { email: string } } } = JSON.parse(sample);
    app.etdApp.appDetails.email = marker;
    out.push({ marker, body: JSON.stringify(app) });
  }
  return out;
}

export interface LoadResult {
  acknowledged: Set<string>;
  /** Answers other than 200 the hub gave, by status ("timeout"/"error" for no answer). */
  answers: Record<string, number>;
  /** Applications that were still not acknowledged when their time ran out, or were refused as invalid. */
  unacknowledged: number;
  firstRefusal?: string;
  seconds: number;
}

interface Answer {
  status: number;
  retryAfterS?: number;
  body: string;
}

function post(host: string, port: number, apiKey: string, body: string, agent: http.Agent, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host, port, path: '/etd/application', method: 'POST', agent, timeout: timeoutMs, headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'X-API-Key': apiKey, 'Content-Length': Buffer.byteLength(body) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const ra = Number(res.headers['retry-after']);
          resolve({ status: res.statusCode ?? 0, retryAfterS: Number.isFinite(ra) ? ra : undefined, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

export interface LoadOptions {
  hosts: string[];
  port: number;
  apiKey: string;
  concurrency: number;
  /** Called after every acknowledgement with the count so far (faults are triggered from here). */
  onAck?: (acked: number) => void;
  /** How long one application may take to be acknowledged, retries included. */
  perApplicationMs?: number;
  requestTimeoutMs?: number;
}

export async function postAll(apps: Application[], o: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const agents = new Map(o.hosts.map((h) => [h, new http.Agent({ keepAlive: true, maxSockets: o.concurrency })]));
  const avoidUntil = new Map<string, number>();
  let turn = 0;
  const pick = (): string => {
    const now = Date.now();
    for (let i = 0; i < o.hosts.length; i++) {
      const h = o.hosts[(turn + i) % o.hosts.length]!;
      if ((avoidUntil.get(h) ?? 0) <= now) {
        turn = (turn + i + 1) % o.hosts.length;
        return h;
      }
    }
    turn = (turn + 1) % o.hosts.length;
    return o.hosts[turn]!;
  };
  const result: LoadResult = { acknowledged: new Set(), answers: {}, unacknowledged: 0, seconds: 0 };
  const count = (what: string) => (result.answers[what] = (result.answers[what] ?? 0) + 1);
  let next = 0;
  const one = async (app: Application) => {
    const deadline = Date.now() + (o.perApplicationMs ?? 300000);
    while (Date.now() < deadline) {
      const host = pick();
      try {
        const a = await post(host, o.port, o.apiKey, app.body, agents.get(host)!, o.requestTimeoutMs ?? 10000);
        if (a.status === 200) {
          result.acknowledged.add(app.marker);
          o.onAck?.(result.acknowledged.size);
          return;
        }
        count(String(a.status));
        if (a.status >= 400 && a.status < 500 && a.status !== 408 && a.status !== 429) {
          result.firstRefusal ??= `${a.status} ${a.body.slice(0, 200)}`;
          break;
        }
        await sleep(Math.min(10, a.retryAfterS ?? 1) * 1000);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        count(err instanceof Error && err.message === 'timeout' ? 'timeout' : (code ?? 'error'));
        avoidUntil.set(host, Date.now() + 5000);
        await sleep(200);
      }
    }
    result.unacknowledged += 1;
  };
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < apps.length) await one(apps[next++]!);
    }),
  );
  for (const a of agents.values()) a.destroy();
  result.seconds = (Date.now() - started) / 1000;
  return result;
}
