/**
 * iCasework Key + Signature authentication: Signature is the lower-case hex MD5 of
 * (signed parameter value, if any) + request date YYYY-MM-DD (UTC) + secret, joined with no separator. The request date
 * is RequestDate's date when the call sends one (see signatureDate), else the UTC date of the call.
 * Vendor worked example: case 53342, date 2010-01-01, secret 1e4ecd8c836bbd7bc9ae4b5e6 -> 44365b38db1a1f36df7f91067b873493.
 */
import { createHash } from 'node:crypto';

/** The request's date as iCasework signs it: the UTC calendar date. */
export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * The date a call signs: the date part of its RequestDate when it sends one (zone-less UTC YYYY-MM-DDTHH:MM:SS), else
 * the UTC date of `at`; undefined for a RequestDate in any other shape.
 */
export function signatureDate(requestDate: string | undefined, at: Date): string | undefined {
  if (requestDate === undefined) return utcDate(at);
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(requestDate) ? requestDate.slice(0, 10) : undefined;
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
