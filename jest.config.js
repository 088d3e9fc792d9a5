/** Tests talk to real Redis and real loopback peers; they run one file per worker to keep ports and keys apart. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/adapters'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 30000,
  maxWorkers: 2,
  // The public core API, as adapters import it (tsconfig.json `paths`; package.json `exports` for built code).
  moduleNameMapper: { '^caseway/core$': '<rootDir>/src/core/index.ts' },
  modulePathIgnorePatterns: ['<rootDir>/dist/'],
};
