// `slipway gitlab promote`: the production gate from the command line.
import { printUsage, type Command } from '../../command-line/command';
import { CliUsageError, parseFlags, parseSeconds } from '../../command-line/flags';
import { confirm, type CommandIo } from '../../command-line/io';
import { projectShape } from '../../gitlab/api-shapes';
import { followPipeline } from '../../gitlab/follow-pipeline';
import { expectShape, GitlabApiError } from '../../gitlab/gitlab-client';
import { loadPipelineTree } from '../../gitlab/pipeline-tree';
import {
  chooseProductionJob,
  describePlayFailure,
  findImageDigest,
  followJob,
  latestPipelineId,
  StagingNotFinishedError,
} from '../../gitlab/promote';
import { connectToGitlab, PROJECT_OPTION, resolveProject } from './connection';
import { FOLLOW_TIMEOUT, POLL_INTERVAL } from './run';

const USAGE = `usage: slipway gitlab promote [--pipeline ID | --ref REF] [--app NAME] [--yes] [--wait] [--project PATH|ID]
                             [--dotenv PATH] [--interval SECONDS] [--timeout SECONDS]

Finds the manual production deploy job (of pipeline ID, or the latest pipeline of REF or the default branch),
shows the commit and image digest it deploys, asks for confirmation (--yes skips), plays it and follows it.
--wait first follows the pipeline until staging has finished and the gate waits (otherwise promote says
staging has not finished and exits 1). --dotenv names the build job's dotenv file holding IMAGE_DIGEST
(default slipway-build.env); when it is not a plain artifact, the digest is read from the build job's log.
Exits 0 when the production deploy succeeded, 1 otherwise, 2 on a usage error.`;

async function promote(argv: string[], io: CommandIo): Promise<number> {
  const { values: flags } = parseFlags(
    argv,
    {
      ...PROJECT_OPTION,
      pipeline: { type: 'string' },
      ref: { type: 'string' },
      app: { type: 'string' },
      yes: { type: 'boolean' },
      wait: { type: 'boolean' },
      dotenv: { type: 'string' },
      interval: { type: 'string' },
      timeout: { type: 'string' },
    },
    USAGE,
  );
  if (flags.help) return printUsage(io, USAGE);
  const project = resolveProject(flags.project, io.env);
  if (flags.pipeline !== undefined && !/^\d+$/.test(flags.pipeline)) {
    throw new CliUsageError(`--pipeline must be a pipeline ID (a number), got "${flags.pipeline}"`);
  }
  if (flags.pipeline !== undefined && flags.ref !== undefined)
    throw new CliUsageError('pass either --pipeline or --ref, not both');
  // Checked before any API call: without a terminal nobody can answer, and production is not deployed by default.
  if (!flags.yes && !io.stdin.isTTY) {
    throw new CliUsageError(
      'refusing to deploy to production without confirmation: stdin is not a terminal; pass --yes to confirm',
    );
  }
  const intervalMs = parseSeconds('interval', flags.interval, POLL_INTERVAL) * 1000;
  const timeoutMs = parseSeconds('timeout', flags.timeout, FOLLOW_TIMEOUT) * 1000;
  const polling = { intervalMs, timeoutMs, sleep: io.sleep?.poll };
  const client = connectToGitlab(io);
  let pipelineId = flags.pipeline === undefined ? undefined : Number(flags.pipeline);
  if (pipelineId === undefined) {
    const ref =
      flags.ref ??
      expectShape(projectShape, await client.Projects.show(project), 'GET /projects/:id').default_branch;
    if (!ref) throw new GitlabApiError('the project has no default branch yet: pass --ref or --pipeline');
    pipelineId = await latestPipelineId(client, project, ref);
    io.stdout.write(`latest pipeline on ${ref}: #${pipelineId}\n`);
  }
  let tree = await loadPipelineTree(client, project, pipelineId);
  let candidate;
  try {
    candidate = chooseProductionJob(tree, flags.app);
  } catch (error) {
    if (!(error instanceof StagingNotFinishedError && flags.wait)) throw error;
    io.stdout.write(`staging has not finished: following pipeline #${pipelineId} until the gate waits\n`);
    const followed = await followPipeline(client, project, pipelineId, io.stdout, polling);
    tree = followed.tree;
    if (followed.timedOut) {
      throw new GitlabApiError(
        `gave up after ${timeoutMs / 1000}s: pipeline #${pipelineId} is still ${tree.status}, no production gate yet`,
      );
    }
    candidate = chooseProductionJob(tree, flags.app);
  }
  const digest = await findImageDigest(
    client,
    project,
    candidate.pipeline,
    flags.dotenv ?? 'slipway-build.env',
  );
  io.stdout.write(
    [
      `about to deploy ${candidate.app} to production:`,
      `  job:          ${candidate.job.name} (#${candidate.job.id}) in pipeline #${candidate.pipeline.id}`,
      `  commit:       ${candidate.pipeline.sha} (${candidate.pipeline.ref})`,
      `  image digest: ${digest.digest ? `${digest.digest} (${digest.note})` : digest.note}`,
      '',
    ].join('\n'),
  );
  if (!flags.yes && !(await confirm(io, 'Deploy to production? [y/N] '))) {
    io.stdout.write('not deployed: cancelled at the prompt\n');
    return 1;
  }
  await client.Jobs.play(project, candidate.job.id).catch((error: unknown) => {
    throw describePlayFailure(error, candidate);
  });
  const status = await followJob(
    client,
    project,
    candidate.job.id,
    (line) => io.stdout.write(`${line}\n`),
    polling,
  );
  if (status === 'success') {
    io.stdout.write(`deployed ${candidate.app} to production\n`);
    return 0;
  }
  io.stderr.write(`production deploy of ${candidate.app} did not succeed: ${status}\n`);
  return 1;
}

export const promoteCommand: Command = {
  summary: 'play the manual production deploy of a pipeline, after showing what it deploys',
  run: promote,
};
