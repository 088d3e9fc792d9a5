/** What the engine reports; src/ops/metrics.ts implements it with prom-client. The core does not depend on ops. */
export interface HubMetrics {
  caseRouted(route: string, outcome: 'routed' | 'filtered' | 'deduplicated' | 'echo'): void;
  delivery(route: string, connection: string, outcome: 'delivered' | 'retrying' | 'dead' | 'skipped', seconds: number): void;
  peerResponse(connection: string, operation: string, status: number | string, seconds: number): void;
  pollRun(connection: string, source: string, outcome: 'ok' | 'error' | 'locked', emitted: number, lagSeconds?: number): void;
}

export const noopMetrics: HubMetrics = {
  caseRouted: () => undefined,
  delivery: () => undefined,
  peerResponse: () => undefined,
  pollRun: () => undefined,
};
