export { main, exitCodeFor } from './cli';
export { CliUsageError } from './command-line/flags';
