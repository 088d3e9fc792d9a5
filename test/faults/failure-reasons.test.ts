/**
 * The bench's "failed delivery attempts": read from the hub's own warn lines as the engine writes them (the project's
 * logger, a PeerError's safe view), only those written after the line's mark, summed by code, outcome and message.
 */
import { Writable } from 'node:stream';
import { failureReasons, outputMarks } from '../../bench/lib/harness';
import { createLogger } from '../../src/core/logger';
import { PeerError, safeErrorDetail } from '../../src/core/errors';

function hubLog(): { log: ReturnType<typeof createLogger>; output: () => string } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      text += chunk.toString();
      done();
    },
  });
  return { log: createLogger({ level: 'warn', destination }), output: () => text };
}

const timeout = () => new PeerError('icasework: createcase timed out', { retryable: true, code: 'PEER_TIMEOUT', context: { connection: 'icw', outcome: 'uncertain' } });
const refused = () => new PeerError('icasework: createcase refused (400)', { retryable: false, status: 400, context: { connection: 'icw' } });

test('failed attempts after the mark, by code, outcome and safe message; a dead letter said so; other lines ignored', () => {
  const hub = hubLog();
  hub.log.warn({ attempt: 1, final: false, error: safeErrorDetail(timeout()) }, 'delivery failed, will retry');
  const marks = outputMarks([hub]);
  hub.log.warn({ attempt: 1, final: false, error: safeErrorDetail(timeout()) }, 'delivery failed, will retry');
  hub.log.warn({ attempt: 2, final: false, error: safeErrorDetail(timeout()) }, 'delivery failed, will retry');
  hub.log.warn({ attempt: 1, final: true, error: safeErrorDetail(refused()) }, 'delivery dead-lettered');
  hub.log.warn({ connection: 'icw' }, 'peer slow');
  expect(failureReasons([hub], marks)).toBe(
    'PEER_TIMEOUT (uncertain) "icasework: createcase timed out" ×2, dead-lettered: PEER_REJECTED "icasework: createcase refused (400)" ×1',
  );
});

test('nothing failed after the mark: none', () => {
  const hub = hubLog();
  hub.log.warn({ attempt: 1, final: false, error: safeErrorDetail(timeout()) }, 'delivery failed, will retry');
  expect(failureReasons([hub], outputMarks([hub]))).toBe('none');
});
