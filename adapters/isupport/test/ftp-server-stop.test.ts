/**
 * The sandbox's FTP server leaves no timer behind once its sessions are over and it is stopped: ftp-srv armed a 1 s
 * timer per closed control connection that nothing cleared, so after any FTP session the process could not exit for
 * up to a second (it held jest workers past their exit, "a worker process has failed to exit gracefully"). Runs the
 * built server (dist/, as `caseway start` runs it) in a child `node`: one real login and listing, the client closes,
 * the server stops, and the child reports the timers still pending (process.getActiveResourcesInfo()); it must then
 * exit by itself.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { MIN_WAIT_MS } from '../../../test/helpers/hub';

const BUILT_FTP_SERVER = path.resolve(__dirname, '../../../dist/adapters/isupport/sandbox/ftp-server.js');

const CHILD = `
const { Client } = require('basic-ftp');
const { startFtpServer } = require(process.argv[1]);
(async () => {
  const server = await startFtpServer({ host: '127.0.0.1', root: require('node:os').tmpdir(), username: 'u', password: 'p' });
  const client = new Client();
  await client.access({ host: '127.0.0.1', port: server.port, user: 'u', password: 'p' });
  await client.list('/');
  client.close();
  // Stopping drops the session if the client's close has not reached the server yet; either way it is disconnected.
  await server.stop();
  await new Promise((r) => setImmediate(r));
  process.stdout.write(JSON.stringify(process.getActiveResourcesInfo().filter((r) => r === 'Timeout')) + '\\n');
})().catch((err) => {
  process.stderr.write(String(err && err.stack) + '\\n');
  process.exit(2);
});
`;

test('after a session and stop(), the FTP server leaves no timer that keeps the process alive', async () => {
  const child = spawn(process.execPath, ['-e', CHILD, BUILT_FTP_SERVER], { cwd: path.resolve(__dirname, '../../..'), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  let safetyNet: NodeJS.Timeout | undefined;
  const code = await new Promise<number | string | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    safetyNet = setTimeout(() => resolve('still running'), MIN_WAIT_MS);
  });
  clearTimeout(safetyNet);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  expect({ code, out }).toEqual({ code: 0, out: '[]\n' });
});

test('the FTP server adds no process signal listener (ftp-srv\'s would exit the hub on SIGTERM before its graceful stop)', async () => {
  const { startFtpServer } = await import('../sandbox/ftp-server');
  const signals = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;
  const count = () => signals.map((s) => process.listenerCount(s));
  const before = count();
  const server = await startFtpServer({ host: '127.0.0.1', root: os.tmpdir(), username: 'u', password: 'p' });
  try {
    expect(count()).toEqual(before);
  } finally {
    await server.stop();
  }
  expect(count()).toEqual(before);
});
