/**
 * The iSupport line of `npm run bench`: a 1,000,000-member export (50,000 cases × 20 members, one worker each, as
 * adapters/isupport/test/large-export.test.ts writes them) read over SFTP by the adapter's export source, beside bare
 * papaparse streaming the same files from disk. Each reader runs in its own process (its peak RSS is its own); the
 * SFTP server is a real OpenSSH sshd (internal-sftp) started privately on loopback, as the adapter's own large-export
 * test does (its helper is reused). Prints the table rows as JSON on the last line.
 *   REDIS_URL=redis://127.0.0.1:6379 ISUPPORT_BENCH_CASES=50000 node dist/bench/isupport-export.js
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdirSync, statSync } from 'node:fs';
import { once } from 'node:events';
import path from 'node:path';
import Papa from 'papaparse';
import { Redis } from 'ioredis';
import { Client as SshClient } from 'ssh2';
import type { Emit, EmitResult } from '../src/core/adapter';
import { createAdapterContext } from '../src/core/context';
import { silentLogger } from '../src/core/logger';
import { startOpenSsh } from '../adapters/isupport/test/helpers/openssh';
import { runExportScan } from '../adapters/isupport/src/export-source';
import type { IsupportSettings } from '../adapters/isupport/src/settings';
import { peakRssMb } from './lib/harness';
import { withHubNodeFlags } from '../src/cli/node-flags';

const CASES = Number(process.env.ISUPPORT_BENCH_CASES ?? 50000);
const MEMBERS_PER_CASE = 20;
const FOLDER = 'REQ-01012020000000-99999';
const FILES = ['CaseDetails/CaseDetails.csv', 'MemberDetails/MemberDetails.csv', 'WorkerDetails/WorkerDetails.csv'];

/** How a child reaches the SFTP server: passed as one JSON argument. */
interface Sftp {
  port: number;
  username: string;
  privateKey: string;
  hostKeySha256: string;
  root: string;
}

