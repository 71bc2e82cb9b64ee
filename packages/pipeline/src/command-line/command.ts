// The shape of a `slipway` command. src/cli.ts holds the table of commands, dispatches to them and turns what they
// throw into exit codes; a command parses its flags with parseFlags and writes only through its CommandIo.
import type { CommandIo } from './io';

/** One command: `slipway plan`, or one subcommand such as `slipway gitlab run`. */
export interface Command {
  /** One line, for the list of commands. */
  summary: string;
  /**
   * Runs the command; resolves to the exit code (0 success, 1 failure; a command may document more). A bad flag
   * throws CliUsageError; any other error is a failure the CLI reports in one line (see src/cli.ts).
   */
  run(argv: string[], io: CommandIo): Promise<number>;
}

/** A command made of subcommands, e.g. `slipway gitlab <setup|lint|run|promote>`. */
export interface CommandGroup {
  summary: string;
  subcommands: Record<string, Command>;
  /** Called once before a subcommand runs, e.g. to mask the secrets the whole group handles. */
  prepare?(io: CommandIo): void;
}

export function isCommandGroup(entry: Command | CommandGroup): entry is CommandGroup {
  return 'subcommands' in entry;
}

/** A command's answer to --help: its usage on stdout, exit code 0. */
export function printUsage(io: CommandIo, usage: string): 0 {
  io.stdout.write(`${usage}\n`);
  return 0;
}
