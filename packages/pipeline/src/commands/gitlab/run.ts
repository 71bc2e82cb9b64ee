// `slipway gitlab run`: create a pipeline and follow it, and its child pipelines, until nothing moves on its own.
import { printUsage, type Command } from '../../command-line/command';
import { CliUsageError, parseFlags, parseSeconds } from '../../command-line/flags';
import type { CommandIo } from '../../command-line/io';
import { followPipeline, summarizeFollow } from '../../gitlab/follow-pipeline';
import { createPipeline } from '../../gitlab/pipeline-tree';
import { connectToGitlab, PROJECT_OPTION, resolveProject } from './connection';

const USAGE = `usage: slipway gitlab run --ref REF [--project PATH|ID] [--interval SECONDS] [--timeout SECONDS]

Creates a pipeline for REF and follows it and its child pipelines until nothing moves without someone acting:
they finished, or they wait at a manual gate (then it prints the promote command). Exits 0 when nothing failed
(also at a gate), 1 when a pipeline failed or --timeout (default 3600 s; 0 looks once) ran out.`;

/** Polls and time limits of `run` and `promote`: every 5 s, for an hour at most. */
export const POLL_INTERVAL = { fallback: 5 } as const;
export const FOLLOW_TIMEOUT = { fallback: 3600, zero: 'allowed' } as const;

async function run(argv: string[], io: CommandIo): Promise<number> {
  const { values: flags } = parseFlags(
    argv,
    {
      ...PROJECT_OPTION,
      ref: { type: 'string' },
      interval: { type: 'string' },
      timeout: { type: 'string' },
    },
    USAGE,
  );
  if (flags.help) return printUsage(io, USAGE);
  const ref = flags.ref;
  if (!ref) throw new CliUsageError(`--ref is required\n\n${USAGE}`);
  const project = resolveProject(flags.project, io.env);
  const intervalSeconds = parseSeconds('interval', flags.interval, POLL_INTERVAL);
  const timeoutSeconds = parseSeconds('timeout', flags.timeout, FOLLOW_TIMEOUT);
  const client = connectToGitlab(io);
  const pipeline = await createPipeline(client, project, ref);
  io.stdout.write(`created pipeline #${pipeline.id} for ${ref}: ${pipeline.webUrl}\n`);
  const result = await followPipeline(client, project, pipeline.id, io.stdout, {
    intervalMs: intervalSeconds * 1000,
    timeoutMs: timeoutSeconds * 1000,
    sleep: io.sleep?.poll,
  });
  const summary = summarizeFollow(result, timeoutSeconds);
  (summary.exitCode === 0 ? io.stdout : io.stderr).write(`${summary.lines.join('\n')}\n`);
  return summary.exitCode;
}

export const runCommand: Command = {
  summary: 'create a pipeline for a ref and follow it and its child pipelines',
  run,
};
