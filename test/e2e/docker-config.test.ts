/**
 * The container deployment: config/docker.yaml validates with only its environment variables set (real peers, no
 * sandbox); docker-compose.yml mounts it, passes every variable it needs, requires the API token and the data key,
 * restarts, and binds to 127.0.0.1 unless told otherwise; the Dockerfile installs exactly the lock on a pinned
 * Node 24 image. `docker compose config` runs where the Docker CLI has the compose plugin.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { HUB_NODE_FLAGS } from '../../src/cli/node-flags';
import { CLI } from '../helpers/cli';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

/** Dummy values that satisfy each setting's schema (formats, lengths), for every variable config/docker.yaml needs. */
const DUMMY: Record<string, string> = {
  CASEWAY_DATA_KEY: Buffer.alloc(32, 9).toString('base64'),
  OPS_OPERATOR_HASH: 'scrypt:1024:8:1:AAAAAAAAAAAAAAAAAAAAAA:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  OPS_VIEWER_HASH: 'scrypt:1024:8:1:BBBBBBBBBBBBBBBBBBBBBB:BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB',
  ETD_FORM_API_KEY: 'dummy-form-key-0123456789',
  IIZUKA_BASE_URL: 'https://iizuka.example',
  IIZUKA_API_KEY: 'dummy-iizuka-key',
  ICASEWORK_ACCOUNT: 'acme',
  ICASEWORK_KEY: 'dummy-key',
  ICASEWORK_SECRET: 'dummy-secret',
  P121_BASE_URL: 'https://121.example',
  P121_USERNAME: 'caseway@example.org',
  P121_PASSWORD: 'dummy-password',
  ISUPPORT_SFTP_HOST: 'sftp.example',
  ISUPPORT_SFTP_USERNAME: 'caseway',
  ISUPPORT_SFTP_PASSWORD: 'dummy-password',
  ISUPPORT_SFTP_HOST_KEY_SHA256: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
  ISUPPORT_API_URL: 'http://isupport.example:9091',
  ISUPPORT_SMTP_HOST: 'smtp.example',
  ISUPPORT_MAIL_FROM: 'isupport@example.org',
  ISUPPORT_MAIL_TO: 'caseway@example.org',
  ISUPPORT_SUPPORT_EMAIL: 'support@example.org',
};

/** The ${VAR} (required) and ${VAR:-default} (optional) placeholders of a text. */
function placeholders(text: string): { required: string[]; optional: string[] } {
  const all = [...text.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:-[^}]*)?\}/g)];
  return { required: [...new Set(all.filter((m) => !m[2]).map((m) => m[1]))].sort(), optional: [...new Set(all.filter((m) => m[2]).map((m) => m[1]))].sort() };
}

function validate(env: Record<string, string>) {
  const clean: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !(k in DUMMY) && !k.startsWith('CASEWAY_')));
  return spawnSync(process.execPath, [CLI, 'validate', 'config/docker.yaml'], { cwd: ROOT, env: { ...clean, ...env }, encoding: 'utf8', timeout: 30000 });
}

describe('config/docker.yaml', () => {
  const text = read('config/docker.yaml');

  it('uses no sandbox, and the test knows a dummy for every variable it needs', () => {
    expect(Object.values((parse(text) as { connections: Record<string, { sandbox?: boolean }> }).connections).some((c) => c.sandbox)).toBe(false);
    expect(placeholders(text).required).toEqual(Object.keys(DUMMY).sort());
  });

  it('is valid with its variables set', () => {
    const out = validate(DUMMY);
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe('config/docker.yaml: valid (5 connections, 5 routes)');
  });

  it('names each missing variable and the path that needs it', () => {
    const { ICASEWORK_SECRET: _gone, ...rest } = DUMMY;
    const out = validate(rest);
    expect(out.status).toBe(2);
    expect(out.stderr).toContain('config/docker.yaml: /connections/icasework/settings/secret: environment variable ICASEWORK_SECRET is not set');
  });
});

