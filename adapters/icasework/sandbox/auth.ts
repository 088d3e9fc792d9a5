/**
 * The sandbox's own view of iCasework authentication, written from the reference
 * (/work/shared/reference/icasework-isupport-etd.md §1.2-1.3 and extra-peer-facts.md A1-A5), NOT from the adapter:
 * the sandbox must be able to disagree with the adapter, so that a wrong guess in the adapter fails a test.
 *
 * Signature = lower-case hex MD5 of (value of the operation's signed parameter, if any) + UTC date YYYY-MM-DD + secret.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedParameterRule {
  /** Parameters whose value is signed, the first present one wins; [] = date + secret only. */
  params: string[];
  /** Where the reference has it from. */
  basis: 'documented' | 'seen in code' | 'inferred (UNKNOWN in the reference)';
}

/**
 * Per operation, from the reference:
 * - createcase: "createcase is the one exception: it does not include the extra parameter" (ManageMyRequests doc).
 * - updateexternalid: the vendor's worked example signs the case id.
 * - getcasedetails: ExternalId (icasework-resolver) or CaseId (firearms).
 * - uploaddocuments: CaseId (firearms i-casework-documents.js).
 * - getcasedocuments, updatecase: UNKNOWN, the reference infers CaseId (ExternalId when that names the case).
 * - addcasenotes: UNKNOWN, inferred CaseId (or ExternalId). updatecustomer: UNKNOWN, "probably the customer Id".
 * - getreport: UNKNOWN; the only identifying parameter is ReportId.
 */
export const REFERENCE_SIGNED_PARAMETERS: Record<string, SignedParameterRule> = {
  createcase: { params: [], basis: 'documented' },
  updateexternalid: { params: ['CaseId'], basis: 'documented' },
  getcasedetails: { params: ['CaseId', 'ExternalId'], basis: 'seen in code' },
  uploaddocuments: { params: ['CaseId'], basis: 'seen in code' },
  getcasedocuments: { params: ['CaseId'], basis: 'inferred (UNKNOWN in the reference)' },
  updatecase: { params: ['CaseId', 'ExternalId'], basis: 'inferred (UNKNOWN in the reference)' },
  addcasenotes: { params: ['CaseId', 'ExternalId'], basis: 'inferred (UNKNOWN in the reference)' },
  updatecustomer: { params: ['Id'], basis: 'inferred (UNKNOWN in the reference)' },
  getreport: { params: ['ReportId'], basis: 'inferred (UNKNOWN in the reference)' },
};

/** The signature the sandbox expects for one call. */
export function expectedSignature(signedParams: string[], params: Record<string, string>, at: Date, secret: string): string {
  const name = signedParams.find((p) => params[p] !== undefined && params[p] !== '');
  const value = name ? params[name] : '';
  const date = at.toISOString().slice(0, 10);
  return createHash('md5').update(`${value}${date}${secret}`, 'utf8').digest('hex');
}

export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

export interface AssertionClaims {
  iss: string;
  aud?: unknown;
  iat?: unknown;
  exp?: unknown;
}

/** Checks an HS256 JWT assertion with the secret of its issuer (the API key); null when malformed or forged. */
export function verifyAssertion(token: string, secretFor: (iss: string) => string | undefined): AssertionClaims | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const header = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8')) as { alg?: unknown };
    if (header.alg !== 'HS256') return null;
    const claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8')) as Record<string, unknown>;
    if (typeof claims.iss !== 'string') return null;
    const secret = secretFor(claims.iss);
    if (!secret) return null;
    const expected = Buffer.from(createHmac('sha256', secret).update(`${parts[0]}.${parts[1]}`).digest('base64url'));
    const given = Buffer.from(parts[2]);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return null;
    return { iss: claims.iss, aud: claims.aud, iat: claims.iat, exp: claims.exp };
  } catch {
    return null;
  }
}
