import { createHash, randomUUID } from 'node:crypto';

export function sha256Hex(text: string, length = 32): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** One source event, wherever it came from: connection + source + the source's own event id. */
export function eventKeyOf(connection: string, source: string, eventId: string): string {
  return sha256Hex(`${connection}\u0000${source}\u0000${eventId}`);
}

/** Deterministic per (route, target, event): retries and replays reuse it, so the peer sees one delivery. */
export function deliveryIdOf(route: string, target: string, eventKey: string): string {
  return `d-${sha256Hex(`${route}\u0000${target}\u0000${eventKey}`)}`;
}

export function newHubId(): string {
  return randomUUID();
}
