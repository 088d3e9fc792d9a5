/**
 * The sandbox iSupport's import job (seed §6-7): a scheduler run takes every complete request folder under the import
 * directory ("two csv files are mandatory and must have exact name": ccrt.csv and natural_person.csv; no temporary
 * names), "imports" it (assigns an application id), moves it to Imported (or ImportFailed when a file has no data row)
 * and reports it, so the sandbox can mail the import notice (§8.2).
 *
 * The seed does not publish the import columns: the ones read for the application id (REQUESTING_COUNTRY,
 * REQUESTED_COUNTRY, CASE_CATEGORY) are the sandbox's assumption, shaped like the seed's example
 * "US(CA)-FR-2016-100_1264-US(CA)/MOD-01".
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import Papa from 'papaparse';
import { safeMessage, type Logger } from 'caseway/core';

export interface ImportedRequest {
  requestId: string;
  applicationId: string;
  importedAt: string;
  files: { 'ccrt.csv': string; 'natural_person.csv': string };
  ccrt: Array<Record<string, string>>;
  naturalPersons: Array<Record<string, string>>;
}

export interface ImportFolders {
  /** Real (local) paths. */
  importDir: string;
  importedDir: string;
  importFailedDir: string;
}

const TEMPORARY = /\.(part|tmp|filepart|partial)$/i;
const parse = (text: string): Array<Record<string, string>> =>
  Papa.parse<Record<string, string>>(text.replace(/^\uFEFF/, ''), { header: true, skipEmptyLines: 'greedy' }).data;

export class ImportScheduler {
  private readonly importedList: ImportedRequest[] = [];
  private readonly rejectedList: Array<{ requestId: string; reason: string }> = [];
  private scanning = false;
  private appSeq = 1000;
  /** Runs started so far. */
  runs = 0;

  constructor(
    private readonly folders: ImportFolders,
    private readonly log: Logger,
    private readonly onImported: (request: ImportedRequest, at: Date) => void,
  ) {}

  /** One scheduler run: imports every complete request folder. */
  async scan(): Promise<void> {
    if (this.scanning) return;
    this.scanning = true;
    this.runs += 1;
    try {
      for (const entry of await fs.readdir(this.folders.importDir, { withFileTypes: true })) {
        if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
        const folder = path.join(this.folders.importDir, entry.name);
        const names = await fs.readdir(folder);
        const complete = names.includes('ccrt.csv') && names.includes('natural_person.csv') && !names.some((n) => n.startsWith('.') || TEMPORARY.test(n));
        if (complete) await this.importFolder(entry.name, folder);
      }
    } catch (err) {
      this.log.warn({ error: safeMessage(err) }, 'isupport sandbox: import scan failed');
    } finally {
      this.scanning = false;
    }
  }

  imported(): ImportedRequest[] {
    return [...this.importedList];
  }

  rejected(): Array<{ requestId: string; reason: string }> {
    return [...this.rejectedList];
  }

  private applicationId(ccrt: Record<string, string> | undefined, at: Date): string {
    const requesting = ccrt?.REQUESTING_COUNTRY || 'XX';
    const requested = ccrt?.REQUESTED_COUNTRY || 'XX';
    const category = ccrt?.CASE_CATEGORY || 'APP';
    this.appSeq += 1;
    return `${requesting}-${requested}-${at.getUTCFullYear()}-100_${this.appSeq}-${requesting}/${category}-01`;
  }

  private async importFolder(requestId: string, folder: string): Promise<void> {
    const ccrtText = await fs.readFile(path.join(folder, 'ccrt.csv'), 'utf8');
    const npText = await fs.readFile(path.join(folder, 'natural_person.csv'), 'utf8');
    const ccrt = parse(ccrtText);
    const naturalPersons = parse(npText);
    if (!ccrt.length || !naturalPersons.length) {
      await fs.rename(folder, path.join(this.folders.importFailedDir, `${requestId}.${Date.now()}`));
      this.rejectedList.push({ requestId, reason: !ccrt.length ? 'ccrt.csv has no case row' : 'natural_person.csv has no member row' });
      return;
    }
    const at = new Date();
    const applicationId = this.applicationId(ccrt[0], at);
    let target = path.join(this.folders.importedDir, requestId);
    if (existsSync(target)) target = `${target}.${Date.now()}`;
    await fs.rename(folder, target);
    const request: ImportedRequest = { requestId, applicationId, importedAt: at.toISOString(), files: { 'ccrt.csv': ccrtText, 'natural_person.csv': npText }, ccrt, naturalPersons };
    this.importedList.push(request);
    this.onImported(request, at);
  }
}
