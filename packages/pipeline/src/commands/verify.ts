// `slipway verify`: wait until a deployment is healthy and serves the expected commit, then smoke-test it.
import { CliUsageError, parseFlags } from '../cli-errors';
import { verifyDeployment, type VerifyOptions } from '../verify/verify-deployment';

// The deploy template's sh twin has the same defaults; verify-parity.test.ts keeps them in step.
export const DEFAULT_TIMEOUT_SECONDS = 120;
export const DEFAULT_INTERVAL_SECONDS = 2;

const USAGE = `usage: slipway verify --url URL --expect-commit SHA [--timeout SECONDS] [--interval SECONDS] [--smoke PATH]

Polls URL/health until its JSON "status" is "pass" and URL/version reports "commit" == SHA,
then GETs the smoke path (if given) expecting 2xx.

options:
  --url URL            base URL of the deployment (http or https)
  --expect-commit SHA  full 40-hex commit the deployment must serve
  --timeout SECONDS    total time to wait (default 120)
  --interval SECONDS   pause between attempts (default 2)
  --smoke PATH         path to GET once verified, e.g. /weather?city=London

exit codes: 0 ok, 2 usage, 3 unhealthy, 4 wrong version, 5 no answer (timeout), 6 smoke test failed`;

function parseSeconds(flag: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) {
    throw new CliUsageError(`--${flag} must be a number of seconds, got "${raw}"`);
  }
  return Number(raw);
}

export function parseVerifyOptions(argv: string[]): VerifyOptions | 'help' {
  const { values } = parseFlags(
    {
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        url: { type: 'string' },
        'expect-commit': { type: 'string' },
        timeout: { type: 'string' },
        interval: { type: 'string' },
        smoke: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    },
    USAGE,
  );
  if (values.help) return 'help';
  if (!values.url) throw new CliUsageError(`--url is required\n\n${USAGE}`);
  if (!values['expect-commit']) throw new CliUsageError(`--expect-commit is required\n\n${USAGE}`);

  let baseUrl: URL;
  try {
    baseUrl = new URL(values.url);
  } catch {
    throw new CliUsageError(`--url "${values.url}" is not a valid URL (expected e.g. http://127.0.0.1:8080)`);
  }
  if (baseUrl.protocol !== 'http:' && baseUrl.protocol !== 'https:') {
    throw new CliUsageError(`--url must be http or https, got "${baseUrl.protocol}"`);
  }
  if (baseUrl.search || baseUrl.hash) {
    throw new CliUsageError(`--url must be a base URL without query or fragment, got "${values.url}"`);
  }
  const expectCommit = values['expect-commit'];
  if (!/^[0-9a-fA-F]{40}$/.test(expectCommit)) {
    throw new CliUsageError(`--expect-commit must be a full 40-hex commit SHA, got "${expectCommit}"`);
  }
  const smokePath = values.smoke;
  if (smokePath !== undefined && !smokePath.startsWith('/')) {
    throw new CliUsageError(`--smoke must be a path starting with "/", got "${smokePath}"`);
  }
  const timeoutSeconds = parseSeconds('timeout', values.timeout, DEFAULT_TIMEOUT_SECONDS);
  const intervalSeconds = parseSeconds('interval', values.interval, DEFAULT_INTERVAL_SECONDS);
  if (intervalSeconds <= 0) throw new CliUsageError('--interval must be greater than 0');
  return { baseUrl, expectCommit, timeoutSeconds, intervalSeconds, smokePath };
}

export async function run(argv: string[]): Promise<number> {
  const options = parseVerifyOptions(argv);
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  process.stdout.write(
    `verify: waiting up to ${options.timeoutSeconds}s for ${options.baseUrl.href} to serve ${options.expectCommit}\n`,
  );
  const outcome = await verifyDeployment(options, (line) => process.stdout.write(`${line}\n`));
  const stream = outcome.exitCode === 0 ? process.stdout : process.stderr;
  stream.write(
    `verify: ${outcome.exitCode === 0 ? 'ok' : 'FAILED'}: ${outcome.message} (exit ${outcome.exitCode})\n`,
  );
  return outcome.exitCode;
}