describe('docker-compose.yml', () => {
  interface Service { command?: string[]; environment?: Record<string, string>; volumes?: Array<{ type: string; source: string; target: string; read_only?: boolean } | string>; ports?: string[]; restart?: string }
  const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service> };
  const hub = ['api', 'worker'].map((name) => [name, compose.services[name]] as const);

  it('mounts config/docker.yaml read-only and points CASEWAY_CONFIG at it, without sandbox peers', () => {
    for (const [name, svc] of hub) {
      expect([name, svc.volumes]).toEqual([name, [{ type: 'bind', source: './config/docker.yaml', target: '/app/config/docker.yaml', read_only: true }]]);
      expect(svc.environment?.CASEWAY_CONFIG).toBe('/app/config/docker.yaml');
      expect(svc.environment?.CASEWAY_SANDBOX).toBe('false');
    }
  });

  it('requires the API token and the data key, and passes every variable the config needs', () => {
    const needed = placeholders(read('config/docker.yaml'));
    for (const [name, svc] of hub) {
      const env = svc.environment ?? {};
      expect([name, env.CASEWAY_API_TOKEN]).toEqual([name, expect.stringMatching(/^\$\{CASEWAY_API_TOKEN:\?.+\}$/)]);
      expect(env.CASEWAY_DATA_KEY).toMatch(/^\$\{CASEWAY_DATA_KEY:\?.+\}$/);
      for (const v of needed.required) expect([name, v, env[v]]).toEqual([name, v, expect.stringMatching(new RegExp(`^\\$\\{${v}:\\?.+\\}$`))]);
      for (const v of needed.optional) expect([name, v, env[v]]).toEqual([name, v, expect.stringMatching(new RegExp(`^\\$\\{${v}(:-.*)?\\}$`))]);
    }
  });

  it('restarts every service unless stopped, and binds published ports to 127.0.0.1 by default', () => {
    for (const [name, svc] of Object.entries(compose.services)) expect([name, svc.restart]).toEqual([name, 'unless-stopped']);
    const ports = Object.values(compose.services).flatMap((s) => s.ports ?? []);
    expect(ports.length).toBeGreaterThan(0);
    for (const p of ports) expect(p).toMatch(/^\$\{CASEWAY_BIND:-127\.0\.0\.1\}:/);
  });

  const composeCli = spawnSync('docker', ['compose', 'version'], { encoding: 'utf8' });
  (composeCli.status === 0 ? it : it.skip)('passes `docker compose config` (where the compose plugin exists)', () => {
    const ok = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], { cwd: ROOT, env: { ...process.env, ...DUMMY, CASEWAY_API_TOKEN: 'dummy-token' }, encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    const noToken = spawnSync('docker', ['compose', '-f', 'docker-compose.yml', 'config', '--quiet'], { cwd: ROOT, env: { ...process.env, ...DUMMY, CASEWAY_API_TOKEN: '' }, encoding: 'utf8' });
    expect(noToken.status).not.toBe(0);
    expect(noToken.stderr).toContain('CASEWAY_API_TOKEN');
  });
});

describe('Dockerfile', () => {
  const lines = read('Dockerfile').split('\n');
  it('starts the hub with the hub\'s V8 flags, as npm start does (src/cli/node-flags.ts)', () => {
    const entrypoint = JSON.parse(lines.find((l) => l.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
    expect(entrypoint).toEqual(['node', ...HUB_NODE_FLAGS, 'dist/src/cli/main.js']);
    const start = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts.start;
    expect(start).toBe(`exec bash scripts/node24.sh node ${HUB_NODE_FLAGS.join(' ')} dist/src/cli/main.js start`);
  });
  it('builds and runs on a pinned Node 24 LTS minor and installs exactly the lock', () => {
    const from = lines.filter((l) => l.startsWith('FROM '));
    expect(from).toHaveLength(2);
    for (const l of from) expect(l).toMatch(/^FROM node:24\.\d+(\.\d+)?-bookworm-slim AS (build|runtime)$/);
    const installs = lines.filter((l) => l.startsWith('RUN ') && /\bnpm (ci|install|i)\b/.test(l));
    expect(installs).toHaveLength(2);
    expect(installs[0]).toMatch(/^RUN npm ci\b(?!.*--omit=dev)/);
    expect(installs[1]).toMatch(/^RUN npm ci --omit=dev\b/);
  });
});
