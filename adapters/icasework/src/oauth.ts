/**
 * OAuth2 JWT-bearer flow of the current iCasework API: POST {token url} with
 * grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer and assertion = JWT (HS256, signed with the secret,
 * iss = API key, aud = token URL, iat = now, exp = now + 5 min). Reply {"access_token","token_type":"Bearer","expires_in"}.
 * The token is cached per connection and refreshed `tokenRefreshSkewSeconds` before it expires; concurrent callers
 * share one in-flight request.
 */
import { createHmac } from 'node:crypto';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

function base64url(input: Buffer | string): string {
  return Buffer.from(input).toString('base64url');
}

export interface JwtClaims {
  iss: string;
  aud: string;
  iat: number;
  exp?: number;
  [claim: string]: unknown;
}

export function signJwtHs256(claims: JwtClaims, secret: string): string {
  const header = base64url(JSON.stringify({ alg: 'HS256', typ: 'JWT' }));
  const payload = base64url(JSON.stringify(claims));
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
  return `${header}.${payload}.${signature}`;
}

/** Decodes and checks an HS256 JWT; null when malformed or the signature does not match. Used by the sandbox. */
export function verifyJwtHs256(token: string, secretFor: (iss: string) => string | undefined): JwtClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: string };
    if (header.alg !== 'HS256') return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as JwtClaims;
    if (typeof claims.iss !== 'string') return null;
    const secret = secretFor(claims.iss);
    if (!secret) return null;
    const expected = createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest('base64url');
    if (expected.length !== parts[2].length) return null;
    let diff = 0;
    for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ parts[2].charCodeAt(i);
    return diff === 0 ? claims : null;
  } catch {
    return null;
  }
}

export interface BearerToken {
  accessToken: string;
  /** Epoch ms when the token expires (by the client's clock). */
  expiresAt: number;
}

/** Caches one bearer token; the `fetch` passed to get() obtains a new one when needed. */
export class TokenCache {
  private current: BearerToken | null = null;
  private inFlight: Promise<BearerToken> | null = null;
  /** How many tokens this cache has fetched (for tests and metrics). */
  fetched = 0;

  constructor(
    private readonly refreshSkewMs: number,
    private readonly clock: () => number,
  ) {}

  async get(fetch: () => Promise<BearerToken>): Promise<string> {
    const now = this.clock();
    if (this.current && this.current.expiresAt - this.refreshSkewMs > now) return this.current.accessToken;
    if (!this.inFlight) {
      this.inFlight = fetch()
        .then((token) => {
          this.fetched++;
          this.current = token;
          return token;
        })
        .finally(() => {
          this.inFlight = null;
        });
    }
    return (await this.inFlight).accessToken;
  }

  /** Drops the cached token (after the peer refused it). */
  invalidate(token?: string): void {
    if (!token || this.current?.accessToken === token) this.current = null;
  }
}
