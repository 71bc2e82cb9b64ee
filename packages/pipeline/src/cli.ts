#!/usr/bin/env node
// The `slipway` CLI. Each command lives in src/commands/<name>.ts and exports `run(argv): Promise<number>`,
// the process exit code, so commands stay testable without spawning a process.
import { CliUsageError } from './cli-errors';
import * as gitlab from './commands/gitlab';
import * as plan from './commands/plan';
import * as status from './commands/status';
import * as templates from './commands/templates';
import * as verify from './commands/verify';

type Command = { summary: string; run(argv: string[]): Promise<number> };

// Static imports: under `module: nodenext` a CommonJS build keeps `import()` as a real ESM import,
// which Node cannot resolve without file extensions.
const commands: Record<string, Command> = {
  plan: { summary: 'plan child pipelines for the apps a change affects', run: plan.run },
  status: {
    summary: "what runs where: each app's content key, its image, and what each environment serves",
    run: status.run,
  },
  verify: { summary: 'wait until a deployment is healthy and runs the expected commit', run: verify.run },
  gitlab: { summary: 'set up, lint, run and promote pipelines on a GitLab instance', run: gitlab.run },
  templates: {
    summary: 'check the CI templates and the pipelines that include them; generate the README inputs tables',
    run: templates.run,
  },
};

function usage(): string {
  const rows = Object.entries(commands).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return [
    'usage: slipway <command> [options]',
    '',
    'commands:',
    ...rows,
    '',
    'slipway <command> --help shows its options.',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h') {
    process.stdout.write(`${usage()}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`slipway: unknown command "${name}"\n\n${usage()}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (error instanceof CliUsageError) {
      process.stderr.write(`slipway ${name}: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`slipway ${name}: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
