// The real-browser test: Debian's chromium driven by playwright-core against dist/server.js in demo mode.
/** @type {import('jest').Config} */
module.exports = {
  preset: '@slipway/jest-preset',
  testMatch: ['<rootDir>/test/browser/**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 60_000,
  reporters: [
    'default',
    [
      'jest-junit',
      { outputDirectory: '<rootDir>/reports', outputName: 'junit-browser.xml', addFileAttribute: 'true' },
    ],
  ],
};
