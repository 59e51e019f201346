/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    // Type checking is `npm run typecheck`'s job; transpiling alone keeps jest fast.
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
  },
  testTimeout: 60_000,
  // Integration suites each start their own Azurite and servers. Much of their time is spent waiting
  // (leases that must lapse, a purge held slow on purpose), so three at a time fit on two cores.
  maxWorkers: process.env.JEST_MAX_WORKERS ?? 3,
};
