/** Shared test set-up for the iSupport adapter: settings that reach a test SFTP server, sample folders, hashing. */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import type { CanonicalCase } from '../../../../src/core/model/canonical.generated';
import type { DeliveryRequest } from '../../../../src/core/adapter';
import { adapterHarness, type Harness } from '../../../../test/helpers/adapter-harness';
import adapter from '../../index';
import type { IsupportSettings } from '../../src/settings';
import { testRedis } from '../../../../test/helpers/redis';
import { startTestFtp, type TestFtpServer } from './ftp';
import { startOpenSsh, type OpenSshServer } from './openssh';

export const REPO = path.resolve(__dirname, '../../../..');
export const SAMPLES = path.join(REPO, 'config', 'samples', 'isupport-export');
export const SAMPLE_CASE_ID = 'US-UK(NI)-2015-100_0453-US';
export const SAMPLE_REFERENCE_FOLDER = 'REQ-11022015090000-10001';

export function sshSettings(ssh: OpenSshServer, sub: string, extra: Partial<IsupportSettings> = {}): IsupportSettings {
  const base = path.join(ssh.dataDir, sub);
  for (const d of ['export', 'import', 'archive', 'failed']) mkdirSync(path.join(base, d), { recursive: true });
  return {
    sftp: {
      host: ssh.host,
      port: ssh.port,
      username: ssh.username,
      privateKey: ssh.privateKey,
      hostKeySha256: ssh.hostKeySha256,
      exportDir: path.join(base, 'export'),
      importDir: path.join(base, 'import'),
      archiveDir: path.join(base, 'archive'),
      failedDir: path.join(base, 'failed'),
      ...extra.sftp,
    },
    api: { baseUrl: 'http://127.0.0.1:9' },
    polling: { stableWaitMs: 150, ...extra.polling },
    referenceDataRefreshMs: 0,
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'sftp' && k !== 'polling')),
  } as IsupportSettings;
}

export function harnessFor(settings: IsupportSettings, redis: Redis, prefix: string, connectionName = 'isupport'): Harness<IsupportSettings> {
  return adapterHarness<IsupportSettings>({ adapter, settings, redis, prefix, connectionName });
}

/** Copies the sample case export (CaseDetails/, MemberDetails/, WorkerDetails/) to exportDir/<name>. */
export function copySampleCase(exportDir: string, name: string): string {
  const target = path.join(exportDir, name);
  cpSync(path.join(SAMPLES, SAMPLE_CASE_ID), target, { recursive: true });
  return target;
}

export function copySampleReference(exportDir: string, name: string): string {
  const target = path.join(exportDir, name);
  cpSync(path.join(SAMPLES, SAMPLE_REFERENCE_FOLDER), target, { recursive: true });
  return target;
}

