/** Log lines: pid and hostname on each, `err` with its stack frames, personal fields still redacted; JSON or pretty. */
import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import path from 'node:path';
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

describe('logger output mode', () => {
  const built = path.resolve(__dirname, '../../dist/src/core/logger.js');
  // No keep-alive in the child: pino flushes its transport (pino-pretty's worker) itself when the process exits.
  const program = `require(${JSON.stringify(built)}).createLogger().info({ hubId: 'h-1' }, 'hello there');`;

  it('writes JSON lines when stdout is not a terminal', () => {
    const r = spawnSync(process.execPath, ['-e', program], { encoding: 'utf8', timeout: 20000 });
    const line = JSON.parse(r.stdout.trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ msg: 'hello there', hubId: 'h-1', level: 'info', pid: expect.any(Number), hostname: expect.any(String) });
  });

  it('writes readable lines (pino-pretty) when stdout is a terminal', () => {
    // `script` gives the child a pseudo-terminal.
    const r = spawnSync('script', ['-qec', `${JSON.stringify(process.execPath)} -e ${JSON.stringify(program)}`, '/dev/null'], { encoding: 'utf8', timeout: 20000 });
    const text = r.stdout.replace(/\u001b\[[0-9;]*m/g, '');
    expect(text).toMatch(/INFO \(\d+ on [^)]+\): hello there/);
    expect(text).toContain('hubId: "h-1"');
    expect(text.trim().startsWith('{')).toBe(false);
  });
});
