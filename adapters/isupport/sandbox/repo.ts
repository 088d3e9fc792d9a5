/** The repository folder (the one holding config/samples), found from this file whether it runs from the sources or dist/. */
import { existsSync } from 'node:fs';
import path from 'node:path';

export function repoRoot(): string {
  for (let dir = __dirname; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'config', 'samples'))) return dir;
    if (path.dirname(dir) === dir) return process.cwd();
  }
}
