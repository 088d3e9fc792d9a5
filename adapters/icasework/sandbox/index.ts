/**
 * The SandboxDefinition the hub starts for `npm start`: one sandbox iCasework whose key accepts loopback callers.
 * The connection's own key/secret/account are honoured when set, so a config written for the sandbox just works.
 */
import type { SandboxDefinition, SandboxHandle, SandboxOptions } from 'caseway/core';
import { DEFAULT_SANDBOX_CASE_TYPES, IcaseworkSandbox, type DocumentFetchOptions } from './server';

export { IcaseworkSandbox, startIcaseworkSandbox, SANDBOX_ERRORS, DEFAULT_REPORT_ID, DEFAULT_SANDBOX_CASE_TYPES, DEFAULT_DOCUMENT_FETCH } from './server';
export type { IcaseworkSandboxOptions, SandboxKey, SandboxReport, Fault, RecordedRequest, DocumentFetch, DocumentFetchOptions } from './server';
export type { SandboxCase, SandboxCustomer, SandboxNote } from './store';

function usable(v: unknown): v is string {
  return typeof v === 'string' && v !== '' && !v.includes('${');
}

/**
 * For `npm start`: ICASEWORK_SANDBOX_DOCUMENT_FETCH=load-content|always|never and
 * ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE=accept|refuse (unset or empty: the defaults; anything else is refused).
 */
export function documentFetchFromEnv(env: NodeJS.ProcessEnv): DocumentFetchOptions {
  const out: DocumentFetchOptions = {};
  const when = env.ICASEWORK_SANDBOX_DOCUMENT_FETCH;
  if (when === 'load-content' || when === 'always' || when === 'never') out.when = when;
  else if (when) throw new Error(`ICASEWORK_SANDBOX_DOCUMENT_FETCH must be load-content, always or never, not "${when}"`);
  const onFailure = env.ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE;
  if (onFailure === 'accept' || onFailure === 'refuse') out.onFailure = onFailure;
  else if (onFailure) throw new Error(`ICASEWORK_SANDBOX_DOCUMENT_FETCH_FAILURE must be accept or refuse, not "${onFailure}"`);
  return out;
}

export const sandbox: SandboxDefinition = {
  description: 'Sandbox iCasework: signed REST calls, OAuth2 token, cases, notes, customers, a reports host with report CASEWAY-ALL.',
  async start(options: SandboxOptions): Promise<SandboxHandle> {
    const s = options.settings;
    const key = usable(s.key) ? s.key : 'caseway-sandbox-key';
    const secret = usable(s.secret) ? s.secret : 'caseway-sandbox-secret';
    const documentFetch = documentFetchFromEnv(process.env);
    const extraTypes = (process.env.ICASEWORK_SANDBOX_CASE_TYPES ?? '').split(',').map((t) => t.trim()).filter((t) => t);
    const server = new IcaseworkSandbox({
      host: options.host,
      port: options.port,
      reportsPort: options.port ? options.port + 1 : 0,
      account: usable(s.account) ? s.account : 'caseway',
      keys: [{ key, secret, allowedIps: ['127.0.0.1', '::1'] }],
      caseTypes: extraTypes.includes('*') ? '*' : [...DEFAULT_SANDBOX_CASE_TYPES, ...extraTypes],
      documentFetch,
      log: options.log,
    });
    await server.start();
    options.log.info({ api: server.apiUrl, reports: server.reportsUrl }, 'icasework sandbox listening');
    const authMode = s.authMode === 'oauth2' ? 'oauth2' : 'signature';
    return {
      urls: { api: server.apiUrl, reports: server.reportsUrl },
      settings: server.connectionSettings({ authMode }),
      stop: () => server.stop(),
    };
  },
};
