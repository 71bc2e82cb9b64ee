#!/usr/bin/env node
// The `slipway` CLI: the table of commands, the dispatch to them, and the one place where what a command throws
// becomes an exit code. Each command lives in src/commands/ and runs against a CommandIo (command-line/io.ts), so
// tests run it in-process and see what a terminal would.
import type { Command, CommandGroup } from './command-line/command';
import { isCommandGroup } from './command-line/command';
import { CliUsageError } from './command-line/flags';
import { createCommandIo, processStreams, type CommandIo, type CommandStreams } from './command-line/io';
// By its index: a checkout built before commands/gitlab.ts became this folder keeps a stale dist/commands/gitlab.js,
// which `./commands/gitlab` would load first.
import { gitlabCommands } from './commands/gitlab/index';
import { pipelineCommands } from './commands/pipeline';
import { planCommand } from './commands/plan';
import { statusCommand } from './commands/status';
import { templatesCommand } from './commands/templates';
import { verifyCommand } from './commands/verify';
import { UnmaskableValueError } from './gitlab/setup-project';

// Static imports: under `module: nodenext` a CommonJS build keeps `import()` as a real ESM import,
// which Node cannot resolve without file extensions.
const COMMANDS: Record<string, Command | CommandGroup> = {
  plan: planCommand,
  status: statusCommand,
  verify: verifyCommand,
  gitlab: gitlabCommands,
  templates: templatesCommand,
  pipeline: pipelineCommands,
};

/** Errors that mean the input was wrong (a flag, or a value the user gave), not that the work failed. */
const USAGE_ERRORS = [CliUsageError, UnmaskableValueError];

/**
 * The exit code for an error a command threw: 2 for bad input (a flag, or a value the user gave), 1 for
 * anything else. A command's own results (verify's 3 to 6, say) are return values, never errors.
 */
export function exitCodeFor(error: unknown): 1 | 2 {
  return USAGE_ERRORS.some((kind) => error instanceof kind) ? 2 : 1;
}

function topUsage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'usage: slipway <command> [options]',
    '',
    'commands:',
    ...rows,
    '',
    'slipway <command> --help shows its options.',
  ].join('\n');
}

function groupUsage(name: string, group: CommandGroup): string {
  return `usage: slipway ${name} <${Object.keys(group.subcommands).join('|')}> [options]; add --help to a subcommand for its options`;
}

async function runGroup(name: string, group: CommandGroup, argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    io.stdout.write(`${groupUsage(name, group)}\n`);
    return sub ? 0 : 2;
  }
  const command = group.subcommands[sub];
  if (!command) throw new CliUsageError(`unknown subcommand "${sub}"\n${groupUsage(name, group)}`);
  group.prepare?.(io);
  return runReported(`slipway ${name} ${sub}`, command, rest, io);
}

/** Runs a command; what it throws is printed as one line, "<prefix>: <message>", and becomes its exit code. */
async function runReported(prefix: string, command: Command, argv: string[], io: CommandIo): Promise<number> {
  try {
    return await command.run(argv, io);
  } catch (error) {
    io.stderr.write(`${prefix}: ${error instanceof Error ? error.message : String(error)}\n`);
    return exitCodeFor(error);
  }
}

/**
 * Runs `slipway <argv>` and resolves to its exit code: 0 success, 1 failure, 2 usage (a command documents any
 * other code it returns). Output goes to `streams` (the process's by default), masked.
 */
export async function main(argv: string[], streams: CommandStreams = processStreams()): Promise<number> {
  const io = createCommandIo(streams);
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    io.stdout.write(`${topUsage()}\n`);
    return name ? 0 : 2;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr.write(`slipway: unknown command "${name}"\n\n${topUsage()}\n`);
    return 2;
  }
  if (!isCommandGroup(entry)) return runReported(`slipway ${name}`, entry, rest, io);
  const group: Command = {
    summary: entry.summary,
    run: (args, groupIo) => runGroup(name, entry, args, groupIo),
  };
  return runReported(`slipway ${name}`, group, rest, io);
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
