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
  // The public core API, as adapters import it (tsconfig.json `paths`; package.json `exports` for built code).
  moduleNameMapper: { '^caseway/core$': '<rootDir>/src/core/index.ts' },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};
