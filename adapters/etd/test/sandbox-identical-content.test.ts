/**
 * What the sandbox IIZUKA Case Manager does with an application identical to one it already filed. The spec defines
 * no idempotency and no duplicate check, so by default ('file-again') every accepted POST files a new application
 * with a new appRefNumber, and a client posting twice sees two filings. 'same-number' (a sandbox option, not the
 * spec) answers the earlier number and files nothing. The option is reachable from EtdSandbox.start, a method, the
 * HTTP control API and, for `npm start`, the ETD_SANDBOX_IDENTICAL_CONTENT environment variable.
 */
import { tmpdir } from 'node:os';
import { silentLogger } from '../../../src/core/logger';
import { EtdSandbox, sandbox as definition } from '../sandbox';
import type { JsonObject } from '../src/json';
import { edit, postJson, request, validBody } from './support';

/** The same application with its keys in reverse order: identical content, different bytes. */
function reordered(body: JsonObject): JsonObject {
  const flip = (v: unknown): unknown =>
    Array.isArray(v) ? v.map(flip) : v !== null && typeof v === 'object' ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, flip(x)])) : v;
  return flip(body) as JsonObject;
}

async function postTwice(peer: EtdSandbox): Promise<unknown[]> {
  const url = `${peer.url}/application`;
  const first = await postJson(url, validBody());
  const second = await postJson(url, reordered(validBody()));
  expect([first.status, second.status]).toEqual([200, 200]);
  return [first.json, second.json];
}

describe('ETD sandbox: identical content', () => {
  test("default 'file-again': the same application posted twice is filed twice, under two appRefNumbers", async () => {
    const peer = await EtdSandbox.start({ apiKey: null });
    try {
      expect(peer.identicalContent).toBe('file-again');
      expect(await postTwice(peer)).toEqual([{ appRefNumber: '12345' }, { appRefNumber: '12346' }]);
      const filed = peer.applications();
      expect(filed.map((a) => a.appRefNumber)).toEqual(['12345', '12346']);
      expect(filed[1].etdApp).toEqual(filed[0].etdApp);
    } finally {
      await peer.stop();
    }
  });

  test("'same-number': the same application (any key order) gets its earlier number and is filed once; other content is filed", async () => {
    const peer = await EtdSandbox.start({ apiKey: null, identicalContent: 'same-number' });
    try {
      expect(await postTwice(peer)).toEqual([{ appRefNumber: '12345' }, { appRefNumber: '12345' }]);
      const other = edit(validBody(), 'etdApp.journeyDetails.travelPurpose', 'Work');
      expect((await postJson(`${peer.url}/application`, other)).json).toEqual({ appRefNumber: '12346' });
      expect(peer.applications().map((a) => a.appRefNumber)).toEqual(['12345', '12346']);
    } finally {
      await peer.stop();
    }
  });

  test('switched at run time, by method or over HTTP (/_sandbox/options); reset() keeps the setting', async () => {
    const peer = await EtdSandbox.start({ apiKey: null });
    try {
      const options = `${peer.url}/_sandbox/options`;
      expect((await request(options, { method: 'GET' })).json).toEqual({ identicalContent: 'file-again' });
      const set = await postJson(options, { identicalContent: 'same-number' });
      expect([set.status, set.json]).toEqual([200, { identicalContent: 'same-number' }]);
      expect(peer.identicalContent).toBe('same-number');
      const wrong = await postJson(options, { identicalContent: 'merge' });
      expect(wrong.status).toBe(400);
      expect(peer.identicalContent).toBe('same-number');

      peer.reset();
      expect(peer.identicalContent).toBe('same-number');
      expect(await postTwice(peer)).toEqual([{ appRefNumber: '12345' }, { appRefNumber: '12345' }]);
      // Back to the default: the next identical POST is a new filing; 'same-number' later again answers the first number.
      peer.setIdenticalContent('file-again');
      expect((await postJson(`${peer.url}/application`, validBody())).json).toEqual({ appRefNumber: '12346' });
      peer.setIdenticalContent('same-number');
      expect((await postJson(`${peer.url}/application`, validBody())).json).toEqual({ appRefNumber: '12345' });
      expect(peer.applications()).toHaveLength(2);
    } finally {
      await peer.stop();
    }
  });

  test('the SandboxDefinition (npm start) files again by default and takes ETD_SANDBOX_IDENTICAL_CONTENT', async () => {
    const saved = process.env.ETD_SANDBOX_IDENTICAL_CONTENT;
    const start = () => definition.start({ host: '127.0.0.1', log: silentLogger(), settings: { apiKey: 'etd-key-0123456789' }, workDir: tmpdir() });
    const headers = { 'X-API-Key': 'etd-key-0123456789' };
    try {
      delete process.env.ETD_SANDBOX_IDENTICAL_CONTENT;
      const plain = await start();
      try {
        const url = `${plain.urls.api}/application`;
        const twice = [(await postJson(url, validBody(), headers)).json, (await postJson(url, validBody(), headers)).json];
        expect(twice).toEqual([{ appRefNumber: '12345' }, { appRefNumber: '12346' }]);
      } finally {
        await plain.stop();
      }

      process.env.ETD_SANDBOX_IDENTICAL_CONTENT = 'same-number';
      const merging = await start();
      try {
        const url = `${merging.urls.api}/application`;
        const twice = [(await postJson(url, validBody(), headers)).json, (await postJson(url, validBody(), headers)).json];
        expect(twice).toEqual([{ appRefNumber: '12345' }, { appRefNumber: '12345' }]);
        expect((await request(`${merging.urls.api}/_sandbox/applications`, { method: 'GET' })).json).toHaveLength(1);
      } finally {
        await merging.stop();
      }

      process.env.ETD_SANDBOX_IDENTICAL_CONTENT = 'sometimes';
      await expect(start()).rejects.toThrow(/ETD_SANDBOX_IDENTICAL_CONTENT must be file-again or same-number/);
    } finally {
      if (saved === undefined) delete process.env.ETD_SANDBOX_IDENTICAL_CONTENT;
      else process.env.ETD_SANDBOX_IDENTICAL_CONTENT = saved;
    }
  });
});
