/**
 * Folder and file names derived from ids (case ids, request ids, delivery ids) and the checks that keep every path
 * the adapter touches inside the folder it belongs to.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { PermanentError } from 'caseway/core';

const MAX_NAME = 120;

/**
 * A single safe path segment from an id: keeps letters, digits and `. _ - ( )` (iSupport case ids such as
 * `US-UK(NI)-2015-100_0453-US` survive unchanged), turns anything else (slashes, backslashes, NUL, spaces) into `_`,
 * and never yields `.`/`..`, a leading dot, or an empty name.
 */
export function safeSegment(id: string): string {
  let name = id.normalize('NFC').replace(/[^A-Za-z0-9._()-]/g, '_');
  name = name.replace(/\.{2,}/g, '_').replace(/^[.]+/, '_');
  if (name.length > MAX_NAME) {
    const digest = createHash('sha256').update(id).digest('hex').slice(0, 12);
    name = `${name.slice(0, MAX_NAME - 13)}_${digest}`;
  }
  return name.length ? name : '_';
}

/** True when a name read from the server is a plain child name (no separators, not `.`/`..`). */
export function isPlainName(name: string): boolean {
  return name.length > 0 && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** Joins a base folder and a child name, refusing any result that would leave the base folder. */
export function safeJoin(base: string, ...names: string[]): string {
  for (const name of names) {
    if (!isPlainName(name)) throw new PermanentError('isupport: refused a path segment that would leave its folder', { field: 'path' });
  }
  const joined = path.posix.normalize(path.posix.join(base, ...names));
  const root = path.posix.normalize(base).replace(/\/+$/, '');
  if (joined !== root && !joined.startsWith(`${root}/`)) {
    throw new PermanentError('isupport: refused a path outside its folder', { field: 'path' });
  }
  return joined;
}

/**
 * The import request folder for one delivery: deterministic (a retry after a crash finds the same folder) and safe.
 * Shaped like iSupport's own ids (REQ-...) but with the hub's prefix, so both sides can tell who made it.
 */
export function requestFolderName(deliveryId: string, prefix = 'REQ-CW-'): string {
  const digest = createHash('sha256').update(deliveryId).digest('hex').slice(0, 20).toUpperCase();
  return safeSegment(`${prefix}${digest}`);
}
