/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  moduleNameMapper: {
    '^weapp-auth-server$': '<rootDir>/src/index.ts',
    '^weapp-auth-server/fastify$': '<rootDir>/src/fastify.ts',
    '^weapp-auth-server/testing$': '<rootDir>/src/testing/index.ts',
  },
  testTimeout: 30000,
}
