/** A run's Git line: the commit, and by name the tracked files that differ from it (the figures are of that code). */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gitHead } from '../../bench/lib/harness';

let dir: string;
const git = (...args: string[]): string => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.org', ...args], { cwd: dir, encoding: 'utf8' });

beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'caseway-gitline-'));
  git('init', '-q');
  for (const f of ['a.md', 'b.md', 'c.md', 'd.md', 'e.md', 'f.md', 'g.md']) writeFileSync(path.join(dir, f), 'one\n');
  git('add', '.');
  git('commit', '-q', '-m', 'first commit');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

test('a clean checkout is the commit alone', () => {
  expect(gitHead(dir)).toMatch(/^[0-9a-f]{7,} first commit$/);
});

test('a changed tracked file is named; an untracked one is not', () => {
  writeFileSync(path.join(dir, 'b.md'), 'two\n');
  writeFileSync(path.join(dir, 'new.md'), 'untracked\n');
  expect(gitHead(dir)).toMatch(/^[0-9a-f]{7,} first commit \(with uncommitted changes: b\.md\)$/);
});

test('past five changed files, the rest are counted', () => {
  for (const f of ['a.md', 'b.md', 'c.md', 'd.md', 'e.md', 'f.md', 'g.md']) writeFileSync(path.join(dir, f), 'two\n');
  expect(gitHead(dir)).toMatch(/\(with uncommitted changes: a\.md, b\.md, c\.md, d\.md, e\.md and 2 more\)$/);
});
