/** Redis keys of the operations layer, under the hub's own prefix (so a test's or a tenant's keys stay apart). */
export class OpsKeys {
  constructor(private readonly prefix: string) {}

  /** A sign-in session, keyed by the SHA-256 of the cookie value (Redis never holds a usable session token). */
  session(tokenHash: string): string {
    return `${this.prefix}ops:session:${tokenHash}`;
  }
  /** Random key for CSRF tokens in proxy mode, shared by every hub process. */
  secret(): string {
    return `${this.prefix}ops:secret`;
  }
  loginFailures(userHash: string): string {
    return `${this.prefix}ops:login-failures:${userHash}`;
  }
  /** Last derived circuit state of a connection: state, since, consecutiveFailures. */
  circuit(connection: string): string {
    return `${this.prefix}ops:circuit:${connection}`;
  }
}
