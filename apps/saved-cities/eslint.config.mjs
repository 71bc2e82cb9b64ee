export { default } from '@slipway/eslint-config';
