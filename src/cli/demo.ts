/**
 * `caseway demo` / `npm run demo`: against a hub started with the default config (`npm start`), plays the users of
 * each peer, pushes the sample cases in `config/samples/` through every route, and prints what arrived where. Exits
 * 1 if any route failed. The steps live beside the adapters (`adapters/<name>/demo.ts`, src/core/demo.ts): this file
 * only runs them, in adapter order, all at once.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import { DemoFailure, type DemoCaseView, type DemoContext, type DemoStep, type DemoTraceEntry, type RouteOutcome } from '../core/demo';
import { BUILTIN_ADAPTER_DIR } from '../core/registry';
import { sleep } from '../core/util';

export type { RouteOutcome } from '../core/demo';

export interface DemoOptions {
  url: string;
  samplesDir: string;
  timeoutMs: number;
  apiToken?: string;
  out?: (line: string) => void;
  /** Folders holding adapters (default: the built-in ones). */
  adapterDirs?: string[];
}

/** Every adapter's demo steps (`<adapter>/demo.ts` exporting `demoSteps`), by adapter name. */
export function discoverDemoSteps(dirs: string[] = [BUILTIN_ADAPTER_DIR]): DemoStep[] {
  const steps: DemoStep[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const folder = path.join(dir, entry.name);
      if (!entry.isDirectory() || !['demo.ts', 'demo.js'].some((f) => existsSync(path.join(folder, f)))) continue;
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const mod = require(path.join(folder, 'demo')) as { demoSteps?: DemoStep[] };
      steps.push(...(mod.demoSteps ?? []));
    }
  }
  return steps;
}

export class Demo implements DemoContext {
  readonly hub: AxiosInstance;
  readonly url: string;
  private sandboxes: Record<string, Record<string, string>> = {};

  constructor(private readonly opts: DemoOptions) {
    this.url = opts.url;
    this.hub = axios.create({
      baseURL: opts.url,
      timeout: 10000,
      validateStatus: () => true,
      headers: opts.apiToken ? { Authorization: `Bearer ${opts.apiToken}` } : {},
    });
  }

  sample<T>(name: string): T {
    return JSON.parse(readFileSync(path.join(this.opts.samplesDir, name), 'utf8')) as T;
  }

  sandboxUrl(connection: string, which: string): string {
    const url = this.sandboxes[connection]?.[which];
    if (!url) throw new DemoFailure(`the hub runs no sandbox "${connection}" with a ${which} URL (start it with the default config: npm start)`);
    return url;
  }

  private traceUrl(hubId: string): string {
    return `${this.opts.url}/api/cases/${hubId}/trace`;
  }

  async waitForCase(id: string, what: string, done: (view: DemoCaseView) => boolean): Promise<DemoCaseView> {
    const deadline = Date.now() + this.opts.timeoutMs;
    let last: DemoCaseView | undefined;
    while (Date.now() < deadline) {
      const res = await this.hub.get(`/api/cases/${encodeURIComponent(id)}/trace`);
      if (res.status === 200) {
        last = res.data as DemoCaseView;
        const dead = last.trace.find((e) => e.stage === 'dead');
        if (dead) throw new DemoFailure(`${what}: delivery to ${dead.connection} failed for good: ${String(dead.error?.message ?? 'see the trace')} (${this.traceUrl(last.hubId)})`);
        if (done(last)) return last;
      }
      await sleep(250);
    }
    throw new DemoFailure(`${what}: not done after ${this.opts.timeoutMs / 1000} s${last ? ` (${this.traceUrl(last.hubId)})` : ' (the hub has not seen the case)'}`);
  }

  delivered(view: DemoCaseView, route: string, target?: string): DemoTraceEntry | undefined {
    return view.trace.find((e) => e.stage === 'delivered' && e.route === route && (!target || e.target === target));
  }

  ref(view: DemoCaseView, system: string, connection?: string): string {
    return view.references.find((r) => r.system === system && (!connection || r.connection === connection))?.id ?? '?';
  }

  async waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const deadline = Date.now() + this.opts.timeoutMs;
    while (Date.now() < deadline) {
      const value = await check();
      if (value !== undefined) return value;
      await sleep(250);
    }
    throw new DemoFailure(`${what}: not seen after ${this.opts.timeoutMs / 1000} s`);
  }

  async run(): Promise<RouteOutcome[]> {
    const out = this.opts.out ?? ((line: string) => process.stdout.write(`${line}\n`));
    const ready = await this.hub.get('/readyz').catch(() => null);
    if (!ready || ready.status !== 200) {
      out(`caseway demo: no ready hub at ${this.opts.url} (start one with: npm start)`);
      return [{ route: 'hub', ok: false, lines: [], error: 'hub not reachable' }];
    }
    const sandboxes = await this.hub.get('/api/sandboxes');
    this.sandboxes = (sandboxes.data?.sandboxes ?? {}) as Record<string, Record<string, string>>;
    const outcomes = await Promise.all(
      discoverDemoSteps(this.opts.adapterDirs).map(async (step) => {
        try {
          const r = await step.run(this);
          return Array.isArray(r) ? r : [r];
        } catch (err) {
          return [{ route: step.route, ok: false, lines: [], error: err instanceof Error ? err.message : String(err) }];
        }
      }),
    );
    const flat = outcomes.flat();
    for (const o of flat) {
      out(`${o.ok ? 'OK  ' : 'FAIL'} ${o.route}`);
      for (const line of o.lines) out(`       ${line}`);
      if (o.hubId) out(`       trace                               ${this.traceUrl(o.hubId)}`);
      if (o.error) out(`       ${o.error}`);
    }
    const failed = flat.filter((o) => !o.ok).length;
    out(failed ? `${failed} route(s) failed` : `all ${flat.length} routes delivered`);
    return flat;
  }
}
