/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json'}] },
  moduleNameMapper: {
    '^weapp-auth$': '<rootDir>/src/index.ts',
    '^weapp-auth/testing$': '<rootDir>/src/testing/index.ts',
  },
  testTimeout: 20000,
}
