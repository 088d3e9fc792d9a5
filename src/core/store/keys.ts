/** Every Redis key the hub writes, in one place. `prefix` isolates one hub (or one test) from another. */
export class Keys {
  constructor(readonly prefix: string) {}

  /** BullMQ's own prefix (its keys become <prefix>q:<queue>:...). */
  get queuePrefix(): string {
    return `${this.prefix}q`;
  }
  payload(ref: string): string {
    return `${this.prefix}payload:${ref}`;
  }
  caseMeta(hubId: string): string {
    return `${this.prefix}case:${hubId}`;
  }
  caseRefs(hubId: string): string {
    return `${this.prefix}refs:${hubId}`;
  }
  /**
   * What each system (connection) last said about a case: hash connection -> encrypted view, and one plaintext field
   * listing the views kept as references to their event's payload (PAYLOAD_REFS_FIELD, src/core/store/view-store.ts).
   */
  views(hubId: string): string {
    return `${this.prefix}views:${hubId}`;
  }
  /** What the hub delivered to one connection for a case, to recognise the peer's echo of it. */
  echo(hubId: string, connection: string): string {
    return `${this.prefix}echo:${hubId}:${connection}`;
  }
  xref(system: string, id: string): string {
    return `${this.prefix}xref:${system}:${id}`;
  }
  event(eventKey: string): string {
    return `${this.prefix}event:${eventKey}`;
  }
  delivered(deliveryId: string): string {
    return `${this.prefix}delivered:${deliveryId}`;
  }
  /** The peers' own error texts of a case's deliveries (may echo personal data): encrypted, one field per attempt. */
  peerErrors(hubId: string): string {
    return `${this.prefix}peer-errors:${hubId}`;
  }
  /** Per delivery: how many attempts reached the adapter, and whether one ended with an uncertain outcome. */
  attempts(deliveryId: string): string {
    return `${this.prefix}attempts:${deliveryId}`;
  }
  trace(hubId: string): string {
    return `${this.prefix}trace:${hubId}`;
  }
  stats(day: string, route: string): string {
    return `${this.prefix}stats:${day}:${route}`;
  }
  statsDays(): string {
    return `${this.prefix}stats-days`;
  }
  health(connection: string): string {
    return `${this.prefix}health:${connection}`;
  }
  /** Held by the one hub process that owns this prefix (sandbox runs), renewed while it runs. */
  instanceLock(): string {
    return `${this.prefix}instance-lock`;
  }
  /** The fingerprint of the data key every hub process on this prefix seals with (src/core/store/data-key-check.ts). */
  dataKeyCheck(): string {
    return `${this.prefix}data-key-check`;
  }
  audit(): string {
    return `${this.prefix}audit`;
  }
}
