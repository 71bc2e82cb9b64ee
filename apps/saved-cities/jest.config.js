/** @type {import('jest').Config} */
module.exports = { preset: '@slipway/jest-preset' };
