// The reliability suite: real processes under load on loopback, so one file at a time, never with `npm test`.
/** @type {import('jest').Config} */
module.exports = {
  preset: '@slipway/jest-preset',
  testMatch: ['<rootDir>/test/reliability/**/*.test.ts'],
  maxWorkers: 1,
  testTimeout: 120_000,
  reporters: [
    'default',
    [
      'jest-junit',
      { outputDirectory: '<rootDir>/reports', outputName: 'junit-reliability.xml', addFileAttribute: 'true' },
    ],
  ],
};
