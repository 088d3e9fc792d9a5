/**
 * A stopped sandbox leaves nothing that keeps its process alive: a request held by a fault delay when stop() is called
 * must not hold the process until the delay ends (it held jest workers past their exit, "a worker process has failed
 * to exit gracefully"). Runs the built sandbox (dist/, as `caseway start` runs it) in a child `node` that starts the
 * sandbox, holds one request in a 10-minute delay, stops the sandbox and then must exit on its own.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { MIN_WAIT_MS } from '../../../test/helpers/hub';

const BUILT_SANDBOX = path.resolve(__dirname, '../../../dist/adapters/icasework/sandbox/index.js');

const CHILD = `
const http = require('node:http');
const { startIcaseworkSandbox } = require(process.argv[1]);
(async () => {
  const sandbox = await startIcaseworkSandbox();
  sandbox.failNext('getcasedetails', { delayMs: 600000 });
  http.get(sandbox.apiUrl + '/getcasedetails').on('error', () => undefined);
  while (!sandbox.requests.some((r) => r.op === 'getcasedetails')) await new Promise((r) => setTimeout(r, 10));
  await sandbox.stop();
  process.stdout.write('stopped\\n');
})().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\\n');
  process.exit(2);
});
`;

test('a process whose sandbox is stopped while a request waits in a fault delay exits by itself', async () => {
  const child = spawn(process.execPath, ['-e', CHILD, BUILT_SANDBOX], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let safetyNet: NodeJS.Timeout | undefined;
  // The wait is a safety net (the fault delay is 10 minutes); it ends as soon as the child exits.
  const code = await new Promise<number | string | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    safetyNet = setTimeout(() => resolve('still running'), MIN_WAIT_MS);
  });
  clearTimeout(safetyNet);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  expect({ code, out }).toEqual({ code: 0, out: 'stopped\n' });
});
