/** The sandbox definition the hub starts for a connection with `sandbox: true` (and `npm start`). */
import type { SandboxDefinition } from 'caseway/core';
import { EtdSandbox, type SandboxValidation } from './server';

export { EtdSandbox } from './server';
export type { EtdSandboxOptions, ForcedReply, JsonObject, SandboxRequest, SandboxValidation, StoredApplication } from './server';

/** What the sandbox reads of the connection's settings (the public settings schema; the adapter's types are not used). */
interface ConnectionSettings {
  apiKey?: unknown;
  apiKeyHeader?: string;
  inbound?: { validation?: SandboxValidation };
}

export const sandbox: SandboxDefinition = {
  description: 'A local IIZUKA Case Manager written from the spec: POST /application validated by its tables, numeric appRefNumbers from 12345.',
  async start({ host, port, log, settings }) {
    const own = settings as ConnectionSettings;
    const server = await EtdSandbox.start({
      host,
      port,
      log,
      apiKey: typeof own.apiKey === 'string' && own.apiKey ? own.apiKey : undefined,
      apiKeyHeader: own.apiKeyHeader,
      validation: own.inbound?.validation,
    });
    return { urls: { api: server.url }, settings: server.connectionSettings(), stop: () => server.stop() };
  },
};
