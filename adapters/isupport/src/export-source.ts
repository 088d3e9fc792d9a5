/**
 * Poll source `export`: scans the SFTP export folder for request folders iSupport wrote (case exports and
 * reference-data exports), emits the cases and loads the reference data. See export-folders.ts for the rules.
 */
import type { AdapterContext, Emit, PollOutcome, PollSourceDefinition, ConstOptionsSchema, OptionsOf } from 'caseway/core';
import { ConfigError } from 'caseway/core';
import { exportEnv, scanExportFolder, type ScanResult } from './export-folders';
import type { IsupportSettings } from './settings';
import { withTransport } from './file-server';

export type ExportSourceOptions = OptionsOf<typeof exportSourceOptionsSchema>;

export async function runExportScan(
  ctx: AdapterContext<IsupportSettings>,
  emit: Emit,
  only?: { names?: string[]; pattern?: RegExp },
): Promise<ScanResult> {
  return withTransport(ctx, async (files) => scanExportFolder(await exportEnv(ctx, files, emit), only));
}

const exportSourceOptionsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: { folderPattern: { type: 'string', description: 'Only folders whose name matches this regular expression.' } },
} as const satisfies ConstOptionsSchema;

export const exportSource: PollSourceDefinition<IsupportSettings, typeof exportSourceOptionsSchema> = {
  kind: 'poll',
  description:
    'Reads export request folders (CaseDetails/, MemberDetails/, WorkerDetails/ CSVs) from the SFTP export folder into maintenance cases, and reference-data folders into the code lookup; moves each folder to archive or failed with a report.',
  optionsSchema: exportSourceOptionsSchema,
  defaultIntervalMs: 60000,
  async poll(ctx, emit, options): Promise<PollOutcome> {
    const opts = options;
    let pattern: RegExp | undefined;
    if (opts.folderPattern) {
      try {
        pattern = new RegExp(opts.folderPattern);
      } catch {
        throw new ConfigError('route options', '/folderPattern', 'is not a valid regular expression');
      }
    }
    const result = await runExportScan(ctx, emit, { pattern });
    if (result.skipped.length) ctx.log.debug({ skipped: result.skipped }, 'isupport: export folders not ready yet');
    return {
      emitted: result.emitted,
      lagSeconds: result.newestMs ? Math.max(0, (Date.now() - result.newestMs) / 1000) : undefined,
    };
  },
};
