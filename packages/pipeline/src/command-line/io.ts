// The one I/O type of every `slipway` command: where it reads (environment, working directory, stdin) and writes
// (stdout, stderr), with every write masked. Commands take a CommandIo instead of touching `process`, so a test runs
// a command in-process and sees exactly what a terminal would.
import { createInterface } from 'node:readline/promises';

/** Where a command writes text; `isTTY` tells a progress display it may redraw in place. */
export interface OutputStream {
  write(text: string): unknown;
  isTTY?: boolean;
}

export type InputStream = NodeJS.ReadableStream & { isTTY?: boolean };

export type Sleep = (ms: number) => Promise<void>;

/** What a command runs against: `process` in the CLI, in-memory streams in tests. */
export interface CommandStreams {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
  /** Pauses that tests make instant: between two polls of a pipeline or job, and before a rate-limited retry. */
  sleep?: { poll?: Sleep; rateLimit?: Sleep };
}

export interface CommandIo extends CommandStreams {
  /** Adds values that must never be printed; every later write to stdout or stderr shows them as [masked]. */
  mask(values: ReadonlyArray<string | undefined>): void;
  /** The text as it would be printed: every masked value replaced. For text that leaves by another way. */
  masked(text: string): string;
}

/**
 * Variables that hold credentials wherever slipway runs (a developer's shell, a GitLab job), masked in the output
 * of every command: GitLab's token, the notification webhook, and a job's registry password and job token
 * (https://docs.gitlab.com/ci/variables/predefined_variables/).
 */
export const CREDENTIAL_VARIABLES = [
  'GITLAB_TOKEN',
  'SLIPWAY_NOTIFY_WEBHOOK_URL',
  'CI_REGISTRY_PASSWORD',
  'CI_JOB_TOKEN',
] as const;

const WORD_CHARACTER = /[A-Za-z0-9_]/;

/** The forms a secret can take in a message: as given, trimmed, URL-encoded and JSON-escaped. */
function secretForms(secret: string): string[] {
  const forms = [secret, secret.trim(), encodeURIComponent(secret), JSON.stringify(secret).slice(1, -1)];
  return forms.filter((form) => form.length > 0);
}

/**
 * Replaces each secret, in each of its forms, with "[masked]" where it stands as a value: an occurrence whose
 * edge is a letter, digit or underscore must not continue into one, so a short secret such as "x" never turns
 * "nonexistent" into "none[masked]istent". Longer forms are replaced first.
 */
export function maskSecrets(text: string, secrets: Array<string | undefined>): string {
  const forms = [
    ...new Set(
      secrets
        .filter((secret): secret is string => typeof secret === 'string' && secret.length > 0)
        .flatMap(secretForms),
    ),
  ].sort((a, b) => b.length - a.length);
  return forms.reduce((masked, form) => {
    const escaped = form.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const before = WORD_CHARACTER.test(form[0]!) ? '(?<![A-Za-z0-9_])' : '';
    const after = WORD_CHARACTER.test(form.at(-1)!) ? '(?![A-Za-z0-9_])' : '';
    return masked.replace(new RegExp(`${before}${escaped}${after}`, 'g'), '[masked]');
  }, text);
}

/** A CommandIo over `streams` whose stdout and stderr mask CREDENTIAL_VARIABLES and whatever `mask` adds. */
export function createCommandIo(streams: CommandStreams): CommandIo {
  const secrets: string[] = [];
  const masked = (text: string) => maskSecrets(text, secrets);
  const maskingStream = (target: OutputStream): OutputStream => ({
    isTTY: target.isTTY,
    write: (text: string) => target.write(masked(String(text))),
  });
  const io: CommandIo = {
    ...streams,
    stdout: maskingStream(streams.stdout),
    stderr: maskingStream(streams.stderr),
    mask: (values) => {
      for (const value of values) if (value && !secrets.includes(value)) secrets.push(value);
    },
    masked,
  };
  io.mask(CREDENTIAL_VARIABLES.map((name) => streams.env[name]));
  return io;
}

/** The process's own streams, environment and working directory, read when called. */
export function processStreams(): CommandStreams {
  return {
    env: process.env,
    cwd: process.cwd(),
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
  };
}

/** Asks a yes/no question on stdin; only "y" or "yes" (any case) is a yes. */
export async function confirm(io: CommandIo, question: string): Promise<boolean> {
  // terminal: false keeps readline from driving the cursor of a stream it only sees through the masking writer.
  const prompt = createInterface({
    input: io.stdin,
    output: io.stdout as NodeJS.WritableStream,
    terminal: false,
  });
  try {
    return /^y(es)?$/i.test((await prompt.question(question)).trim());
  } finally {
    prompt.close();
  }
}
