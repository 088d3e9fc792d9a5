/**
 * src/core/util.ts: TimerSet and closeHttpServer (what every sandbox and the bench's fault proxy stop with), and
 * sameSecret (every token, password and CSRF comparison).
 */
import { Agent, request } from 'node:http';
import { closeHttpServer, sameSecret, serveHttp, TimerSet } from '../../src/core/util';

/** Resolves when a timer set after everything above, with a longer delay, fires: Node runs due timers in order. */
const laterTimer = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('TimerSet', () => {
  it('runs a timer when it is due and then forgets it', async () => {
    const timers = new TimerSet();
    const ran = new Promise<void>((resolve) => timers.after(1, resolve));
    expect(timers.size).toBe(1);
    await ran;
    expect(timers.size).toBe(0);
    await timers.sleep(1);
    expect(timers.size).toBe(0);
  });

  it('clear() cancels every pending timer: none runs, no sleep resolves', async () => {
    const timers = new TimerSet();
    const ran: string[] = [];
    timers.after(5, () => ran.push('after'));
    void timers.sleep(5).then(() => ran.push('sleep'));
    expect(timers.size).toBe(2);
    timers.clear();
    expect(timers.size).toBe(0);
    await laterTimer(50);
    expect(ran).toEqual([]);
  });

  it('without clear() the same timers do run (the test above can fail)', async () => {
    const timers = new TimerSet();
    const ran: string[] = [];
    timers.after(5, () => ran.push('after'));
    void timers.sleep(5).then(() => ran.push('sleep'));
    await laterTimer(50);
    expect(ran.sort()).toEqual(['after', 'sleep']);
  });
});

describe('closeHttpServer', () => {
  it('closes a server while a request is still held unanswered (as a sandbox holds a delayed reply), ending that request', async () => {
    let held!: () => void;
    const arrived = new Promise<void>((resolve) => (held = resolve));
    // Never answers: server.close() alone would wait for this connection for ever.
    const { server, port } = await serveHttp(() => held());
    const agent = new Agent({ keepAlive: true });
    const ended = new Promise<string>((resolve) => {
      const req = request({ host: '127.0.0.1', port, agent }, () => resolve('answered'));
      req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      req.end();
    });
    await arrived;
    await closeHttpServer(server);
    expect(server.listening).toBe(false);
    expect(await ended).toBe('ECONNRESET');
    agent.destroy();
  });
});

describe('sameSecret', () => {
  it('is true only for the same text', () => {
    expect(sameSecret('s3cret-token', 's3cret-token')).toBe(true);
    expect(sameSecret('', '')).toBe(true);
    expect(sameSecret('s3cret-token', 's3cret-tokeN')).toBe(false);
    expect(sameSecret('s3cret-token', 's3cret-toke')).toBe(false);
    expect(sameSecret('s3cret', 's3cret-token')).toBe(false);
    expect(sameSecret('', 'x')).toBe(false);
    // Compared as UTF-8 bytes: the same length in characters is not enough.
    expect(sameSecret('é', 'e')).toBe(false);
    expect(sameSecret('pässwört', 'pässwört')).toBe(true);
  });
});
