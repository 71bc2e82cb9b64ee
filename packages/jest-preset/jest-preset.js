// GitLab reads JUnit XML (artifacts:reports:junit) and Cobertura (coverage_report),
// and the `coverage:` regex in ci-templates/test.yml matches the text-summary "Lines" row.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json' }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  collectCoverageFrom: ['<rootDir>/src/**/*.ts'],
  coverageDirectory: '<rootDir>/coverage',
  coverageReporters: ['text-summary', 'cobertura', 'lcov'],
  reporters: [
    'default',
    [
      'jest-junit',
      { outputDirectory: '<rootDir>/reports', outputName: 'junit.xml', addFileAttribute: 'true' },
    ],
  ],
  // A run can never hang: every test and hook is bounded by testTimeout, and after the last test a leaked
  // handle can hold Jest for 10 s at most (exit-watchdog.js says so and exits). Tests that spawn processes
  // or open ports close them in `finally`/`afterEach` as well; `--detectOpenHandles` names a culprit.
  testTimeout: 20000,
  globalTeardown: require.resolve('./exit-watchdog.js'),
};