async function writeLines(file: string, header: string, count: number, line: (i: number) => string): Promise<void> {
  const out = createWriteStream(file);
  out.write(`${header}\r\n`);
  for (let i = 0; i < count; i++) if (!out.write(`${line(i)}\r\n`)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

async function writeExport(folder: string): Promise<number> {
  for (const s of ['CaseDetails', 'MemberDetails', 'WorkerDetails']) mkdirSync(path.join(folder, s), { recursive: true });
  const id = (c: number) => `US-FR-2020-100_${String(c).padStart(6, '0')}-US`;
  const roles = ['CRED', 'DEBT'];
  await writeLines(
    path.join(folder, FILES[0]),
    'CASE_ID,APPLICATION_ID,CASE_CATEGORY,CASE_STATUS,REQUESTING_COUNTRY,REQUESTED_COUNTRY,CASE_OPEN_DATE,CASE_DESCRIPTION',
    CASES,
    (c) => `${id(c)},${id(c)}/EST-01,EST,OPEN,US,FR,2020-01-01,"Generated case ${c}, with a comma"`,
  );
  await writeLines(
    path.join(folder, FILES[1]),
    'CASE_ID,MEMBER_ID,MEMBER_ROLE,FIRST_NAME,LAST_NAME,BIRTH_DATE,GENDER,ADDRESS_LINE1,CITY,POSTAL_CODE,COUNTRY,EMAIL',
    CASES * MEMBERS_PER_CASE,
    (i) => {
      const c = Math.floor(i / MEMBERS_PER_CASE);
      return `${id(c)},M${i},${roles[i % MEMBERS_PER_CASE] ?? 'CHLD'},First${i},Last${c},2001-02-03,F,${i} Generated Street,Lyon,69001,FR,person${i}@example.org`;
    },
  );
  await writeLines(path.join(folder, FILES[2]), 'CASE_ID,WORKER_ID,WORKER_ROLE,FIRST_NAME,LAST_NAME,OFFICE', CASES, (c) => `${id(c)},W${c},CASE WORKER,Pat,Worker,Central Authority`);
  return FILES.map((f) => statSync(path.join(folder, f)).size).reduce((a, b) => a + b, 0);
}

/** Child: bare papaparse streaming the three files (header mode, one row at a time). */
async function papaparse(folder: string): Promise<void> {
  const started = process.hrtime.bigint();
  let rows = 0;
  for (const f of FILES) {
    await new Promise<void>((resolve, reject) => {
      Papa.parse(createReadStream(path.join(folder, f)), { header: true, skipEmptyLines: true, step: () => void (rows += 1), complete: () => resolve(), error: reject });
    });
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(`${JSON.stringify({ rows, seconds, peakRssMb: peakRssMb(process.pid) })}\n`);
}

/** Child: the adapter's export source over SFTP; emit counts and keeps nothing, as the hub stores cases in Redis. */
async function adapter(sftp: Sftp): Promise<void> {
  const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
  const prefix = `cwbench-isupport:${process.pid}:`;
  const settings = {
    sftp: {
      host: '127.0.0.1',
      port: sftp.port,
      username: sftp.username,
      privateKey: sftp.privateKey,
      hostKeySha256: sftp.hostKeySha256,
      exportDir: path.join(sftp.root, 'export'),
      importDir: path.join(sftp.root, 'import'),
      archiveDir: path.join(sftp.root, 'archive'),
      failedDir: path.join(sftp.root, 'failed'),
    },
    api: { baseUrl: 'http://127.0.0.1:9' },
    polling: { stableWaitMs: 0, emitBatchSize: 100 },
    referenceDataRefreshMs: 0,
  } as IsupportSettings;
  const ctx = createAdapterContext<IsupportSettings>({ connection: { name: 'isupport', adapter: 'isupport', settings }, redis, prefix, log: silentLogger() });
  let cases = 0;
  let members = 0;
  const emit: Emit = async (events) => {
    const results: EmitResult[] = [];
    for (const e of events) {
      cases += 1;
      members += e.case.parties.filter((p) => !p.roles.includes('caseworker')).length;
      results.push({ eventId: e.eventId, hubId: `hub-${cases}`, duplicate: false });
    }
    return results;
  };
  const started = process.hrtime.bigint();
  const result = await runExportScan(ctx, emit, { names: [FOLDER] });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length) await redis.del(...keys);
  redis.disconnect();
  const outcome = result.reports[0]?.outcome;
  process.stdout.write(`${JSON.stringify({ rows: cases * (1 + 1) + members, cases, members, outcome, seconds, peakRssMb: peakRssMb(process.pid) })}\n`);
}

/** Child: the same three files fetched over the same SFTP server (ssh2-sftp-client read stream), no parsing: the transport alone. */
async function rawSftp(sftp: Sftp): Promise<void> {
  const { default: SftpClient } = await import('ssh2-sftp-client');
  const client = new SftpClient();
  await client.connect({ host: '127.0.0.1', port: sftp.port, username: sftp.username, privateKey: sftp.privateKey });
  // As the adapter does (sftp-client.ts): Nagle off, 256 KiB read requests.
  if ('client' in client && client.client instanceof SshClient) client.client.setNoDelay(true);
  const started = process.hrtime.bigint();
  let bytes = 0;
  for (const f of FILES) {
    const stream = client.createReadStream(path.join(sftp.root, 'export', FOLDER, f), { highWaterMark: 256 * 1024 });
    for await (const chunk of stream as AsyncIterable<Buffer>) bytes += chunk.length;
    stream.on('error', () => undefined); // the handle's close may still be under way when the connection ends

  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await client.end();
  process.stdout.write(`${JSON.stringify({ rows: 0, bytes, seconds, peakRssMb: peakRssMb(process.pid) })}\n`);
}

interface ChildResult {
  rows: number;
  seconds: number;
  peakRssMb: number;
  cases?: number;
  members?: number;
  outcome?: string;
}

/** A child process; the adapter's reader runs with the hub's V8 flags, as a hub worker process would (src/cli/node-flags.ts). */
function child(args: string[]): ChildResult {
  const flags = args[0] === 'adapter' ? withHubNodeFlags(process.execArgv) : [];
  const r = spawnSync(process.execPath, [...flags, __filename, ...args], { env: process.env, encoding: 'utf8', timeout: 1800000, maxBuffer: 1 << 20 });
  const last = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(last) as ChildResult;
  } catch {
    throw new Error(`isupport bench child ${args[0]} failed: ${(r.stderr ?? '').slice(-300)}`);
  }
}

async function main(): Promise<void> {
  const ssh = await startOpenSsh();
  const root = ssh.dataDir;
  try {
    for (const d of ['export', 'import', 'archive', 'failed']) mkdirSync(path.join(root, d), { recursive: true });
    const folder = path.join(root, 'export', FOLDER);
    const bytes = await writeExport(folder);
    const sftp = JSON.stringify({ port: ssh.port, username: ssh.username, privateKey: ssh.privateKey, hostKeySha256: ssh.hostKeySha256, root } satisfies Sftp);
    const bare = child(['papaparse', folder]);
    const raw = child(['sftp-raw', sftp]);
    const own = child(['adapter', sftp]);
    const mb = (bytes / 2 ** 20).toFixed(0);
    const rows = [
      {
        label: `iSupport export read over SFTP (OpenSSH) by the adapter's export source (${CASES * MEMBERS_PER_CASE} members, ${mb} MB)`,
        ackedPerS: own.rows / own.seconds,
        rss: `reader ${own.peakRssMb?.toFixed(0)}`,
        ratio: own.rows / own.seconds / (bare.rows / bare.seconds),
        note: `rows/s; ratio column = to bare papaparse; ${own.cases} cases, ${own.members} members, outcome ${own.outcome}, ${own.seconds.toFixed(1)} s; the same files fetched over the same SFTP without parsing: ${raw.seconds.toFixed(1)} s`,
      },
      { label: `bare papaparse (header mode, step), same files from local disk`, ackedPerS: bare.rows / bare.seconds, rss: `reader ${bare.peakRssMb?.toFixed(0)}`, note: `rows/s; ${bare.rows} rows, ${bare.seconds.toFixed(1)} s` },
    ];
    process.stdout.write(`${JSON.stringify(rows)}\n`);
  } finally {
    await ssh.stop();
  }
}

const [mode, arg] = process.argv.slice(2);
const run = mode === 'papaparse' ? papaparse(arg) : mode === 'adapter' ? adapter(JSON.parse(arg) as Sftp) : mode === 'sftp-raw' ? rawSftp(JSON.parse(arg) as Sftp) : main();
run.catch((err: unknown) => {
  process.stderr.write(`isupport bench: ${String(err)}\n`);
  process.exit(1);
});
