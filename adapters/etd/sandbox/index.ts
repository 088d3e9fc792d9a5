/** The sandbox definition the hub starts for a connection with `sandbox: true` (and `npm start`). */
import type { SandboxDefinition } from 'caseway/core';
import type { EtdSettings } from '../src/settings';
import { EtdSandbox } from './server';

export { EtdSandbox } from './server';
export type { EtdSandboxOptions, ForcedReply, SandboxRequest, StoredApplication } from './server';

export const sandbox: SandboxDefinition = {
  description: 'A local IIZUKA Case Manager: POST /application validated as the spec says, numeric appRefNumbers from 12345.',
  async start({ host, port, log, settings }) {
    const own = settings as EtdSettings;
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
