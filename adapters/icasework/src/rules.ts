/**
 * Rules iCasework documents for parameter values, enforced before anything is sent (seed 001, legacy REST page):
 * - `Customer.ContactLanguage` / `ContactLanguage`: "The ISO 639 two letter code for the customer's preferred contact
 *   language (e.g. fr, en, nl)" – held to ISO 639-1 (the two-letter part of ISO 639).
 * - `DocumentN.URL`: Character (500).
 * A value that breaks a rule is a permanent error naming the parameter (its path only, never the value).
 */

/** ISO 639-1, the 183 current two-letter codes plus bh (withdrawn 2021 but still in many systems). */
export const ISO_639_1 = new Set(
  (
    'aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en ' +
    'eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka ' +
    'kg ki kj kk kl km kn ko kr ks ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl ' +
    'nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ' +
    'ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu'
  ).split(' '),
);

/** Documented maximum length of DocumentN.URL. */
export const DOCUMENT_URL_MAX = 500;

/**
 * A language as iCasework wants it: an ISO 639-1 code, or a BCP 47 tag / locale starting with one (`fr-FR`, `en_GB`,
 * `NL`), reduced to its lower-case two letters. Anything else (`fra`, `French`) is returned unchanged for the rule
 * check to refuse.
 */
export function toContactLanguage(value: string): string {
  const m = /^([A-Za-z]{2})(?:[-_][A-Za-z0-9]+)*$/.exec(value.trim());
  return m ? m[1].toLowerCase() : value;
}

export interface RuleViolation {
  /** The parameter's name, e.g. Customer.ContactLanguage or Document2.URL. */
  field: string;
  rule: string;
  /** A short code for the rule: ISO_639_1 or MAX_LENGTH_500. */
  code: string;
}

/** Every documented rule the parameters break (empty when they may be sent). */
export function ruleViolations(params: Record<string, string | undefined>): RuleViolation[] {
  const out: RuleViolation[] = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if ((k === 'Customer.ContactLanguage' || k === 'ContactLanguage') && !ISO_639_1.has(v)) {
      out.push({ field: k, rule: 'is not an ISO 639-1 two-letter language code', code: 'ISO_639_1' });
    }
    if (/^Document\d+\.URL$/.test(k) && v.length > DOCUMENT_URL_MAX) {
      out.push({ field: k, rule: `is longer than ${DOCUMENT_URL_MAX} characters`, code: `MAX_LENGTH_${DOCUMENT_URL_MAX}` });
    }
  }
  return out;
}
