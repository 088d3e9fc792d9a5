/**
 * A sandbox iSupport: an embedded SFTP server and an FTP server (plain FTP, and FTPS with explicit TLS) over the same
 * folder (workDir/sftp), the request API (express 5) and an SMTP capture. The settings it hands out reach the server
 * of the connection's `transport` (default sftp).
 * Like the real one (seed chapters 5-8):
 *   - GET /requestCaseData/{caseId} and GET /requestReferenceData/ only acknowledge (200, plain text naming the request
 *     id); a moment later the export is written into the export folder as REQ-<MMddyyyyHHmmss>-<n>/ (or, with
 *     exportFolders 'caseId', a folder named by the case id as seed §5.1 c says; with 'nested',
 *     REQ-<...>/<caseId>/) with CaseDetails/, MemberDetails/, WorkerDetails/ (reference data: one CSV per table), each file written in two
 *     steps so it visibly grows, and then the export notice is mailed. An unknown case id is acknowledged too, but
 *     nothing is exported.
 *   - a scheduler (import-scheduler.ts) picks up complete import folders (both ccrt.csv and natural_person.csv, no temporary names),
 *     "imports" them (assigns an application id), moves them to /iSupport/Api/Imported and mails the import notice.
 * Cases it can export come from config/samples/isupport-export (folders with CaseDetails/) plus addExportCase().
 */
import { existsSync, promises as fs } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import express from 'express';
import type { SandboxHandle, SandboxOptions } from 'caseway/core';
import { closeHttpServer, safeMessage, sleep } from 'caseway/core';
import { ImportScheduler, type ImportedRequest } from './import-scheduler';
import { exportNotice, importNotice, javaDateString, mailNotice, SEED_PROPERTIES, type NoticeMailSettings } from './notices';
import { repoRoot } from './repo';
import { startFtpServer, type FtpServerHandle } from './ftp-server';
import { startSftpServer, type SftpServerHandle } from './sftp-server';
import { sandboxTlsPair } from './tls-cert';
import { startSmtpCapture, type CapturedMail, type SmtpCaptureHandle } from './smtp-capture';

export const SECTIONS = ['CaseDetails', 'MemberDetails', 'WorkerDetails'] as const;
export type SectionFolder = (typeof SECTIONS)[number];

export interface ExportFile {
  /** Path inside the request folder, e.g. MemberDetails/MemberDetails.csv */
  rel: string;
  content: Buffer;
}

export interface IsupportSandboxOptions extends SandboxOptions {
  /** Drop the sample reference-data and case exports into the export folder at start (default true). */
  seed?: boolean;
  /** Folder of sample exports (default config/samples/isupport-export). */
  samplesDir?: string;
  /** Delay between acknowledging a request and starting to write its export (default 300 ms). */
  exportDelayMs?: number;
  /** Pause between the two halves of each export file (default 100 ms). */
  writeStepMs?: number;
  /** Import scheduler period (default 500 ms). */
  schedulerIntervalMs?: number;
  /** How case export folders are named: 'request' (REQ-..., default), 'caseId' (seed §5.1 c) or 'nested' (REQ-.../<caseId>/). */
  exportFolders?: ExportFolderNaming;
}

export type ExportFolderNaming = 'request' | 'caseId' | 'nested';

/** What the sandbox reads of the connection's settings (the public settings schema; the adapter's types are not used). */
interface ConnectionSettings {
  transport?: 'sftp' | 'ftp' | 'ftps';
  sftp?: { username?: string; password?: string; exportDir?: string; importDir?: string; archiveDir?: string; failedDir?: string };
  smtp?: Partial<Omit<NoticeMailSettings, 'host' | 'port'>>;
}

export interface ApiCall {
  method: string;
  path: string;
  caseId?: string;
  requestId: string;
  at: string;
  exported: boolean;
}

