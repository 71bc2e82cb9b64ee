// `slipway status`: what runs where. For every app, its content key at HEAD, the image the registry holds for it,
// and what each configured environment serves.
import { CliUsageError, parseFlags } from '../cli-errors';
import { runGit } from '../plan/git';
import { type AppStatus, collectStatus } from '../plan/status';

const USAGE = `usage: slipway status [--format text|json] [--timeout SECONDS]

For every app under apps/: its content key at HEAD (turbo's hash of the app's image inputs), the
digest of <image-repository>/<app>:content-<key> in the registry, and what each environment serves.

  --format json    [{"app", "contentKey", "image", "environments"}], where image is a digest or null and
                   environments maps a name to {"url", "contentKey", "commit", "state"}, state being
                   in-sync, drift or unreachable
  --format text    the same as a table (default)
  --timeout N      seconds to wait for the registry and each environment (default 5)

Read from the environment (all optional; without them image is null and environments is empty):
  SLIPWAY_IMAGE_REPOSITORY, else CI_REGISTRY_IMAGE     where images are pushed (<repository>/<app>)
  CI_REGISTRY_USER, CI_REGISTRY_PASSWORD              pull credentials
  <APP>_<ENVIRONMENT>_URL, e.g. MY_APP_STAGING_URL       an environment's base URL (GET /version)

Exit codes: 0 the status was printed (drift is reported, not an error), 1 turbo failed, 2 usage.`;

export interface StatusCommandOptions {
  format: 'text' | 'json';
  timeoutMs: number;
}

export function parseStatusOptions(argv: string[]): StatusCommandOptions | 'help' {
  const { values } = parseFlags(
    {
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        format: { type: 'string' },
        timeout: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help) return 'help';
  const format = values.format ?? 'text';
  if (format !== 'text' && format !== 'json')
    throw new CliUsageError(`--format must be text or json, got "${format}"`);
  const seconds = values.timeout === undefined ? 5 : Number(values.timeout);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 600)
    throw new CliUsageError(
      `--timeout must be a number of seconds between 0 and 600, got "${values.timeout}"`,
    );
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

export async function run(argv: string[]): Promise<number> {
  const options = parseStatusOptions(argv);
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const repositoryRoot = await runGit(process.cwd(), ['rev-parse', '--show-toplevel']);
  const statuses = await collectStatus(repositoryRoot, process.env, options.timeoutMs, (line) =>
    process.stderr.write(`slipway status: ${line}\n`),
  );
  process.stdout.write(
    options.format === 'json' ? `${JSON.stringify(statuses, null, 2)}\n` : renderTable(statuses),
  );
  return 0;
}
