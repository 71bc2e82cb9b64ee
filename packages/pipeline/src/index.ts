export { main } from './cli';
export { CliUsageError } from './cli-errors';
