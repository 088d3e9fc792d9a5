/**
 * Bounded replies hold memory bounded: while the case manager streams a 60 MB reply, the client aborts it at
 * maxResponseBytes (10 MB by default) and the process RSS grows by less than 20 MB. Measured in a child process (its
 * own heap, nothing else running in it); the negative run with a limit above the reply shows the measurement sees a
 * reply read whole.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { EtdSandbox } from '../sandbox';

const MB = 1024 * 1024;
let sandbox: EtdSandbox;

beforeAll(async () => {
  sandbox = await EtdSandbox.start({ apiKey: null });
});
afterAll(async () => {
  await sandbox.stop();
});

interface ChildResult {
  before: number;
  peak: number;
  ok?: boolean;
  code?: string;
  retryable?: boolean;
  message?: string;
  crashed?: string;
}

function runChild(maxResponseBytes: number): Promise<ChildResult> {
  const script = path.join(__dirname, 'child', 'reply-rss.cjs');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--expose-gc', script, sandbox.url, String(maxResponseBytes)], { timeout: 120_000 }, (err, stdout) => {
      if (err && !stdout) return reject(new Error(`child failed: ${err.message.split('\n')[0]}`));
      resolve(JSON.parse(stdout) as ChildResult);
    });
  });
}

test('a 60 MB reply is aborted at the default 10 MB limit: permanent "reply too large", RSS grows < 20 MB', async () => {
  sandbox.failNext({ status: 422 }); // the warm-up call
  sandbox.failNext({ streamBytes: 60 * MB });
  const r = await runChild(10 * MB);
  expect(r.crashed).toBeUndefined();
  expect([r.ok, r.code, r.retryable]).toEqual([false, 'REPLY_TOO_LARGE', false]);
  expect(r.message).toContain('reply too large');
  expect(r.peak - r.before).toBeLessThan(20 * MB);
});

test('the negative: with the limit above the reply, the same 60 MB is read whole and RSS grows by more than 40 MB', async () => {
  sandbox.failNext({ status: 422 });
  sandbox.failNext({ streamBytes: 60 * MB });
  const r = await runChild(200 * MB);
  expect([r.ok, r.crashed]).toEqual([true, undefined]);
  expect(r.peak - r.before).toBeGreaterThan(40 * MB);
});
