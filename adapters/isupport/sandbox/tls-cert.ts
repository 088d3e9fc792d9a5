/**
 * A self-signed certificate for the sandbox's FTPS server (node:crypto cannot make X.509 certificates): made with
 * `openssl req` for 127.0.0.1 / localhost, valid two days. Without openssl the TEST-ONLY pair shipped beside this file
 * (sandbox/test-only-tls/) is used; it protects nothing and must never serve anything but a sandbox.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './repo';

export interface TlsPair {
  key: string;
  cert: string;
  /** How it was made: 'openssl' or 'shipped-test-only'. */
  origin: 'openssl' | 'shipped-test-only';
}

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A certificate for the sandbox's FTPS, or undefined when neither openssl nor the shipped pair is there. */
export function sandboxTlsPair(): TlsPair | undefined {
  if (hasOpenssl()) {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'cw-ftps-'));
    try {
      const key = path.join(dir, 'key.pem');
      const cert = path.join(dir, 'cert.pem');
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '2',
          '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'],
        { stdio: 'ignore' },
      );
      return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8'), origin: 'openssl' };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  // From src or from dist (tsc does not copy the PEM files): beside this file, else in the repository's sandbox folder.
  const candidates = [path.join(__dirname, 'test-only-tls'), path.join(repoRoot(), 'adapters', 'isupport', 'sandbox', 'test-only-tls')];
  const shipped = candidates.find((dir) => existsSync(path.join(dir, 'cert.pem')));
  if (!shipped) return undefined;
  return { key: readFileSync(path.join(shipped, 'key.pem'), 'utf8'), cert: readFileSync(path.join(shipped, 'cert.pem'), 'utf8'), origin: 'shipped-test-only' };
}
