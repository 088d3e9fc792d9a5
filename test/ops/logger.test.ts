/** Log lines: pid and hostname on each, `err` with its stack frames, personal fields still redacted. */
import { hostname } from 'node:os';
import { PermanentError } from '../../src/core/errors';
import { createLogger, serializeError } from '../../src/core/logger';

function capture() {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (line: string) => void lines.push(line) } });
  return { log, lines: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('logger', () => {
  it('writes pid and hostname on every line', () => {
    const { log, lines } = capture();
    log.info('hello');
    log.child({ component: 'x' }).warn('again');
    for (const line of lines()) {
      expect(line.pid).toBe(process.pid);
      expect(line.hostname).toBe(hostname());
    }
    expect(lines()).toHaveLength(2);
  });

  it('serializes err with code, retryable and a stack of frames', () => {
    const { log, lines } = capture();
    log.error({ err: new PermanentError('peer refused the case', { route: 'r1' }, new Error('422 {"surname":"Smith"}')) }, 'failed');
    const err = lines()[0].err as { type: string; message: string; code: string; retryable: boolean; stack: string; cause: { message: string } };
    expect(err).toMatchObject({ type: 'PermanentError', message: 'peer refused the case', code: 'PERMANENT', retryable: false });
    expect(err.stack).toMatch(/^PermanentError: peer refused the case\n\s+at /);
    // A library cause's message may quote the peer's answer: only its type is logged.
    expect(err.cause.message).toBe('Error');
    expect(JSON.stringify(lines())).not.toContain('Smith');
  });

  it('keeps non-errors as a message and still redacts personal fields', () => {
    expect(serializeError('plain')).toEqual({ type: 'string', message: 'plain' });
    const { log, lines } = capture();
    log.info({ person: { surname: 'Smith' }, birthDate: '1990-01-01' }, 'x');
    expect(JSON.stringify(lines())).not.toMatch(/Smith|1990/);
  });
});
