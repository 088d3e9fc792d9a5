/**
 * Which 121 referenceId a delivery writes to. A case that came from 121 (or was delivered before) carries it as a
 * cross-reference; otherwise it is derived from the hub id, so every retry and replay of the same case targets the
 * same registration and an import can never create a duplicate.
 */
import { createHash } from 'node:crypto';
import type { DeliveryRequest } from 'caseway/core';
import type { CrossReference } from 'caseway/core';

export const SYSTEM = 'platform121';

/** 121's rule for referenceIds: a string of 5–200 characters without "$". */
export function isValidReferenceId(id: unknown): id is string {
  return typeof id === 'string' && id.length >= 5 && id.length <= 200 && !id.includes('$');
}

/**
 * Deterministic referenceId for a hub case in one program: `<prefix><32 hex of sha256(programId:hubId)>`. The program
 * is part of the input because referenceIds are unique across the whole 121 database, not per program.
 */
export function deriveReferenceId(hubId: string, programId: number, prefix = 'cw-'): string {
  const digest = createHash('sha256').update(`${programId}:${hubId}`).digest('hex').slice(0, 32);
  return `${prefix}${digest}`;
}

/** The referenceId the case already has in this connection, if any. */
export function knownReferenceId(request: Pick<DeliveryRequest, 'references' | 'case'>, connection: string): string | undefined {
  const refs: CrossReference[] = [...(request.references ?? []), ...(request.case.references ?? [])].filter(
    (r) => r.system === SYSTEM && (r.kind === undefined || r.kind === 'referenceId') && isValidReferenceId(r.id),
  );
  const own = refs.find((r) => r.connection === connection) ?? refs.find((r) => r.connection === undefined);
  if (own) return own.id;
  const src = request.case.source;
  if (src?.system === SYSTEM && (src.connection === undefined || src.connection === connection) && isValidReferenceId(src.id)) {
    return src.id;
  }
  return undefined;
}

export function resolveReferenceId(
  request: Pick<DeliveryRequest, 'references' | 'case' | 'hubId'>,
  connection: string,
  programId: number,
  prefix: string,
): string {
  return knownReferenceId(request, connection) ?? deriveReferenceId(request.hubId, programId, prefix);
}

export function referenceOf(referenceId: string, connection: string): CrossReference {
  return { system: SYSTEM, connection, id: referenceId, kind: 'referenceId' };
}
