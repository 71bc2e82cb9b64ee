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
  // A run can never hang. Every test and hook is bounded by testTimeout; when the tests are done, a handle
  // a test leaked (a listening server, a child process's pipe, a timer) cannot keep Jest alive: forceExit
  // ends it, and Jest still prints "Force exiting Jest" so the leak gets noticed and fixed. Tests that spawn
  // processes or open ports close them in `finally`/`afterEach` as well; `--detectOpenHandles` names the
  // culprit when hunting one.
  testTimeout: 20000,
  forceExit: true,
};
