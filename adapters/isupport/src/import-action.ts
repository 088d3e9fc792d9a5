/**
 * Action `importCase`: writes ccrt.csv and natural_person.csv into a new request folder under the import folder,
 * where iSupport's scheduler picks it up. The files appear atomically: each is written under a temporary name
 * (`<name>.part`) and renamed when complete, natural_person.csv first and ccrt.csv last, so the folder never holds
 * both final names before both are whole (with sftp.stagingDir the whole folder is built there and renamed in).
 * The folder name is derived from the delivery id, so a retry finds the folder of the earlier attempt.
 */
import type { ActionDefinition, AdapterContext, DeliveryRequest, DeliveryResult, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { ValidationError } from 'caseway/core';
import { toCsv } from './csv-writer';
import { encodeImport } from './import-codec';
import { IMPORT_FILE_NAMES, loadCodeLists, loadImportLayout, type ImportFileName } from './layout';
import { requestFolderName, safeJoin } from './naming';
import { CodeTranslator, getReferenceData } from './reference-data';
import { DEFAULT_BOM, DEFAULT_REQUEST_PREFIX, resolveDirs, type IsupportSettings } from './settings';
import { withTransport } from './file-server';
import type { FileTransport } from './transport';

export const TEMP_SUFFIX = '.part';
/** Rename order: the case file last, so a scheduler that only needs ccrt.csv still sees a complete folder. */
const RENAME_ORDER: ImportFileName[] = ['natural_person.csv', 'ccrt.csv'];
const UPLOADED_TTL_SECONDS = 180 * 24 * 3600;

export type ImportOptions = OptionsOf<typeof importCaseActionOptionsSchema>;

async function uploadInPlace(sftp: FileTransport, folderPath: string, files: Record<ImportFileName, Buffer>): Promise<'written' | 'present'> {
  await sftp.mkdir(folderPath);
  const existing = new Set((await sftp.list(folderPath)).map((e) => e.name));
  if (IMPORT_FILE_NAMES.every((n) => existing.has(n))) return 'present';
  for (const name of RENAME_ORDER) {
    if (existing.has(name)) continue; // renamed into place by an earlier attempt: complete by construction
    await sftp.put(files[name], safeJoin(folderPath, `${name}${TEMP_SUFFIX}`));
  }
  for (const name of RENAME_ORDER) {
    if (existing.has(name)) continue;
    await sftp.rename(safeJoin(folderPath, `${name}${TEMP_SUFFIX}`), safeJoin(folderPath, name));
  }
  return 'written';
}

async function uploadViaStaging(sftp: FileTransport, stagingDir: string, importDir: string, folder: string, files: Record<ImportFileName, Buffer>): Promise<'written' | 'present'> {
  const finalPath = safeJoin(importDir, folder);
  if (await sftp.exists(finalPath)) return 'present'; // only ever created by renaming a complete staged folder
  const stagePath = safeJoin(stagingDir, folder);
  await sftp.mkdir(stagePath);
  for (const name of IMPORT_FILE_NAMES) await sftp.put(files[name], safeJoin(stagePath, name));
  await sftp.mkdir(importDir);
  await sftp.rename(stagePath, finalPath);
  return 'written';
}

export async function deliverImport(request: DeliveryRequest<ImportOptions>, ctx: AdapterContext<IsupportSettings>): Promise<DeliveryResult> {
  const s = ctx.connection.settings;
  const layout = loadImportLayout(s);
  const translator = new CodeTranslator(loadCodeLists(s), await getReferenceData(ctx));
  const encoded = encodeImport(request.case, layout, translator);
  if (encoded.problems.length) {
    const fields = encoded.problems.map((p) => p.field);
    throw new ValidationError(
      `isupport: importCase: ${fields.length} required or coded field(s) missing or invalid: ${fields.join(', ')}`,
      encoded.problems.map((p) => ({ [p.field]: p.message })),
      { route: request.route, hubId: request.hubId, connection: ctx.connection.name, action: request.action, missingFields: fields },
    );
  }
  const bom = request.options.bom ?? s.bom ?? DEFAULT_BOM;
  const files = {} as Record<ImportFileName, Buffer>;
  for (const name of IMPORT_FILE_NAMES) files[name] = toCsv(encoded.files[name].header, encoded.files[name].rows, { bom });

  const folder = requestFolderName(request.deliveryId, s.requestPrefix ?? DEFAULT_REQUEST_PREFIX);
  const result: DeliveryResult = {
    references: [{ system: 'isupport', connection: ctx.connection.name, id: folder, kind: 'requestId' }],
    summary: { requestId: folder, files: 2, members: encoded.members },
  };
  const stateKey = `import:${folder}`;
  if (await ctx.state.get(stateKey)) return { ...result, summary: { ...result.summary, alreadyUploaded: true } };

  const dirs = resolveDirs(s.sftp);
  const outcome = await withTransport(ctx, (sftp) =>
    dirs.stagingDir ? uploadViaStaging(sftp, dirs.stagingDir, dirs.importDir, folder, files) : uploadInPlace(sftp, safeJoin(dirs.importDir, folder), files),
  );
  await ctx.state.set(stateKey, JSON.stringify({ uploadedAt: new Date().toISOString(), hubId: request.hubId, deliveryId: request.deliveryId }), UPLOADED_TTL_SECONDS);
  ctx.log.info({ hubId: request.hubId, requestId: folder, outcome, members: encoded.members }, 'isupport: import request folder written');
  return { ...result, summary: { ...result.summary, alreadyUploaded: outcome === 'present' } };
}

const importCaseActionOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { bom: { type: 'boolean', description: 'Override the connection\'s bom setting for this route.' } },
} as const satisfies ConstOptionsSchema;

export const importCaseAction: ActionDefinition<IsupportSettings, typeof importCaseActionOptionsSchema> = {
  description:
    'Writes the case as ccrt.csv (case details) and natural_person.csv (creditor, debtor, children) into a new request folder under the import folder on the file server (SFTP, FTP or FTPS), atomically, with mode fileMode (0600), for iSupport\'s import scheduler.',
  optionsSchema: importCaseActionOptionsSchema,
  deliver: deliverImport,
};
