/**
 * Ops passwords are stored only as scrypt hashes (node's crypto, no native build):
 * `scrypt:<N>:<r>:<p>:<salt base64url>:<hash base64url>`. The parameters travel with the hash, so they can be raised
 * later without invalidating the hashes already in config.
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

export const SCRYPT_DEFAULTS = { N: 32768, r: 8, p: 1, keyLength: 32, saltLength: 16 } as const;
const MAX_N = 1 << 20;
const HASH_FORMAT = /^scrypt:(\d+):(\d+):(\d+):([A-Za-z0-9_-]+):([A-Za-z0-9_-]+)$/;

function scryptAsync(password: string, salt: Buffer, keyLength: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, keyLength, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function memoryFor(N: number, r: number): number {
  return 128 * N * r * 2;
}

/** Makes the value for `ops.users[].passwordHash`. */
export async function hashPassword(password: string, params: { N?: number; r?: number; p?: number } = {}): Promise<string> {
  if (password.length < 8) throw new Error('an ops password must have at least 8 characters');
  const N = params.N ?? SCRYPT_DEFAULTS.N;
  const r = params.r ?? SCRYPT_DEFAULTS.r;
  const p = params.p ?? SCRYPT_DEFAULTS.p;
  const salt = randomBytes(SCRYPT_DEFAULTS.saltLength);
  const key = await scryptAsync(password, salt, SCRYPT_DEFAULTS.keyLength, { N, r, p, maxmem: memoryFor(N, r) });
  return `scrypt:${N}:${r}:${p}:${salt.toString('base64url')}:${key.toString('base64url')}`;
}

export function isPasswordHash(value: string): boolean {
  return HASH_FORMAT.test(value);
}

/** True when `password` matches `stored`; false for a wrong password or a malformed hash (never throws for those). */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const m = HASH_FORMAT.exec(stored);
  if (!m) return false;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || N > MAX_N || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return false;
  const salt = Buffer.from(m[4], 'base64url');
  const expected = Buffer.from(m[5], 'base64url');
  if (expected.length < 16) return false;
  const key = await scryptAsync(password, salt, expected.length, { N, r, p, maxmem: memoryFor(N, r) });
  return timingSafeEqual(key, expected);
}

/** A hash of a random password, checked when the user name is unknown so both cases take the same time. */
let decoy: Promise<string> | undefined;
export function decoyHash(): Promise<string> {
  decoy ??= hashPassword(randomBytes(24).toString('base64url'));
  return decoy;
}

/**
 * For a CLI command (e.g. `caseway ops-password`): reads a password from a stream (a TTY prompt or a pipe, first
 * line only) and returns its hash. The password is never echoed or logged.
 */
export async function passwordHashFromStream(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += chunk.toString();
    if (text.includes('\n')) break;
  }
  const password = text.split(/\r?\n/)[0] ?? '';
  return hashPassword(password);
}

function readHidden(prompt: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    output.write(prompt);
    let text = '';
    const done = (err?: Error) => {
      input.setRawMode?.(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
      if (err) reject(err);
      else resolve(text);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f' || ch === '\b') text = text.slice(0, -1);
        else text += ch;
      }
    };
    input.setRawMode?.(true);
    input.resume();
    input.on('data', onData);
  });
}

/**
 * For a CLI command (`caseway ops-password`, say): asks for the password twice without echoing it when run in a
 * terminal, or reads the first line of a pipe, and returns the hash to put in `ops.users[].passwordHash`.
 */
export async function promptForPasswordHash(input: NodeJS.ReadStream = process.stdin, output: NodeJS.WritableStream = process.stderr): Promise<string> {
  if (!input.isTTY) return passwordHashFromStream(input);
  const first = await readHidden('Password: ', input, output);
  const second = await readHidden('Same password again: ', input, output);
  if (first !== second) throw new Error('the two passwords differ');
  return hashPassword(first);
}