export function sha256File(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** A case as iCasework would deliver it after the demo route's mapping: one creditor, a case id, country codes. */
export function icaseworkCase(overrides: Partial<CanonicalCase> = {}): CanonicalCase {
  return {
    type: 'maintenance',
    subtype: 'CrossBorderRecovery',
    source: { system: 'icasework', connection: 'icasework', id: 'ICW-20240117-0042' },
    receivedAt: '2024-01-17T10:15:00Z',
    summary: 'Cross-border recovery of child maintenance',
    parties: [
      {
        id: 'CUST-7',
        roles: ['creditor'],
        person: { forenames: 'Ann', surname: 'Applicant', birthDate: '1985-02-03' },
        addresses: [{ lines: ['1 High Street'], town: 'Leeds', postcode: 'LS1 1AA', country: 'GB' }],
        contacts: [{ kind: 'email', value: 'ann.applicant@example.org' }],
      },
    ],
    extensions: { isupport: { requestingCountry: 'GB', requestedCountry: 'FR' } },
    ...overrides,
  };
}

export function deliveryRequest(c: CanonicalCase, deliveryId: string, action = 'importCase', options: Record<string, unknown> = {}): DeliveryRequest {
  return { case: c, hubId: 'hub-test-1', action, options, route: 'icasework-to-isupport', deliveryId, attempt: 1, references: [] };
}

/** Splits CSV text (as written by the adapter: CRLF, RFC 4180) into rows of cells. */
export function parseCsvText(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  if (cell !== '' || row.length) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}

export const TRANSPORTS = ['sftp', 'ftp', 'ftps'] as const;
export type Transport = (typeof TRANSPORTS)[number];

/** Settings for a plain FTP or FTPS test server (paths are the same on disk and over FTP). */
export function ftpSettings(ftp: TestFtpServer, transport: 'ftp' | 'ftps', sub: string, extra: Partial<IsupportSettings> = {}): IsupportSettings {
  const base = path.join(ftp.dataDir, sub);
  for (const d of ['export', 'import', 'archive', 'failed']) mkdirSync(path.join(base, d), { recursive: true });
  return {
    transport,
    sftp: {
      host: ftp.host,
      port: ftp.port,
      username: ftp.username,
      password: ftp.password,
      exportDir: path.join(base, 'export'),
      importDir: path.join(base, 'import'),
      archiveDir: path.join(base, 'archive'),
      failedDir: path.join(base, 'failed'),
      ...(transport === 'ftps' ? { tls: { ca: ftp.cert } } : {}),
      ...extra.sftp,
    },
    api: { baseUrl: 'http://127.0.0.1:9' },
    polling: { stableWaitMs: 150, ...extra.polling },
    referenceDataRefreshMs: 0,
    ...Object.fromEntries(Object.entries(extra).filter(([k]) => k !== 'sftp' && k !== 'polling')),
  } as IsupportSettings;
}

/**
 * One file server of the given transport (a real OpenSSH server for sftp, the sandbox's ftp-srv server for ftp and
 * ftps) and one Redis key space for a test file (started and removed by beforeAll/afterAll), and per setup() a fresh
 * tree (named tag + a counter) with an adapter harness on its own key prefix.
 */
export function transportTestEnv(tag: string, transport: Transport, defaults: Partial<IsupportSettings> = {}) {
  let ssh: OpenSshServer | undefined;
  let ftp: TestFtpServer | undefined;
  // Connected in beforeAll, not when the describe is defined: a run filtered with -t skips the hooks of a describe
  // none of whose tests it runs, and a connection opened outside them would be left open (Jest would never exit).
  let redisEnv: ReturnType<typeof testRedis> | undefined;
  let n = 0;
  beforeAll(async () => {
    redisEnv = testRedis();
    if (transport === 'sftp') ssh = await startOpenSsh();
    else ftp = await startTestFtp(transport === 'ftps');
  });
  afterAll(async () => {
    await ssh?.stop();
    await ftp?.stop();
    await redisEnv?.cleanup();
  });
  const redis = (): ReturnType<typeof testRedis> => {
    if (!redisEnv) throw new Error('the test Redis is not connected (use it inside a test)');
    return redisEnv;
  };
  const server = (): OpenSshServer => {
    if (!ssh) throw new Error('the OpenSSH test server is not running (call setup() inside an sftp test)');
    return ssh;
  };
  return {
    transport,
    server,
    /** How many trees setup() has made so far. */
    count: () => n,
    /** A folder of the server's (same path on disk and on the server). */
    dataDir: (): string => {
      const dir = ssh?.dataDir ?? ftp?.dataDir;
      if (!dir) throw new Error('the test file server is not running (call dataDir() inside a test)');
      return dir;
    },
    setup(extra: Partial<IsupportSettings> = {}) {
      n += 1;
      const merged = { ...defaults, ...extra };
      let settings: IsupportSettings;
      if (transport === 'sftp') settings = sshSettings(server(), `${tag}${n}`, merged);
      else {
        if (!ftp) throw new Error('the FTP test server is not running (call setup() inside a test)');
        settings = ftpSettings(ftp, transport, `${tag}${n}`, merged);
      }
      const { redis: connection, prefix } = redis();
      const h = harnessFor(settings, connection, `${prefix}${n}:`);
      return { settings, h, dirs: settings.sftp as Required<IsupportSettings['sftp']> };
    },
  };
}

/** The OpenSSH flavour of transportTestEnv. */
export function sftpTestEnv(tag: string, defaults: Partial<IsupportSettings> = {}) {
  return transportTestEnv(tag, 'sftp', defaults);
}
