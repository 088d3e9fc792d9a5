/**
 * iCasework Key + Signature authentication: Signature is the lower-case hex MD5 of
 * (signed parameter value, if any) + request date YYYY-MM-DD (UTC) + secret, joined with no separator.
 * Vendor worked example: case 53342, date 2010-01-01, secret 1e4ecd8c836bbd7bc9ae4b5e6 -> 44365b38db1a1f36df7f91067b873493.
 */
import { createHash } from 'node:crypto';

/** The request's date as iCasework signs it: the UTC calendar date. */
export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export function computeSignature(signedValue: string, date: string, secret: string): string {
  return createHash('md5').update(`${signedValue}${date}${secret}`, 'utf8').digest('hex');
}

/** The value to sign for one call: the first parameter of the operation's list that the call carries, else ''. */
export function signedValueFor(signedParameters: string[], params: Record<string, string>): { name?: string; value: string } {
  for (const name of signedParameters) {
    const value = params[name];
    if (value !== undefined && value !== '') return { name, value };
  }
  return { value: '' };
}
