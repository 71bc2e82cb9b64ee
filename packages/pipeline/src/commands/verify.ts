// `slipway verify`: wait until a deployment is healthy and serves the expected commit and/or content key, then
// smoke-test it.
import { printUsage, type Command } from '../command-line/command';
import { CliUsageError, parseFlags, parseSeconds } from '../command-line/flags';
import { createCommandIo, processStreams, type CommandIo } from '../command-line/io';
import { CONTENT_KEY_PATTERN, CONTENT_KEY_SHAPE } from '../plan/content-key';
import { refuseCredentials } from '../plan/credentials';
import {
  describeExpected,
  resolveEndpoint,
  verifyDeployment,
  type VerifyOptions,
} from '../verify/verify-deployment';

// The deploy template's sh twin has the same defaults; verify-parity.test.ts keeps them in step.
export const DEFAULT_TIMEOUT_SECONDS = 120;
export const DEFAULT_INTERVAL_SECONDS = 2;

const USAGE = `usage: slipway verify --url URL (--expect-commit SHA | --expect-content-key KEY)...
                      [--timeout SECONDS] [--interval SECONDS] [--smoke PATH]

Polls URL/health until its JSON "status" is "pass" or "warn" (warn is healthy with concerns: it is printed, not
failed) and URL/version reports "commit" == SHA and/or "contentKey" == KEY, then GETs the smoke path (if given)
expecting 2xx. No redirect is followed: a 3xx answer fails the check.

options:
  --url URL                 base URL of the deployment (http or https, no user name or password)
  --expect-commit SHA       full 40-hex commit the deployment must serve
  --expect-content-key KEY  content key of the image the deployment must serve (/version "contentKey"),
                            16 to 64 lowercase hex digits
  --timeout SECONDS         total time to wait (default 120; 0 looks once and reports what it saw)
  --interval SECONDS        pause between attempts (default 2; more than 0)
  --smoke PATH              path on the same origin to GET once verified, e.g. /api/weather?city=London

exit codes: 0 ok, 2 usage, 3 unhealthy, 4 wrong version, 5 no answer (timeout), 6 smoke test failed`;

// eslint-disable-next-line no-control-regex
const UNSAFE_IN_PATH = /[\\\s\x00-\x1f\x7f]/;

export function parseVerifyOptions(argv: string[]): VerifyOptions | 'help' {
  const { values } = parseFlags(
    argv,
    {
      url: { type: 'string' },
      'expect-commit': { type: 'string' },
      'expect-content-key': { type: 'string' },
      timeout: { type: 'string' },
      interval: { type: 'string' },
      smoke: { type: 'string' },
    },
    USAGE,
  );
  if (values.help) return 'help';
  if (!values.url) throw new CliUsageError(`--url is required\n\n${USAGE}`);
  if (!values['expect-commit'] && !values['expect-content-key']) {
    throw new CliUsageError(`--expect-commit or --expect-content-key is required\n\n${USAGE}`);
  }
  // Checked before anything echoes the URL, so a password is never printed (a usage error here: exit 2).
  try {
    refuseCredentials('--url', values.url);
  } catch {
    throw new CliUsageError('--url must not contain a user name or password');
  }

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
  if (baseUrl.username || baseUrl.password) {
    throw new CliUsageError('--url must not contain a user name or password');
  }
  const expectCommit = values['expect-commit'];
  if (expectCommit !== undefined && !/^[0-9a-fA-F]{40}$/.test(expectCommit)) {
    throw new CliUsageError(`--expect-commit must be a full 40-hex commit SHA, got "${expectCommit}"`);
  }
  const expectContentKey = values['expect-content-key'];
  // Checked as strictly as --expect-commit: a key of another shape can never be served, so polling for it would
  // only end in exit 4 after the whole timeout.
  if (expectContentKey !== undefined && !CONTENT_KEY_PATTERN.test(expectContentKey)) {
    throw new CliUsageError(
      `--expect-content-key must be a content key, ${CONTENT_KEY_SHAPE} (as slipway plan computes it), got "${expectContentKey}"`,
    );
  }
  const smokePath = values.smoke;
  if (smokePath !== undefined) {
    if (!smokePath.startsWith('/')) {
      throw new CliUsageError(`--smoke must be a path starting with "/", got "${smokePath}"`);
    }
    // A backslash or a control character could make the path name another host; the smoke test stays on --url's origin.
    if (UNSAFE_IN_PATH.test(smokePath) || resolveEndpoint(baseUrl, smokePath).origin !== baseUrl.origin) {
      throw new CliUsageError(`--smoke must be a path on --url's origin, got "${smokePath}"`);
    }
  }
  // --timeout 0 makes one attempt, as the sh twin does with SLIPWAY_VERIFY_TIMEOUT=0.
  const timeoutSeconds = parseSeconds('timeout', values.timeout, {
    fallback: DEFAULT_TIMEOUT_SECONDS,
    zero: 'allowed',
  });
  const intervalSeconds = parseSeconds('interval', values.interval, { fallback: DEFAULT_INTERVAL_SECONDS });
  return {
    baseUrl,
    ...(expectCommit !== undefined && { expectCommit }),
    ...(expectContentKey !== undefined && { expectContentKey }),
    timeoutSeconds,
    intervalSeconds,
    smokePath,
  };
}

export async function run(
  argv: string[],
  io: CommandIo = createCommandIo(processStreams()),
): Promise<number> {
  const options = parseVerifyOptions(argv);
  if (options === 'help') return printUsage(io, USAGE);
  const wait =
    options.timeoutSeconds === 0
      ? `looking once whether ${options.baseUrl.href} serves`
      : `waiting up to ${options.timeoutSeconds}s for ${options.baseUrl.href} to serve`;
  io.stdout.write(`verify: ${wait} ${describeExpected(options)}\n`);
  const outcome = await verifyDeployment(options, (line) => io.stdout.write(`${line}\n`));
  const stream = outcome.exitCode === 0 ? io.stdout : io.stderr;
  stream.write(
    `verify: ${outcome.exitCode === 0 ? 'ok' : 'FAILED'}: ${outcome.message} (exit ${outcome.exitCode})\n`,
  );
  return outcome.exitCode;
}

export const verifyCommand: Command = {
  summary: 'wait until a deployment is healthy and runs the expected commit',
  run,
};
