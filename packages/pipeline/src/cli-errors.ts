/** A bad flag or a missing value: the CLI prints the message and exits 2, without a stack trace. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}
