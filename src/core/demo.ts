/**
 * `caseway demo` plays the users of each peer against a running hub. The steps live beside the adapters
 * (`adapters/<name>/demo.ts` exporting `demoSteps`), so the hub names no peer; src/cli/demo.ts runs them with a
 * DemoContext. Each step drives one default route (config/caseway.yaml) and reports what arrived where.
 */
import type { AxiosInstance } from 'axios';

export interface DemoTraceEntry {
  stage: string;
  route?: string;
  target?: string;
  connection?: string;
  summary?: Record<string, unknown>;
  error?: Record<string, unknown>;
}

export interface DemoCaseView {
  hubId: string;
  references: Array<{ system: string; connection?: string; id: string; kind?: string }>;
  trace: DemoTraceEntry[];
}

export interface RouteOutcome {
  route: string;
  ok: boolean;
  lines: string[];
  hubId?: string;
  error?: string;
}

/** A step's own failure: its message is printed as the route's reason. */
export class DemoFailure extends Error {}

export interface DemoContext {
  /** The hub's base URL. */
  readonly url: string;
  /** A client of the hub's API (its token set; answers every status). */
  readonly hub: AxiosInstance;
  /** A sample file of config/samples/, parsed. */
  sample<T>(name: string): T;
  /** A URL the hub's sandbox for this connection announced (GET /api/sandboxes), e.g. `api` or `control`. */
  sandboxUrl(connection: string, which: string): string;
  /** Waits until the hub knows a case by this id and `done` says its trace is complete; fails fast on a dead letter. */
  waitForCase(id: string, what: string, done: (view: DemoCaseView) => boolean): Promise<DemoCaseView>;
  /** Waits until `check` returns something. */
  waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T>;
  /** The trace entry saying the route (and target) delivered. */
  delivered(view: DemoCaseView, route: string, target?: string): DemoTraceEntry | undefined;
  /** The case's id in a system (and connection), or "?". */
  ref(view: DemoCaseView, system: string, connection?: string): string;
}

export interface DemoStep {
  /** The route it drives (printed when the step fails before it says more). */
  route: string;
  run(demo: DemoContext): Promise<RouteOutcome | RouteOutcome[]>;
}
