import { createHash } from 'node:crypto';

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

/**
 * The hub id a new case gets from the event that starts it: derived from the event key (a UUID, version 8), not
 * drawn at random. An attempt whose writes a failover lost, retried, gets the same id again, so what survived the
 * failover (its delivery job, which carries the hub id; a delivery the peer already holds under it) still names the
 * case. Drawn at random, the retry made a second id, and the case was known to the peer under one and to the hub
 * under the other.
 */
export function hubIdFor(eventKey: string): string {
  const h = createHash('sha256').update(`hub-id\u0000${eventKey}`).digest('hex');
  const variant = ((parseInt(h[16], 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-8${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
