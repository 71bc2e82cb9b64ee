import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A bad flag or a missing value: the CLI prints the message and exits 2, without a stack trace. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/** node:util's parseArgs, with its complaints (unknown flag, missing value) turned into usage errors. */
export function parseFlags<T extends ParseArgsConfig>(
  config: T,
  usage: string,
): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config);
  } catch (error) {
    throw new CliUsageError(`${(error as Error).message}\n\n${usage}`);
  }
}
