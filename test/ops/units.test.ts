/** Small pieces of the ops layer on their own: password hashes, masking, circuit derivation, config checks. */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { parseConfig } from '../../src/core/config/load';
import { ConfigErrors } from '../../src/core/errors';
import type { CanonicalCase } from '../../src/core/model/canonical.generated';
import { AdapterRegistry, BUILTIN_ADAPTER_DIR } from '../../src/core/registry';
import { safeNext } from '../../src/ops/auth';
import { deriveCircuit } from '../../src/ops/circuit';
import { html } from '../../src/ops/html';
import { MASK, maskCase, maskJson, personalValues } from '../../src/ops/masking';
import { OPERATOR_UI_EDITS, operatorUiChunks } from '../../src/ops/queue-board';
import { hashPassword, isPasswordHash, passwordHashFromStream, verifyPassword } from '../../src/ops/password';
import { FIXTURE_ADAPTER_DIR } from '../helpers/hub';

describe('password hashes', () => {
  it('verifies the right password only, and carries its parameters', async () => {
    const hash = await hashPassword('correct horse battery', { N: 1024 });
    expect(hash).toMatch(/^scrypt:1024:8:1:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$/);
    expect(isPasswordHash(hash)).toBe(true);
    await expect(verifyPassword('correct horse battery', hash)).resolves.toBe(true);
    await expect(verifyPassword('correct horse batterY', hash)).resolves.toBe(false);
    const again = await hashPassword('correct horse battery', { N: 1024 });
    expect(again).not.toBe(hash);
  });

  it('uses strong defaults and refuses short passwords', async () => {
    expect(await hashPassword('a-longer-password')).toMatch(/^scrypt:32768:8:1:/);
    await expect(hashPassword('short')).rejects.toThrow('at least 8 characters');
  });

  it('treats malformed or tampered hashes as a mismatch, never a crash', async () => {
    const hash = await hashPassword('correct horse battery', { N: 1024 });
    const parts = hash.split(':');
    await expect(verifyPassword('correct horse battery', [...parts.slice(0, 5), `${parts[5].slice(0, -2)}AA`].join(':'))).resolves.toBe(false);
    await expect(verifyPassword('x', 'not a hash')).resolves.toBe(false);
    await expect(verifyPassword('x', 'scrypt:1000:8:1:abc:def')).resolves.toBe(false);
    await expect(verifyPassword('x', `scrypt:${2 ** 24}:8:1:${parts[4]}:${parts[5]}`)).resolves.toBe(false);
  });

  it('hashes the first line of a stream (for a CLI prompt or a pipe)', async () => {
    const hash = await passwordHashFromStream(Readable.from(['piped-password\n', 'ignored\n']));
    await expect(verifyPassword('piped-password', hash)).resolves.toBe(true);
  });
});

const KASE: CanonicalCase = {
  type: 'etd-application',
  status: 'submitted',
  title: 'Application of Ada Lovelace',
  source: { system: 'etd', id: 'APP-1' },
  references: [{ system: 'etd', id: 'APP-1', kind: 'appRefNumber' }],
  parties: [
    {
      roles: ['applicant'],
      person: { forenames: 'Ada', surname: 'Lovelace', birthDate: '1815-12-10', birthPlace: { city: 'London', country: 'GB' }, nationality: 'GB', identityDocuments: [{ type: 'passport', number: 'X1234567', issuingCountry: 'GB' }] },
      addresses: [{ kind: 'residential', lines: ['12 St James Square'], town: 'London', postcode: 'SW1Y 4JH', country: 'GB' }],
      contacts: [{ kind: 'email', value: 'ada@example.org' }],
    },
  ],
  notes: [{ text: 'Called Ada about her passport X1234567' }],
  extensions: { etd: { motherMaidenName: 'Milbanke', caseOfficer: 'desk-7', homePhoneNumber: '020 7946 0000' } },
};

describe('masking for viewers', () => {
  it('masks names, birth data, document numbers, contacts, addresses and free text of a canonical case', () => {
    const masked = maskCase(KASE);
    const text = JSON.stringify(masked);
    for (const v of ['Ada', 'Lovelace', '1815-12-10', 'London', 'X1234567', '12 St James Square', 'SW1Y 4JH', 'ada@example.org', 'Milbanke', '020 7946 0000']) expect(text).not.toContain(v);
    // What is not personal stays readable, and the shape is kept.
    expect(masked).toMatchObject({ type: 'etd-application', status: 'submitted', references: [{ id: 'APP-1' }], parties: [{ roles: ['applicant'], addresses: [{ kind: 'residential', country: 'GB' }], contacts: [{ kind: 'email', value: MASK }] }], extensions: { etd: { caseOfficer: 'desk-7' } } });
    expect(masked.parties[0].person?.identityDocuments?.[0]).toMatchObject({ number: MASK });
    expect(KASE.parties[0].person?.surname).toBe('Lovelace');
  });

  it('masks a peer request body by key name and by the case values wherever they appear', () => {
    const body = { Applicant: { GivenName: 'Ada', FamilyName: 'Lovelace' }, Remarks: 'born 1815-12-10 in London', ref: 'APP-1', DocNo: 'X1234567', items: [{ code: 'A' }] };
    const masked = maskJson(body, personalValues(KASE)) as typeof body;
    expect(JSON.stringify(masked)).not.toMatch(/Ada|Lovelace|1815-12-10|London|X1234567/);
    expect(masked.ref).toBe('APP-1');
    expect(masked.items).toEqual([{ code: 'A' }]);
  });
});

