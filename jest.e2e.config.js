/** Browser tests: headless Chromium (Debian's, or CHROMIUM_PATH) driven by playwright-core. */
const base = require('./jest.config.js');
module.exports = { ...base, testMatch: ['**/*.e2e.ts'], roots: ['<rootDir>/test/e2e'], maxWorkers: 1, testTimeout: 120000 };