const DEFAULT_DIRS = {
  exportDir: '/iSupport/Api/Export',
  importDir: '/iSupport/Api/Import',
  archiveDir: '/iSupport/Api/Archive',
  failedDir: '/iSupport/Api/Failed',
  importedDir: '/iSupport/Api/Imported',
  importFailedDir: '/iSupport/Api/ImportFailed',
};

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export class IsupportSandbox implements SandboxHandle {
  urls: Record<string, string> = {};
  settings: Record<string, unknown> = {};
  readonly root: string;
  readonly dirs: typeof DEFAULT_DIRS;
  private readonly cases = new Map<string, ExportFile[]>();
  private reference: ExportFile[] = [];
  private readonly calls: ApiCall[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private sftp?: SftpServerHandle;
  private ftp?: FtpServerHandle;
  private ftpsCert = '';
  private folderNaming: ExportFolderNaming;
  private smtp?: SmtpCaptureHandle;
  private http?: Server;
  private timer?: NodeJS.Timeout;
  private scheduler?: ImportScheduler;
  private seq = 10000;
  private stopped = false;
  private smtpSettings: NoticeMailSettings = { ...SEED_PROPERTIES, host: '127.0.0.1' };

  constructor(private readonly opts: IsupportSandboxOptions) {
    this.folderNaming = opts.exportFolders ?? 'request';
    this.root = path.join(opts.workDir, 'sftp');
    const own = (opts.settings as ConnectionSettings).sftp;
    this.dirs = {
      ...DEFAULT_DIRS,
      exportDir: own?.exportDir ?? DEFAULT_DIRS.exportDir,
      importDir: own?.importDir ?? DEFAULT_DIRS.importDir,
      archiveDir: own?.archiveDir ?? DEFAULT_DIRS.archiveDir,
      failedDir: own?.failedDir ?? DEFAULT_DIRS.failedDir,
    };
  }

  /** Real (local) path of a path on the sandbox's SFTP server. */
  real(virtualPath: string): string {
    return path.join(this.root, path.posix.normalize(`/${virtualPath}`));
  }

  async start(): Promise<this> {
    const own = this.opts.settings as ConnectionSettings;
    for (const dir of Object.values(this.dirs)) await fs.mkdir(this.real(dir), { recursive: true });
    await this.loadSamples(this.opts.samplesDir ?? path.join(repoRoot(), 'config', 'samples', 'isupport-export'));

    const username = own.sftp?.username ?? 'isupport';
    const password = own.sftp?.password ?? 'sandbox';
    this.sftp = await startSftpServer({ host: this.opts.host, root: this.root, username, password, log: this.opts.log });
    const tls = sandboxTlsPair();
    if (!tls) {
      if (own.transport === 'ftps') throw new Error('isupport sandbox: FTPS needs openssl or sandbox/test-only-tls/ for its certificate');
      this.opts.log.warn({}, 'isupport sandbox: no openssl and no test-only certificate: the FTP server offers no TLS');
    }
    this.ftpsCert = tls?.cert ?? '';
    this.ftp = await startFtpServer({ host: this.opts.host, root: this.root, username, password, tls, log: this.opts.log });
    this.smtp = await startSmtpCapture({ host: this.opts.host });
    this.smtpSettings = { ...SEED_PROPERTIES, ...definedOnly(own.smtp ?? {}), host: this.opts.host, port: this.smtp.port };

    const app = express();
    app.get('/requestCaseData/:caseId', (req, res) => {
      const caseId = req.params.caseId;
      const requestId = this.newRequestId();
      const files = this.cases.get(caseId);
      this.calls.push({ method: 'GET', path: req.path, caseId, requestId, at: new Date().toISOString(), exported: !!files });
      res.status(200).type('text/plain').send(`Request received. Request ID : ${requestId}`);
      if (files) this.background(this.exportLater(requestId, files, caseId));
      else this.opts.log.info({ requestId }, 'isupport sandbox: requestCaseData for an unknown case id: nothing exported');
    });
    app.get('/requestReferenceData/', (req, res) => {
      const requestId = this.newRequestId();
      this.calls.push({ method: 'GET', path: req.path, requestId, at: new Date().toISOString(), exported: true });
      res.status(200).type('text/plain').send(`Request received. Request ID : ${requestId}`);
      this.background(this.exportLater(requestId, this.reference));
    });
    // Not part of iSupport: what the sandbox holds, for the demo and end-to-end tests running in another process.
    app.get('/_sandbox/mails', (_req, res) => {
      res.json(this.mails().map(({ raw: _raw, ...mail }) => mail));
    });
    app.get('/_sandbox/imported', (_req, res) => {
      res.json(this.imported());
    });
    app.get('/_sandbox/calls', (_req, res) => {
      res.json(this.apiCalls());
    });
    app.use((req, res) => {
      res.status(404).type('text/plain').send('Not Found');
    });
    this.http = await new Promise<Server>((resolve, reject) => {
      const server = app.listen(this.opts.port ?? 0, this.opts.host, (err?: Error) => (err ? reject(err) : resolve(server)));
    });
    const apiPort = (this.http.address() as AddressInfo).port;

    this.urls = {
      api: `http://${this.opts.host}:${apiPort}`,
      sftp: `sftp://${username}@${this.opts.host}:${this.sftp.port}${this.dirs.exportDir}`,
      ftp: `ftp://${username}@${this.opts.host}:${this.ftp.port}${this.dirs.exportDir} (FTPS: explicit TLS on the same port)`,
      smtp: `smtp://${this.opts.host}:${this.smtp.port}`,
      control: `http://${this.opts.host}:${apiPort}/_sandbox`,
    };
    const transport = own.transport ?? 'sftp';
    this.settings = {
      transport,
      sftp: {
        host: this.opts.host,
        port: transport === 'sftp' ? this.sftp.port : this.ftp.port,
        username,
        password,
        ...(transport === 'sftp' ? { hostKeySha256: this.sftp.hostKeySha256 } : {}),
        ...(transport === 'ftps' ? { tls: { ca: this.ftpsCert } } : {}),
        exportDir: this.dirs.exportDir,
        importDir: this.dirs.importDir,
        archiveDir: this.dirs.archiveDir,
        failedDir: this.dirs.failedDir,
      },
      api: { baseUrl: this.urls.api },
      smtp: {
        host: this.opts.host,
        port: this.smtp.port,
        subject: this.smtpSettings.subject,
        from: this.smtpSettings.from,
        to: this.smtpSettings.to,
        supportEmail: this.smtpSettings.supportEmail,
        exportSupportEmail: this.smtpSettings.exportSupportEmail,
      },
    };
    if (this.opts.seed !== false) {
      if (this.reference.length) await this.writeExport(this.newRequestId(), this.reference, 0);
      for (const [caseId, files] of this.cases) await this.writeExport(this.newRequestId(), files, 0, caseId);
    }
    this.scheduler = new ImportScheduler(
      { importDir: this.real(this.dirs.importDir), importedDir: this.real(this.dirs.importedDir), importFailedDir: this.real(this.dirs.importFailedDir) },
      this.opts.log,
      ({ requestId, applicationId }, at) =>
        this.background(this.mail(importNotice(requestId, javaDateString(at, this.smtpSettings.timeZone), applicationId, this.smtpSettings.supportEmail))),
    );
    this.timer = setInterval(() => void this.scanImports(), this.opts.schedulerIntervalMs ?? 500);
    this.timer.unref();
    return this;
  }

  private async loadSamples(dir: string): Promise<void> {
    if (!existsSync(dir)) return;
    for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const folder = path.join(dir, entry.name);
      const inside = await fs.readdir(folder, { withFileTypes: true });
      if (inside.some((e) => e.isDirectory() && (SECTIONS as readonly string[]).includes(e.name))) {
        const files: ExportFile[] = [];
        for (const section of SECTIONS) {
          const sdir = path.join(folder, section);
          if (!existsSync(sdir)) continue;
          for (const name of (await fs.readdir(sdir)).sort()) files.push({ rel: `${section}/${name}`, content: await fs.readFile(path.join(sdir, name)) });
        }
        this.cases.set(entry.name, files);
      } else {
        for (const e of inside) {
          if (e.isFile() && /\.csv$/i.test(e.name)) this.reference.push({ rel: e.name, content: await fs.readFile(path.join(folder, e.name)) });
        }
      }
    }
  }

  /** Makes a case exportable: section folder -> CSV text (one file per section, named after the section). */
  addExportCase(caseId: string, sections: Partial<Record<SectionFolder, string>>): void {
    this.cases.set(
      caseId,
      Object.entries(sections).map(([section, text]) => ({ rel: `${section}/${section}.csv`, content: Buffer.from(text ?? '', 'utf8') })),
    );
  }

  newRequestId(at = new Date()): string {
    const stamp = `${pad(at.getUTCMonth() + 1)}${pad(at.getUTCDate())}${at.getUTCFullYear()}${pad(at.getUTCHours())}${pad(at.getUTCMinutes())}${pad(at.getUTCSeconds())}`;
    this.seq += 1;
    return `REQ-${stamp}-${this.seq}`;
  }

  private background(p: Promise<unknown>): void {
    const tracked = p.catch((err: unknown) => this.opts.log.warn({ error: safeMessage(err) }, 'isupport sandbox: background task failed'));
    this.pending.add(tracked);
    void tracked.finally(() => this.pending.delete(tracked));
  }

  /** Waits until every export and notice under way has finished. */
  async idle(): Promise<void> {
    while (this.pending.size) await Promise.all([...this.pending]);
  }

  /** How later case exports name their folders (the demo and tests switch it). */
  setExportFolders(naming: ExportFolderNaming): void {
    this.folderNaming = naming;
  }

  /** The PEM certificate of the FTPS server (self-signed), for a client's sftp.tls.ca. */
  ftpsCertificate(): string {
    return this.ftpsCert;
  }

  private async exportLater(requestId: string, files: ExportFile[], caseId?: string): Promise<void> {
    await sleep(this.opts.exportDelayMs ?? 300);
    if (this.stopped) return;
    const location = await this.writeExport(requestId, files, this.opts.writeStepMs ?? 100, caseId);
    if (this.stopped) return;
    const completedOn = javaDateString(new Date(), this.smtpSettings.timeZone);
    await this.mail(exportNotice(requestId, completedOn, location, this.smtpSettings.exportSupportEmail));
  }

  /**
   * Writes an export folder; each file appears with its first half, then grows. Returns its path on the file server
   * (the "FTP File Location" of the notice). A case export goes where the folder naming says: REQ-.../, <caseId>/
   * or REQ-.../<caseId>/; reference data always into REQ-.../.
   */
  async writeExport(requestId: string, files: ExportFile[], stepMs: number, caseId?: string): Promise<string> {
    const naming = caseId ? this.folderNaming : 'request';
    const location = path.posix.join(this.dirs.exportDir, naming === 'caseId' ? caseId! : requestId);
    const folder = this.real(location);
    const inner = naming === 'nested' ? path.join(folder, caseId!) : folder;
    await fs.mkdir(inner, { recursive: true });
    for (const f of files) {
      const target = path.join(inner, f.rel);
      await fs.mkdir(path.dirname(target), { recursive: true });
      const half = Math.floor(f.content.length / 2);
      await fs.writeFile(target, f.content.subarray(0, half));
      if (stepMs > 0) await sleep(stepMs);
      await fs.appendFile(target, f.content.subarray(half));
    }
    return location;
  }

  private async mail(text: string): Promise<void> {
    try {
      await mailNotice(this.smtpSettings, text);
    } catch (err) {
      this.opts.log.warn({ error: safeMessage(err) }, 'isupport sandbox: notice mail failed');
    }
  }

  /** One scheduler run: imports every complete request folder. */
  async scanImports(): Promise<void> {
    if (!this.stopped) await this.scheduler?.scan();
  }

  // Inspection API for tests.
  /** Import scheduler runs started so far (to wait for a run instead of sleeping). */
  schedulerRuns(): number {
    return this.scheduler?.runs ?? 0;
  }

  mails(): CapturedMail[] {
    return this.smtp?.mails() ?? [];
  }

  waitForMail(match: (m: CapturedMail) => boolean, timeoutMs?: number): Promise<CapturedMail> {
    if (!this.smtp) return Promise.reject(new Error('sandbox not started'));
    return this.smtp.waitFor(match, timeoutMs);
  }

  imported(): ImportedRequest[] {
    return this.scheduler?.imported() ?? [];
  }

  rejected(): Array<{ requestId: string; reason: string }> {
    return this.scheduler?.rejected() ?? [];
  }

  apiCalls(): ApiCall[] {
    return [...this.calls];
  }

  /** Every file on the SFTP server, as SFTP paths (sorted). */
  async files(under = '/'): Promise<string[]> {
    const out: string[] = [];
    const walk = async (virtualDir: string): Promise<void> => {
      const entries = await fs.readdir(this.real(virtualDir), { withFileTypes: true }).catch(() => []);
      for (const e of entries) {
        const v = path.posix.join(virtualDir, e.name);
        if (e.isDirectory()) await walk(v);
        else out.push(v);
      }
    };
    await walk(under);
    return out.sort();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.all([...this.pending]);
    await this.sftp?.stop();
    await this.ftp?.stop();
    await this.smtp?.stop();
    if (this.http) await closeHttpServer(this.http);
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => typeof v === 'string' && v !== '')) as Partial<T>;
}

export async function startIsupportSandbox(opts: IsupportSandboxOptions): Promise<IsupportSandbox> {
  return new IsupportSandbox(opts).start();
}
