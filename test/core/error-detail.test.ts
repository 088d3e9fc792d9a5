/** The safe view every error gives (traces, logs, dead letters) and the sensitive part the engine keeps encrypted. */
import { createHash, createHmac } from 'node:crypto';
import { DetailHasher, PeerError, PermanentError, ValidationError, safeErrorDetail, safeMessage, sensitiveErrorDetail } from '../../src/core/errors';
import { PayloadCipher } from '../../src/core/store/payload-cipher';
import { createLogger } from '../../src/core/logger';

const ECHO = 'Surname Quillfeather (born 1931-07-14)';
const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');
const hasherA = new PayloadCipher(KEY_A).detailHasher();

describe('error detail', () => {
  const err = new PeerError('etd: submitApplication rejected the application (422, 3 field error(s))', {
    retryable: false,
    status: 422,
    code: 'PEER_VALIDATION',
    context: {
      connection: 'iizuka',
      hubId: 'h-1',
      peerCode: 'E42',
      peerDetail: `Customer ${ECHO}`,
      fieldErrors: [{ 'appDetails.surname': ECHO }, { field: 'birthDate', error: ECHO, code: 'DOB_MISMATCH' }, { column: 'phone', error: 'bad' }],
      peerFields: [{ path: 'passport.number', message: ECHO }],
      headers: { 'x-application-error-info': ECHO },
      nested: { echo: ECHO },
    },
  });

  it('keeps status, codes, field paths, scalar ids and a keyed hash; never the free text', () => {
    const safe = err.safeDetail(hasherA);
    expect(safe).toMatchObject({ name: 'PeerError', code: 'PEER_VALIDATION', status: 422, peerCode: 'E42', connection: 'iizuka', hubId: 'h-1', retryable: false, hasPeerDetail: true });
    expect(safe.fields).toEqual(['passport.number', 'appDetails.surname', 'birthDate', 'phone']);
    expect(safe.fieldCodes).toEqual(['DOB_MISMATCH']);
    expect(safe.detailHash).toBe(hasherA.hash(JSON.stringify(err.sensitiveDetail())));
    expect(JSON.stringify(safe)).not.toContain('Quillfeather');
    expect(safeErrorDetail(err, hasherA)).toEqual(safe);
  });

  it('gives no hash without a key: toJSON (what logs get) says only that the peer said more', () => {
    const { detailHash, ...rest } = err.safeDetail(hasherA);
    expect(detailHash).toMatch(/^[0-9a-f]{16}$/);
    expect(err.toJSON()).toEqual(rest);
    expect(err.toJSON()).not.toHaveProperty('detailHash');
    expect(safeErrorDetail(err)).not.toHaveProperty('detailHash');
    expect(JSON.stringify(err)).toBe(JSON.stringify(rest));
  });

  it('keys the hash: same text and key hash alike, another key differently, and it is not a plain SHA-256', () => {
    const text = JSON.stringify(err.sensitiveDetail());
    const again = new PayloadCipher(KEY_A).detailHasher();
    const other = new PayloadCipher(KEY_B).detailHasher();
    expect(again.hash(text)).toBe(hasherA.hash(text));
    expect(err.safeDetail(again).detailHash).toBe(err.safeDetail(hasherA).detailHash);
    expect(other.hash(text)).not.toBe(hasherA.hash(text));
    expect(err.safeDetail(other).detailHash).not.toBe(err.safeDetail(hasherA).detailHash);
    // Guessing a short secret by hashing candidates: the unkeyed SHA-256 prefix would give it away; the keyed one does not.
    for (const guess of [text, '1931-07-14', 'Quillfeather']) {
      expect(hasherA.hash(guess)).not.toBe(createHash('sha256').update(guess).digest('hex').slice(0, 16));
    }
    // The key is derived (HKDF, its own info), not the data key itself.
    expect(hasherA.hash(text)).not.toBe(createHmac('sha256', Buffer.from(KEY_A, 'base64')).update(text).digest('hex').slice(0, 16));
  });

  it('refuses a short hash key', () => {
    expect(() => new DetailHasher(Buffer.alloc(16))).toThrow('at least 32 bytes');
  });

  it('gives the free text, with its paths, as the sensitive part', () => {
    expect(sensitiveErrorDetail(err)).toEqual({
      peerDetail: `Customer ${ECHO}`,
      fields: [
        { path: 'passport.number', message: ECHO },
        { path: 'appDetails.surname', message: ECHO },
        { path: 'birthDate', code: 'DOB_MISMATCH', message: `error: ${ECHO}` },
        { path: 'phone', message: 'error: bad' },
      ],
    });
  });

  it('has no sensitive part, and no hash, when the peer said nothing beyond codes', () => {
    const plain = new PeerError('x: 503', { retryable: true, status: 503, context: { peerCode: 'BUSY' } });
    expect(plain.sensitiveDetail()).toBeUndefined();
    expect(plain.safeDetail(hasherA).detailHash).toBeUndefined();
    expect(new PermanentError('no route', { route: 'r' }).safeDetail()).toEqual({ name: 'PermanentError', code: 'PERMANENT', message: 'no route', retryable: false, route: 'r' });
  });

  it('equal free texts hash alike, different ones differently', () => {
    const twin = new PeerError('y', { retryable: false, context: { peerDetail: 'A' } });
    const other = new PeerError('y', { retryable: false, context: { peerDetail: 'B' } });
    expect(twin.safeDetail(hasherA).detailHash).toBe(new PeerError('z', { retryable: true, context: { peerDetail: 'A' } }).safeDetail(hasherA).detailHash);
    expect(twin.safeDetail(hasherA).detailHash).not.toBe(other.safeDetail(hasherA).detailHash);
  });

  it('describes errors that are not Caseway errors by class and message', () => {
    expect(safeErrorDetail(new TypeError('boom'))).toEqual({ name: 'TypeError', code: 'ERROR', message: 'TypeError: boom', retryable: true });
    expect(sensitiveErrorDetail(new Error('x'))).toBeUndefined();
  });

  it("masks the input a library error quotes (JSON.parse's excerpt), keeping the rest of its message", () => {
    const parseError = (() => {
      try {
        JSON.parse('Jane Doe, 12 High St');
      } catch (err) {
        return err;
      }
      throw new Error('JSON.parse accepted it');
    })();
    expect((parseError as Error).message).toContain('Jane Doe'); // what Node itself says
    expect(safeMessage(parseError)).toBe(`SyntaxError: Unexpected token 'J', "…" is not valid JSON`);
    expect(safeErrorDetail(parseError).message).not.toContain('Jane');
    // Unclosed and escaped quotes are masked to the end; single-quoted names (a property read) are kept.
    expect(safeMessage(new Error('bad "Jane \\"JD\\" Doe" and "unclosed Smith'))).toBe('bad "…" and "…"');
    expect(safeMessage(new TypeError("Cannot read properties of undefined (reading 'surname')"))).toBe("TypeError: Cannot read properties of undefined (reading 'surname')");
    // The negative: a Caseway error's own message is written without values and is kept as it is.
    expect(safeMessage(new PeerError('icasework: createcase refused with HTTP 400 (X-Application-Error-Code "1008")', { retryable: false }))).toContain('"1008"');
  });

  it('keeps validation messages of inbound input out of the safe view too, with the paths', () => {
    const v = new ValidationError('invalid', [{ 'appDetails.surname': 'Required' }]);
    expect(v.safeDetail().fields).toEqual(['appDetails.surname']);
    expect(v.fieldErrors).toEqual([{ 'appDetails.surname': 'Required' }]);
  });

  it('logs an error given as { err } or { error } by its safe view', () => {
    const lines: string[] = [];
    const log = createLogger({ destination: { write: (l: string) => void lines.push(l) } });
    log.warn({ err }, 'one');
    log.warn({ error: err }, 'two');
    expect(lines).toHaveLength(2);
    for (const l of lines) {
      expect(l).not.toContain('Quillfeather');
      expect(l).toContain('appDetails.surname');
    }
  });
});
