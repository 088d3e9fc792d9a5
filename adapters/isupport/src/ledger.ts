/**
 * The durable ledger of export files, in the connection's Redis state: every file read (path, size, SHA-256, when,
 * outcome) and every request folder (its fingerprint = hash of its files' relative paths and hashes, and what became
 * of it). A folder whose fingerprint was already processed is not processed again, whatever it is called now and
 * however often the hub restarted.
 */
import { createHash } from 'node:crypto';
import type { AdapterContext } from 'caseway/core';
import type { IsupportSettings } from './settings';

export type FileOutcome = 'reading' | 'processed' | 'failed' | 'duplicate' | 'changed';
export type FolderOutcome = 'processed' | 'failed' | 'duplicate';

export interface LedgerFile {
  path: string;
  folder: string;
  size: number;
  sha256: string;
  readAt: string;
  outcome: FileOutcome;
}

export interface FolderCounts {
  read: number;
  queued: number;
  alreadyQueued: number;
  rejected: number;
}

export interface LedgerFolder {
  folder: string;
  fingerprint: string;
  kind: 'case' | 'reference';
  outcome: FolderOutcome;
  at: string;
  movedTo?: string;
  counts?: FolderCounts;
}

const FILES = 'ledger:files';
const FOLDERS = 'ledger:folders';

/** Fingerprint of a folder's content: independent of the folder's name and of file times. */
export function folderFingerprint(files: Array<{ rel: string; sha256: string }>): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0))) hash.update(`${f.rel}\0${f.sha256}\n`);
  return hash.digest('hex');
}

export class Ledger {
  constructor(private readonly ctx: AdapterContext<IsupportSettings>) {}

  async folder(fingerprint: string): Promise<LedgerFolder | null> {
    const raw = await this.ctx.state.hashGet(FOLDERS, fingerprint);
    return raw ? (JSON.parse(raw) as LedgerFolder) : null;
  }

  async recordFolder(entry: LedgerFolder): Promise<void> {
    await this.ctx.state.hashSet(FOLDERS, entry.fingerprint, JSON.stringify(entry));
  }

  async recordFiles(files: Array<Omit<LedgerFile, 'outcome' | 'readAt'> & { readAt?: string }>, outcome: FileOutcome): Promise<void> {
    const at = new Date().toISOString();
    for (const f of files) {
      const entry: LedgerFile = { ...f, readAt: f.readAt ?? at, outcome };
      await this.ctx.state.hashSet(FILES, `${f.sha256}:${f.path}`, JSON.stringify(entry));
    }
  }

  async files(): Promise<LedgerFile[]> {
    return Object.values(await this.ctx.state.hashGetAll(FILES)).map((v) => JSON.parse(v) as LedgerFile);
  }

  async folders(): Promise<LedgerFolder[]> {
    return Object.values(await this.ctx.state.hashGetAll(FOLDERS)).map((v) => JSON.parse(v) as LedgerFolder);
  }
}
