/** The sandbox definition the hub starts for a connection with `sandbox: true` (and `npm start`). */
import type { SandboxDefinition } from 'caseway/core';
import { WebhookSandbox } from './server';

export { WebhookSandbox, newSecret } from './server';
export type { ForcedReply, ReceivedDelivery, SandboxRequest, SendRequest, WebhookSandboxOptions } from './server';

function firstString(value: unknown): string | undefined {
  return Array.isArray(value) && typeof value[0] === 'string' ? value[0] : undefined;
}

export const sandbox: SandboxDefinition = {
  description: 'Any system: a receiver that verifies Standard Webhooks signatures and counts deliveries by webhook-id, and a sender that signs.',
  async start({ host, port, log, settings }) {
    const inbound = typeof settings.inbound === 'object' && settings.inbound !== null ? (settings.inbound as Record<string, unknown>) : {};
    const server = await WebhookSandbox.start({
      host,
      port,
      log,
      receiverSecret: typeof settings.secret === 'string' && settings.secret ? settings.secret : undefined,
      senderSecret: firstString(inbound.secrets),
    });
    return {
      urls: { api: server.url, receiver: `${server.url}/receive`, control: `${server.url}/_sandbox` },
      settings: server.connectionSettings(),
      stop: () => server.stop(),
    };
  },
};
