/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/test/tsconfig.json'}] },
  moduleNameMapper: {
    '^weapp-auth$': '<rootDir>/src/index.ts',
    '^weapp-auth/testing$': '<rootDir>/src/testing/index.ts',
    '^weapp-auth/core$': '<rootDir>/src/core.ts',
    '^weapp-auth/platforms$': '<rootDir>/src/platforms/index.ts',
    '^weapp-auth/open$': '<rootDir>/src/open/index.ts',
    '^weapp-auth/components$': '<rootDir>/src/components/index.ts',
    '^weapp-auth/storage$': '<rootDir>/src/storage/index.ts',
    '^weapp-auth/jwt$': '<rootDir>/src/jwt/index.ts',
    // jsdom tests that start the example server would otherwise get jose's browser build.
    '^jose$': '<rootDir>/node_modules/jose/dist/node/cjs/index.js',
  },
  setupFiles: ['<rootDir>/test/helpers/node-globals.js'],
  testTimeout: 20000,
}