describe('circuit state', () => {
  const settings = { failureThreshold: 3, coolDownMs: 60_000 };
  const now = 1_000_000_000;
  const at = (secondsAgo: number, ok: boolean) => ({ ok, at: now - secondsAgo * 1000 });

  it('is closed while failures in a row stay below the threshold', () => {
    expect(deriveCircuit([at(1, false), at(2, false), at(3, true), at(4, false)], settings, now)).toMatchObject({ state: 'closed', consecutiveFailures: 2 });
    expect(deriveCircuit([], settings, now)).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });
  it('opens at the threshold and shows half-open after the cool-down', () => {
    const three = [at(10, false), at(20, false), at(30, false), at(40, true)];
    expect(deriveCircuit(three, settings, now)).toMatchObject({ state: 'open', consecutiveFailures: 3, lastSuccessAt: new Date(now - 40000).toISOString() });
    expect(deriveCircuit(three.map((o) => ({ ...o, at: o.at - 120_000 })), settings, now)).toMatchObject({ state: 'half-open' });
  });
});

describe('small helpers', () => {
  it('escapes everything interpolated into a page', () => {
    expect(html`<p title="${'"><script>'}">${'<b>&'}</p>`.value).toBe('<p title="&quot;&gt;&lt;script&gt;">&lt;b&gt;&amp;</p>');
  });
  it('only returns to console pages after sign-in', () => {
    expect(safeNext('/ops/cases/abc?x=1')).toBe('/ops/cases/abc?x=1');
    for (const bad of ['https://evil.example/ops', '//evil.example/ops', '/opsx', '/ops\\evil', undefined, 42]) expect(safeNext(bad)).toBe('/ops');
  });
});

describe('ops config', () => {
  const registry = AdapterRegistry.discover([BUILTIN_ADAPTER_DIR, FIXTURE_ADAPTER_DIR]);
  const base = `
connections:
  a: { adapter: recorder }
routes:
  - { name: r, from: { connection: a, source: inbox }, to: [{ connection: a, action: record }] }
`;
  const errorsOf = (yaml: string) => {
    try {
      parseConfig(yaml, 'ops.yaml', registry, {});
      return [];
    } catch (err) {
      return (err as ConfigErrors).errors.map((e) => e.message);
    }
  };

  it('accepts users with roles and hashes, and proxy mode without hashes', () => {
    expect(errorsOf(`ops:\n  users: [{ name: ann, role: operator, passwordHash: "scrypt:1024:8:1:abc:def" }]\n${base}`)).toEqual([]);
    expect(errorsOf(`ops:\n  auth: proxy\n  proxy: { userHeader: X-Auth-User, trustedProxies: [10.0.0.5] }\n  users: [{ name: ann, role: viewer }]\n${base}`)).toEqual([]);
  });

  it('names each mistake: a missing hash in login mode, an unknown role, a plain password', () => {
    expect(errorsOf(`ops:\n  users: [{ name: ann, role: operator }]\n${base}`)).toEqual(['ops.yaml: /ops/users/0/passwordHash: is required']);
    expect(errorsOf(`ops:\n  users: [{ name: ann, role: admin, passwordHash: "scrypt:1024:8:1:abc:def" }]\n${base}`)).toEqual(['ops.yaml: /ops/users/0/role: must be one of: viewer, operator']);
    expect(errorsOf(`ops:\n  users: [{ name: ann, role: viewer, passwordHash: hunter2 }]\n${base}`)).toEqual(['ops.yaml: /ops/users/0/passwordHash: must match pattern "^scrypt:[0-9]+:[0-9]+:[0-9]+:[A-Za-z0-9_-]+:[A-Za-z0-9_-]+$"']);
    expect(errorsOf(`ops:\n  password: x\n${base}`)).toEqual(['ops.yaml: /ops/password: is not a known property']);
  });
});

describe("the operator's queue dashboard UI", () => {
  it('takes every control but Retry out of the pinned bull-board UI, each edit found exactly once', () => {
    const ui = operatorUiChunks();
    if (!('chunks' in ui)) throw new Error(ui.problem);
    const all = [...ui.chunks.values()].join('\n');
    for (const edit of OPERATOR_UI_EDITS) {
      expect([edit.why, all.includes(edit.find)]).toEqual([edit.why, false]);
      expect([edit.why, all.includes(edit.replace)]).toEqual([edit.why, true]);
    }
  });

  it('says why when the UI code is not the one the edits were written for (operators then get the read-only board)', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'bull-board-ui-'));
    try {
      mkdirSync(path.join(dir, 'dist/static/js/async'), { recursive: true });
      writeFileSync(path.join(dir, 'dist/static/js/async/572.0000.js'), 'ed={[n.f.failed]:[ec.retry,ec.clean]}');
      const ui = operatorUiChunks(dir);
      expect('problem' in ui && ui.problem).toMatch(/572\.0000\.js: the code to edit \(job card: .*\) is not there exactly once/);
      rmSync(path.join(dir, 'dist/static/js/async/572.0000.js'));
      expect('problem' in operatorUiChunks(dir) && (operatorUiChunks(dir) as { problem: string }).problem).toMatch(/no bull-board UI chunk 572\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
