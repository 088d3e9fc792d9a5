/** Tests talk to real Redis and real loopback peers; they run one file per worker to keep ports and keys apart. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/adapters'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  // A safety net for tests that wait on real processes: 30 s was exceeded under full CPU load (stress-ng --cpu 2).
  testTimeout: 90000,
  // Three: most files wait on processes, peers and Redis rather than compute, and on a busy 2-core machine a third
  // worker keeps the run's share of the CPU up (measured: see the commit).
  maxWorkers: 3,
  testSequencer: '<rootDir>/test/slow-first-sequencer.js',
  // Jest gives a worker 500 ms to exit once the run is over, then kills it and reports it as force-exited: a
  // wall-clock deadline. Under stress-ng --cpu 2 it was missed in 3 of 5 green runs on 2026-11-30; in the two logged
  // with test/helpers/open-handles.ts, what a file left open (a socket, a timer) was gone before the file after the
  // next began, and a worker's last file was still closing its Redis socket as it ended. What a worker waits for then is finite (a socket's
  // close; ioredis's 2 s timer on disconnect(), never cleared on a connection already closed, ioredis#1247); a leak
  // that never ends still shows, 5 s later.
  workerGracefulExitTimeout: 5000,
  // Does nothing unless CASEWAY_TEST_HANDLES names a folder (see the file).
  setupFilesAfterEnv: ['<rootDir>/test/helpers/open-handles.ts'],
  // The public core API, as adapters import it (tsconfig.json `paths`; package.json `exports` for built code).
  moduleNameMapper: { '^caseway/core$': '<rootDir>/src/core/index.ts' },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};
