/** The sandbox definition the hub starts for a connection with `sandbox: true` (and `npm start`). */
import type { SandboxDefinition } from 'caseway/core';
import { EtdSandbox, isIdenticalContent, type SandboxValidation } from './server';

export { EtdSandbox, IDENTICAL_CONTENT_MODES, isIdenticalContent } from './server';
export type { EtdSandboxOptions, ForcedReply, IdenticalContent, JsonObject, SandboxRequest, SandboxValidation, StoredApplication } from './server';

/** What the sandbox reads of the connection's settings (the public settings schema; the adapter's types are not used). */
interface ConnectionSettings {
  apiKey?: unknown;
  apiKeyHeader?: string;
  inbound?: { validation?: SandboxValidation };
}

export const sandbox: SandboxDefinition = {
  description: 'A local IIZUKA Case Manager written from the spec: POST /application validated by its tables, numeric appRefNumbers from 12345, every accepted POST filed.',
  async start({ host, port, log, settings }) {
    const own = settings as ConnectionSettings;
    // The connection settings schema has no room for sandbox-only options: for `npm start`,
    // ETD_SANDBOX_IDENTICAL_CONTENT=same-number gives identical content its earlier number (default file-again).
    const identical = process.env.ETD_SANDBOX_IDENTICAL_CONTENT;
    if (identical !== undefined && identical !== '' && !isIdenticalContent(identical)) {
      throw new Error(`ETD_SANDBOX_IDENTICAL_CONTENT must be file-again or same-number, not "${identical}"`);
    }
    const server = await EtdSandbox.start({
      host,
      port,
      log,
      apiKey: typeof own.apiKey === 'string' && own.apiKey ? own.apiKey : undefined,
      apiKeyHeader: own.apiKeyHeader,
      validation: own.inbound?.validation,
      ...(identical ? { identicalContent: identical } : {}),
    });
    return { urls: { api: server.url }, settings: server.connectionSettings(), stop: () => server.stop() };
  },
};
