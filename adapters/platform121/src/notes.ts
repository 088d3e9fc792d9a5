/**
 * Notes: POST /registrations/{referenceId}/notes {text}, one call per note (201, empty body).
 * A note POST is not idempotent, so each note has a ledger entry in the connection state:
 *   - a note with an id is posted once per registration, whatever delivery carries it again;
 *   - a note without an id is posted once per delivery (a retry after a partial success skips what went through).
 * The entry is "pending" while the POST is under way; if a try ended ambiguously (timeout, 5xx), the next try looks
 * at the registration's activities for a note with the same text before posting again.
 */
import { createHash } from 'node:crypto';
import type { ConnectionState } from 'caseway/core';
import type { Logger } from 'caseway/core';
import type { Note } from 'caseway/core';
import { PeerError } from 'caseway/core';
import type { Platform121Client } from './client';

const LEDGER_TTL_SECONDS = 400 * 24 * 3600;

export interface NoteDeps {
  client: Platform121Client;
  state: ConnectionState;
  log: Logger;
}

export interface NotesResult {
  posted: number;
  skipped: number;
  verified: number;
}

function ledgerKeys(referenceId: string, deliveryId: string, notes: Note[]): string[] {
  const occurrences = new Map<string, number>();
  return notes.map((note) => {
    if (note.id) return `note:${referenceId}:id:${note.id}`;
    const digest = createHash('sha256').update(note.text).digest('hex').slice(0, 20);
    const n = occurrences.get(digest) ?? 0;
    occurrences.set(digest, n + 1);
    return `note:${referenceId}:delivery:${deliveryId}:${digest}:${n}`;
  });
}

/** True when the failed POST surely did not create the note (the peer answered 4xx or 429). */
function surelyNotPosted(err: unknown): boolean {
  return err instanceof PeerError && typeof err.status === 'number' && err.status >= 400 && err.status < 500;
}

export async function addNotes(deps: NoteDeps, referenceId: string, deliveryId: string, notes: Note[], prefix = ''): Promise<NotesResult> {
  const result: NotesResult = { posted: 0, skipped: 0, verified: 0 };
  const usable = notes.filter((n) => typeof n.text === 'string' && n.text.trim() !== '');
  const keys = ledgerKeys(referenceId, deliveryId, usable);
  let postedTexts: string[] | null = null;
  for (let i = 0; i < usable.length; i++) {
    const text = `${prefix}${usable[i].text}`;
    const key = keys[i];
    const held = await deps.state.get(key);
    if (held === 'posted') {
      result.skipped++;
      continue;
    }
    if (held === 'pending') {
      postedTexts ??= await notesOnRegistration(deps, referenceId);
      const at = postedTexts.indexOf(text);
      if (at >= 0) {
        postedTexts.splice(at, 1);
        await deps.state.set(key, 'posted', LEDGER_TTL_SECONDS);
        result.verified++;
        result.skipped++;
        continue;
      }
    }
    await deps.state.set(key, 'pending', LEDGER_TTL_SECONDS);
    try {
      await deps.client.postNote(referenceId, text);
    } catch (err) {
      if (surelyNotPosted(err)) await deps.state.del(key);
      throw err;
    }
    await deps.state.set(key, 'posted', LEDGER_TTL_SECONDS);
    result.posted++;
  }
  return result;
}

/** Texts of the notes 121 holds for a registration (activities of type note). */
async function notesOnRegistration(deps: NoteDeps, referenceId: string): Promise<string[]> {
  const [reg] = await deps.client.registrationsWhereIn('referenceId', [referenceId], ['id', 'referenceId']);
  if (!reg) return [];
  const activities = await deps.client.getActivities(Number(reg.id));
  return activities
    .filter((a) => a.type === 'note')
    .map((a) => (typeof a.attributes?.text === 'string' ? a.attributes.text : ''))
    .filter(Boolean);
}
