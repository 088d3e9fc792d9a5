/** The safe view every error gives (traces, logs, dead letters) and the sensitive part the engine keeps encrypted. */
import { PeerError, PermanentError, ValidationError, safeErrorDetail, sensitiveErrorDetail, textHash } from '../../src/core/errors';
import { createLogger } from '../../src/core/logger';

const ECHO = 'Surname Quillfeather (born 1931-07-14)';

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

  it('keeps status, codes, field paths, scalar ids and a hash; never the free text', () => {
    const safe = err.safeDetail();
    expect(safe).toMatchObject({ name: 'PeerError', code: 'PEER_VALIDATION', status: 422, peerCode: 'E42', connection: 'iizuka', hubId: 'h-1', retryable: false, hasPeerDetail: true });
    expect(safe.fields).toEqual(['passport.number', 'appDetails.surname', 'birthDate', 'phone']);
    expect(safe.fieldCodes).toEqual(['DOB_MISMATCH']);
    expect(safe.detailHash).toBe(textHash(JSON.stringify(err.sensitiveDetail())));
    expect(JSON.stringify(safe)).not.toContain('Quillfeather');
    expect(JSON.stringify(err)).toBe(JSON.stringify(safe));
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
    expect(plain.safeDetail().detailHash).toBeUndefined();
    expect(new PermanentError('no route', { route: 'r' }).safeDetail()).toEqual({ name: 'PermanentError', code: 'PERMANENT', message: 'no route', retryable: false, route: 'r' });
  });

  it('equal free texts hash alike, different ones differently', () => {
    const twin = new PeerError('y', { retryable: false, context: { peerDetail: 'A' } });
    const other = new PeerError('y', { retryable: false, context: { peerDetail: 'B' } });
    expect(twin.safeDetail().detailHash).toBe(new PeerError('z', { retryable: true, context: { peerDetail: 'A' } }).safeDetail().detailHash);
    expect(twin.safeDetail().detailHash).not.toBe(other.safeDetail().detailHash);
  });

  it('describes errors that are not Caseway errors by class and message', () => {
    expect(safeErrorDetail(new TypeError('boom'))).toEqual({ name: 'TypeError', code: 'ERROR', message: 'TypeError: boom', retryable: true });
    expect(sensitiveErrorDetail(new Error('x'))).toBeUndefined();
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
