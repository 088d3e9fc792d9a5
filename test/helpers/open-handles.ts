/**
 * Opt-in diagnostic (CASEWAY_TEST_HANDLES=<folder>): at the start and end of every test file, each Jest worker
 * appends to <folder>/<pid>.log the kinds of resources keeping its event loop alive (process.getActiveResourcesInfo).
 * A kind that stays at the start of every later file in that worker is what a file left behind, and what is left
 * 300 ms, 1 s and 3 s after a worker's last file is what keeps it from exiting: the cause of Jest's "A worker process
 * has failed to exit gracefully and has been force exited" when it outlasts workerGracefulExitTimeout.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const folder = process.env.CASEWAY_TEST_HANDLES;

function summary(): string {
  const counts = new Map<string, number>();
  for (const kind of process.getActiveResourcesInfo()) counts.set(kind, (counts.get(kind) ?? 0) + 1);
  return [...counts].map(([kind, n]) => `${kind}×${n}`).join(' ');
}

if (folder) {
  mkdirSync(folder, { recursive: true });
  const note = (what: string) => appendFileSync(path.join(folder, `${process.pid}.log`), `${new Date().toISOString()} ${what} ${path.relative(process.cwd(), expect.getState().testPath ?? '?')}: ${summary()}\n`);
  beforeAll(() => note('start'));
  afterAll(() => {
    note("end (before the file's own teardown)");
    // After the file's teardown: in a worker's last file, what is left when Jest asks it to exit. Unref'd, so
    // these timers never keep the worker alive themselves.
    for (const ms of [300, 1000, 3000]) setTimeout(() => note(`${ms} ms after end`), ms).unref();
  });
}
