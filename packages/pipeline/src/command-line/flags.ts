// The one flag parser of every `slipway` command: node:util's parseArgs (strict, so an unknown flag or a missing
// value is an error), plus the value parsers the commands share.
import { parseArgs, type ParseArgsOptionsConfig } from 'node:util';

/** A bad flag or a missing value: the CLI prints the message and exits 2, without a stack trace. */
export class CliUsageError extends Error {
  override name = 'CliUsageError';
}

/** Every command takes --help (-h): it prints the command's usage and exits 0. */
const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const satisfies ParseArgsOptionsConfig;

/**
 * Parses `argv` against `options` (node:util parseArgs, strict) and adds --help/-h. Positionals are refused unless
 * `allowPositionals`. parseArgs' complaints (unknown flag, missing value) become a CliUsageError followed by `usage`.
 */
export function parseFlags<O extends ParseArgsOptionsConfig, P extends boolean = false>(
  argv: string[],
  options: O,
  usage: string,
  allowPositionals?: P,
) {
  try {
    return parseArgs({
      args: argv,
      options: { ...options, ...HELP_OPTION },
      strict: true,
      allowPositionals: allowPositionals ?? false,
    });
  } catch (error) {
    throw new CliUsageError(`${(error as Error).message}\n\n${usage}`);
  }
}

export interface SecondsRule {
  /** Used when the flag is absent. */
  fallback: number;
  /**
   * A time limit may be 0: look once and do not wait (`slipway verify --timeout 0` makes one attempt, as the
   * deploy template's sh twin does with SLIPWAY_VERIFY_TIMEOUT=0). A pause between attempts, or the budget of one
   * request, must be more than 0. Default: more than 0.
   */
  zero?: 'allowed' | 'refused';
  /** The largest value accepted, in seconds. */
  max?: number;
}

/**
 * A flag given in seconds: a plain decimal ("30", "0.5"; surrounding whitespace ignored), never an exponent, hex or
 * a unit. Returns seconds; throws CliUsageError naming the flag and the value given.
 */
export function parseSeconds(flag: string, raw: string | undefined, rule: SecondsRule): number {
  if (raw === undefined) return rule.fallback;
  const zeroAllowed = rule.zero === 'allowed';
  if (!/^\d+(\.\d+)?$/.test(raw.trim())) {
    throw new CliUsageError(
      `--${flag} must be a ${zeroAllowed ? '' : 'positive '}number of seconds, got "${raw}"`,
    );
  }
  const seconds = Number(raw.trim());
  if (seconds === 0 && !zeroAllowed)
    throw new CliUsageError(`--${flag} must be greater than 0, got "${raw}"`);
  if (rule.max !== undefined && seconds > rule.max) {
    throw new CliUsageError(`--${flag} must be at most ${rule.max} seconds, got "${raw}"`);
  }
  return seconds;
}
