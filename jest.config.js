/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }] },
  // The demo's files (examples/demo/) import the package by name, as users do.
  moduleNameMapper: { '^mixprec$': '<rootDir>/lib' },
  setupFiles: ['<rootDir>/test/setup.ts'],
  // Native tests share one addon instance per process; run files one at a time.
  maxWorkers: 1,
  testTimeout: 120000,
  slowTestThreshold: 30,
  // The default reporter, and one for progress in long files and why tests were skipped.
  reporters: ['default', '<rootDir>/test/reporters/summary.js'],
};
