// `npm test`: the unit suite (supertest against createApp, the compiled server as a process). The other kinds
// under test/ (reliability, browser, bench) have their own configs and scripts and never run here.
/** @type {import('jest').Config} */
module.exports = { preset: '@slipway/jest-preset', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] };
