// `npm test`: test/unit (PGlite, the compiled server as a process) and test/integration (a private Postgres 15;
// `npm run test:integration` runs that folder alone). test/bench is `npm run bench`, never a test.
/** @type {import('jest').Config} */
module.exports = {
  preset: '@slipway/jest-preset',
  testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/test/integration/**/*.test.ts'],
};
