// `slipway status`: what runs where. For every app, its content key at HEAD, the image the registry holds for it,
// and what each configured environment serves.
import { printUsage, type Command } from '../command-line/command';
import { CliUsageError, parseFlags, parseSeconds } from '../command-line/flags';
import { createCommandIo, processStreams, type CommandIo } from '../command-line/io';
import { type AppStatus, collectStatus } from '../plan/status';
import { findRepositoryRoot } from '../repo';

const USAGE = `usage: slipway status [--format text|json] [--timeout SECONDS]

For every app under apps/: its content key at HEAD (turbo's hash of the app's image inputs), the
digest of <image-repository>/<app>:content-<key> in the registry, and what each environment serves.

  --format json    [{"app", "contentKey", "image", "environments"}], where image is a digest or null and
                   environments maps a name to {"url", "contentKey", "commit", "state"}, state being
                   in-sync, drift or unreachable
  --format text    the same as a table (default)
  --timeout N      seconds to wait for the registry and each environment (default 5, more than 0, at most 600)

Read from the environment (all optional; without them image is null and environments is empty):
  SLIPWAY_IMAGE_REPOSITORY, else CI_REGISTRY_IMAGE     where images are pushed (<repository>/<app>)
  CI_REGISTRY_USER, CI_REGISTRY_PASSWORD              pull credentials
  <APP>_<ENVIRONMENT>_URL, e.g. MY_APP_STAGING_URL       an environment's base URL (GET /version)

Exit codes: 0 the status was printed (drift is reported, not an error), 1 turbo failed or a malformed
variable (an environment URL that is not http(s); an environment URL or image repository with credentials,
user:password@ or user@ before the host, refused naming the variable, never its value), 2 usage.`;

export interface StatusCommandOptions {
  format: 'text' | 'json';
  timeoutMs: number;
}

export function parseStatusOptions(argv: string[]): StatusCommandOptions | 'help' {
  const { values } = parseFlags(argv, { format: { type: 'string' }, timeout: { type: 'string' } }, USAGE);
  if (values.help) return 'help';
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new CliUsageError(`--format must be text or json, got "${format}"`);
  // The budget of each request: 0 would fail every one of them.
  const seconds = parseSeconds('timeout', values.timeout, { fallback: 5, max: 600 });
  return { format, timeoutMs: Math.round(seconds * 1000) };
}

function renderTable(statuses: AppStatus[]): string {
  const rows = [['APP', 'CONTENT KEY', 'IMAGE', 'ENVIRONMENT', 'SERVES', 'COMMIT', 'STATE']];
  for (const status of statuses) {
    const image = status.image ? status.image.slice(0, 19) : '-';
    const environments = Object.entries(status.environments);
    if (environments.length === 0) rows.push([status.app, status.contentKey, image, '-', '-', '-', '-']);
    for (const [name, environment] of environments) {
      rows.push([
        status.app,
        status.contentKey,
        image,
        name,
        environment.contentKey ?? '-',
        environment.commit?.slice(0, 12) ?? '-',
        environment.state,
      ]);
    }
  }
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return `${rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n')}\n`;
}

export async function run(
  argv: string[],
  io: CommandIo = createCommandIo(processStreams()),
): Promise<number> {
  const options = parseStatusOptions(argv);
  if (options === 'help') return printUsage(io, USAGE);
  const statuses = await collectStatus(findRepositoryRoot(io.cwd), io.env, options.timeoutMs, (line) =>
    io.stderr.write(`slipway status: ${line}\n`),
  );
  io.stdout.write(
    options.format === 'json' ? `${JSON.stringify(statuses, null, 2)}\n` : renderTable(statuses),
  );
  return 0;
}

export const statusCommand: Command = {
  summary: "what runs where: each app's content key, its image, and what each environment serves",
  run,
};
