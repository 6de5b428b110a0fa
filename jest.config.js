/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
    // openid-client 6 and its dependencies ship ES modules only. Node 20 loads them with require(esm); Jest's own
    // loader cannot (before Node 24.9), so under Jest they are compiled to CommonJS like our TypeScript.
    '^.+/node_modules/(openid-client|oauth4webapi)/.+\\.js$': [
      '@swc/jest',
      { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } },
    ],
  },
  // Everything else in node_modules is left alone (this includes openid-client's own copy of jose 6).
  transformIgnorePatterns: ['^(?!.*/node_modules/(openid-client|oauth4webapi)/).*/node_modules/'],
  globalSetup: '<rootDir>/test/helpers/globalSetup.ts',
  globalTeardown: '<rootDir>/test/helpers/globalTeardown.ts',
  testTimeout: 60000,
  maxWorkers: 2,
};
