/**
 * Every launcher of a hub process passes the same V8 flags (src/cli/node-flags.ts: why they exist): bin/caseway's
 * shebang, `npm start` and `npm run demo`, and the Dockerfile's ENTRYPOINT. The bench and cluster harnesses import
 * the list itself. And the shebang form (`env -S`) really starts the CLI on this machine.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { HUB_NODE_FLAGS } from '../../src/cli/node-flags';

const ROOT = path.resolve(__dirname, '../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');
const flags = HUB_NODE_FLAGS.join(' ');

describe('hub processes start with the V8 flags of src/cli/node-flags.ts', () => {
  it('names at least one flag, each a V8 option', () => {
    expect(HUB_NODE_FLAGS.length).toBeGreaterThan(0);
    for (const f of HUB_NODE_FLAGS) expect(f).toMatch(/^--[a-z-]+=\d+$/);
  });

  it('bin/caseway passes them in its shebang, and the shebang runs', () => {
    expect(read('bin/caseway').split('\n')[0]).toBe(`#!/usr/bin/env -S node ${flags}`);
    const out = spawnSync(path.join(ROOT, 'bin/caseway'), ['--version'], { encoding: 'utf8', timeout: 30000 });
    expect(out.status).toBe(0);
    expect(out.stdout.trim()).toBe(JSON.parse(read('package.json')).version);
  });

  it('npm start and npm run demo pass them before the CLI', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    for (const name of ['start', 'demo']) expect(scripts[name]).toContain(`node ${flags} dist/src/cli/main.js ${name}`);
  });

  it("the Dockerfile's ENTRYPOINT passes them", () => {
    const entry = read('Dockerfile').split('\n').find((l) => l.startsWith('ENTRYPOINT'));
    expect(entry).toBe(`ENTRYPOINT ${JSON.stringify(['node', ...HUB_NODE_FLAGS, 'dist/src/cli/main.js']).replace(/","/g, '", "')}`);
  });

  it("caps V8's young generation, which a long stream otherwise grows past the cap", () => {
    // Objects that survive scavenges (as rows in flight do) make V8 grow the young generation up to its maximum.
    const probe =
      "const v8=require('v8');const a=[];let peak=0;for(let i=0;i<3e6;i++){a.push({i,s:'x'+i});if(a.length>2e4)a.splice(0,1e4);if(i%1e4===0)peak=Math.max(peak,v8.getHeapSpaceStatistics().find(s=>s.space_name==='new_space').space_size)}process.stdout.write(String(peak))";
    const newSpace = (nodeFlags: readonly string[]) => {
      const out = spawnSync(process.execPath, [...nodeFlags, '-e', probe], { encoding: 'utf8', timeout: 120000 });
      expect(out.status).toBe(0);
      return Number(out.stdout);
    };
    // new_space's size is both semi-spaces: twice the flag's megabytes.
    const limit = 2 * Number(/=(\d+)$/.exec(HUB_NODE_FLAGS[0])![1]) * 2 ** 20;
    const capped = newSpace(HUB_NODE_FLAGS);
    expect(capped).toBeGreaterThan(0);
    expect(capped).toBeLessThanOrEqual(limit);
    expect(newSpace([])).toBeGreaterThan(limit);
  });
});
