/**
 * Shared by the ops tests: a real in-process hub (startTestHub: real Redis, loopback HTTP, the recorder fixture
 * adapter) with the ops plugins and Prometheus metrics, two users, and a small cookie-keeping HTTP client.
 */
import path from 'node:path';
import axios, { type AxiosResponse } from 'axios';
import type { Logger } from '../../src/core/logger';
import { opsPlugins } from '../../src/ops';
import { PrometheusMetrics } from '../../src/ops/metrics';
import { hashPassword } from '../../src/ops/password';
import { startTestHub, type TestHub } from '../helpers/hub';

/** The ops tests' own fixture adapters (ticker: a poll source and an HTTP action). */
export const OPS_FIXTURE_ADAPTER_DIR = path.resolve(__dirname, 'fixtures/adapters');

export const OPERATOR = { name: 'olivia', password: 'operator-pass-1' };
export const VIEWER = { name: 'victor', password: 'viewer-pass-22' };

/** Cheap scrypt parameters for tests (the format and the code path are the production ones). */
const FAST = { N: 1024, r: 8, p: 1 };

export async function opsUsersYaml(failureThreshold = 2): Promise<string> {
  const [o, v] = await Promise.all([hashPassword(OPERATOR.password, FAST), hashPassword(VIEWER.password, FAST)]);
  return `
ops:
  users:
    - { name: ${OPERATOR.name}, role: operator, passwordHash: "${o}" }
    - { name: ${VIEWER.name}, role: viewer, passwordHash: "${v}" }
  circuit: { failureThreshold: ${failureThreshold}, coolDownSeconds: 60 }
`;
}

export interface OpsTestHub extends TestHub {
  metrics: PrometheusMetrics;
}

export async function startOpsHub(opts: { yaml: string; log?: Logger; prefix?: string; dataKey?: string; defaultMetrics?: boolean; withTicker?: boolean }): Promise<OpsTestHub> {
  const metrics = new PrometheusMetrics({ defaultMetrics: opts.defaultMetrics ?? true, stateCacheMs: 0 });
  const t = await startTestHub({
    yaml: opts.yaml,
    log: opts.log,
    metrics,
    httpPlugins: opsPlugins(metrics),
    prefix: opts.prefix,
    dataKey: opts.dataKey,
    adapterDirs: opts.withTicker ? [OPS_FIXTURE_ADAPTER_DIR] : [],
  });
  return { ...t, metrics };
}

export class OpsClient {
  private cookies = new Map<string, string>();
  csrf = '';

  constructor(readonly baseUrl: string, private readonly headers: Record<string, string> = {}) {}

  private keep(res: AxiosResponse): AxiosResponse {
    for (const line of (res.headers['set-cookie'] as string[] | undefined) ?? []) {
      const [pair, ...attrs] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (!value || attrs.some((a) => /max-age=0/i.test(a.trim()))) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const found = /name="_csrf" value="([^"]+)"/.exec(typeof res.data === 'string' ? res.data : '');
    if (found) this.csrf = found[1];
    return res;
  }

  private cookieHeader(): Record<string, string> {
    return this.cookies.size ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {};
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<AxiosResponse> {
    return this.keep(await axios.get(this.baseUrl + path, { maxRedirects: 0, validateStatus: () => true, headers: { ...this.headers, ...this.cookieHeader(), ...headers }, responseType: 'text', transformResponse: (d) => d }));
  }

  async getJson(path: string): Promise<AxiosResponse> {
    const res = await this.get(path, { accept: 'application/json' });
    try {
      res.data = JSON.parse(res.data as string);
    } catch {
      // not JSON
    }
    return res;
  }

  async post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<AxiosResponse> {
    return this.keep(
      await axios.post(this.baseUrl + path, new URLSearchParams(form).toString(), {
        maxRedirects: 0,
        validateStatus: () => true,
        headers: { ...this.headers, 'content-type': 'application/x-www-form-urlencoded', ...this.cookieHeader(), ...headers },
        responseType: 'text',
        transformResponse: (d) => d,
      }),
    );
  }

  /** Signs in through the form, as a browser does. Returns the POST's response. */
  async login(user: { name: string; password: string }): Promise<AxiosResponse> {
    const page = await this.get('/ops/login');
    if (page.status !== 200) throw new Error(`login page answered ${page.status}`);
    return this.post('/ops/login', { username: user.name, password: user.password, _csrf: this.csrf, next: '/ops' });
  }

  /** Loads a page so that `csrf` holds the session's token. */
  async refreshCsrf(): Promise<void> {
    await this.get('/ops');
  }
}

export function recorderEvent(eventId: string, sourceId: string, extra: Record<string, unknown> = {}) {
  return {
    eventId,
    case: {
      type: 'complaint',
      source: { system: 'recorder', id: sourceId },
      parties: [{ roles: ['customer'], person: { surname: 'Qwertyson' } }],
      ...extra,
    },
  };
}
