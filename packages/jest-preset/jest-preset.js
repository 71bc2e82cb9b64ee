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
  testTimeout: 20000,
};
