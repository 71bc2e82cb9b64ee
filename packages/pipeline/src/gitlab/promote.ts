// `slipway gitlab promote`: the production gate from the command line. It finds the manual production deploy
// job, shows what it would ship, asks, plays it and follows it.
import { jobShape, pipelineShape } from './api-shapes';
import { expectShape, GitlabApiError, type GitlabClient } from './gitlab-client';
import {
  ACTIVE_JOB_STATUSES,
  allPipelines,
  FINISHED_JOB_STATUSES,
  isSettled,
  type JobSummary,
  type PipelineTree,
  type ProjectRef,
} from './pipeline-tree';

export interface PromotionCandidate {
  job: JobSummary;
  pipeline: PipelineTree;
  /** The app, from the trigger job of its child pipeline (or the job name when there is none). */
  app: string;
}

// deploy.yml names its jobs `<job-prefix>-deploy-<environment>`; the manual `-rollback-production` must not match.
const PRODUCTION_DEPLOY_JOB = /(^|-)deploy-production$/;

export function isProductionDeployJob(name: string): boolean {
  return PRODUCTION_DEPLOY_JOB.test(name);
}

/** `slipway plan` names each app's trigger job `<app>-pipeline` (see triggerJobName in src/plan). */
export function appOf(pipeline: PipelineTree, job: JobSummary): string {
  return pipeline.triggeredBy ? pipeline.triggeredBy.replace(/-pipeline$/, '') : job.name;
}

export function findProductionJobs(tree: PipelineTree, app: string | undefined): PromotionCandidate[] {
  const candidates = allPipelines(tree).flatMap((pipeline) =>
    pipeline.jobs
      .filter((job) => job.status === 'manual' && PRODUCTION_DEPLOY_JOB.test(job.name))
      .map((job) => ({ job, pipeline, app: appOf(pipeline, job) })),
  );
  return app ? candidates.filter((candidate) => candidate.app === app) : candidates;
}

/** No production job waits yet because the pipelines still run: staging has not finished. */
export class StagingNotFinishedError extends GitlabApiError {
  override name = 'StagingNotFinishedError';
}

/**
 * The one manual production deploy job to play. Errors: StagingNotFinishedError while the pipelines still run
 * (nothing waits at the gate yet); GitlabApiError when none waits in a settled pipeline, or several do and
 * --app does not pick one.
 */
export function chooseProductionJob(tree: PipelineTree, app: string | undefined): PromotionCandidate {
  const candidates = findProductionJobs(tree, app);
  if (candidates.length === 1) return candidates[0]!;
  const forApp = app ? ` for app "${app}"` : '';
  if (candidates.length === 0) {
    if (!isSettled(tree)) {
      const moving = allPipelines(tree)
        .flatMap((p) => p.jobs)
        .filter((job) => ACTIVE_JOB_STATUSES.has(job.status))
        .map((job) => `${job.name} ${job.status}`);
      throw new StagingNotFinishedError(
        `staging has not finished: pipeline #${tree.id} is still ${tree.status}` +
          (moving.length ? ` (${moving.slice(0, 5).join(', ')})` : '') +
          `, so no production deploy${forApp} waits yet; pass --wait to wait for the gate, or run promote again later`,
      );
    }
    const manual = allPipelines(tree).flatMap((p) =>
      p.jobs.filter((j) => j.status === 'manual').map((j) => j.name),
    );
    throw new GitlabApiError(
      `no manual production deploy job${forApp} in pipeline #${tree.id}` +
        (manual.length ? ` (manual jobs: ${manual.join(', ')})` : ' (it has no manual jobs waiting)'),
    );
  }
  const names = candidates.map((c) => `${c.job.name} in ${c.app}`).join(', ');
  throw new GitlabApiError(
    `several manual production jobs in pipeline #${tree.id}: ${names}; choose one with --app`,
  );
}

/** KEY=VALUE lines, as GitLab's dotenv reports hold them. */
export function parseDotenv(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    if (match) values[match[1]!] = match[2]!.trim().replace(/^(['"])(.*)\1$/, '$2');
  }
  return values;
}

// A digest reference as build.yml writes it: <repository>@sha256:<64 hex>. Checking the shape keeps the echoed
// command line (`$ echo "IMAGE_DIGEST=$SLIPWAY_IMAGE@..."`) from passing for the value.
const DIGEST_REFERENCE = /^[a-z0-9][a-z0-9._\-/:]*@sha256:[0-9a-f]{64}$/;
// GitLab Runner 17+ with FF_TIMESTAMPS (on for GitLab.com's hosted runners) starts each log line with an RFC 3339
// timestamp, a two-hex-digit stream number, the stream type (O stdout, E stderr) and "+" on a continued line:
// "2024-01-01T00:00:00.000000Z 00O IMAGE_DIGEST=...". https://docs.gitlab.com/ci/jobs/job_logs/#job-log-timestamps
const RUNNER_LINE_PREFIX = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z [0-9a-f]{2}[A-Z]\+? ?/;
// eslint-disable-next-line no-control-regex
const ANSI_SEQUENCE = /\x1b\[[0-9;]*[A-Za-z]/g;

/** The last IMAGE_DIGEST=<repository>@sha256:<hex> line of a job log, with or without runner timestamps. */
export function imageDigestFromLog(log: string): string | undefined {
  let found: string | undefined;
  for (const rawLine of log.split('\n')) {
    const line = rawLine.replace(RUNNER_LINE_PREFIX, '').replace(ANSI_SEQUENCE, '').replace(/\r$/, '').trim();
    const match = /^IMAGE_DIGEST=(\S+)$/.exec(line);
    // The last one wins: a retried push prints the digest it finally pushed.
    if (match && DIGEST_REFERENCE.test(match[1]!)) found = match[1];
  }
  return found;
}

/**
 * IMAGE_DIGEST of the build job: from its dotenv file when that is also a plain artifact (artifacts:paths), else
 * from its log, where build.yml prints the line it writes to the dotenv report. GitLab keeps dotenv reports for
 * later jobs only and never serves them through the artifacts API
 * (https://docs.gitlab.com/ci/yaml/artifacts_reports/#artifactsreportsdotenv), so on GitLab.com the log is the
 * source unless a consumer also lists the file under artifacts:paths.
 */
export async function findImageDigest(
  client: GitlabClient,
  project: ProjectRef,
  pipeline: PipelineTree,
  dotenvPath: string,
): Promise<{ digest?: string; note: string }> {
  const build = pipeline.jobs.find((job) => /(^|-)build$/.test(job.name) && job.status === 'success');
  if (!build) return { note: `unknown: no successful build job in pipeline #${pipeline.id}` };
  const source = `${build.name} (#${build.id})`;
  try {
    const artifact = (await client.JobArtifacts.downloadArchive(project, {
      jobId: build.id,
      artifactPath: dotenvPath,
    })) as unknown;
    const text =
      typeof artifact === 'string' ? artifact : artifact instanceof Blob ? await artifact.text() : '';
    const digest = parseDotenv(text).IMAGE_DIGEST;
    if (digest && DIGEST_REFERENCE.test(digest)) return { digest, note: `from ${source} ${dotenvPath}` };
  } catch (error) {
    if (!(error instanceof GitlabApiError && error.status === 404)) throw error;
  }
  const log = await client.Jobs.showLog(project, build.id);
  const digest = imageDigestFromLog(typeof log === 'string' ? log : '');
  return digest
    ? { digest, note: `from the log of ${source}` }
    : { note: `unknown: ${source} has neither ${dotenvPath} nor an IMAGE_DIGEST line in its log` };
}

/** Explains why GitLab refused to play the production job; the 403 cases need other advice than the token's. */
export function describePlayFailure(error: unknown, candidate: PromotionCandidate): unknown {
  if (!(error instanceof GitlabApiError)) return error;
  const job = `${candidate.job.name} (#${candidate.job.id})`;
  if (error.status === 403) {
    // The play API checks the protected environment's deploy access as the UI does
    // (https://docs.gitlab.com/ci/environments/protected_environments/).
    return new GitlabApiError(
      `GitLab refused to play ${job} (HTTP 403): production/${candidate.app} is a protected environment and the ` +
        "token's user is not allowed to deploy to it (Settings > CI/CD > Protected environments), or the job is an " +
        'outdated deployment that "Prevent outdated deployment jobs" keeps from running' +
        (error.detail ? ` (${error.detail})` : ''),
      403,
      error.detail,
    );
  }
  if (error.status === 400) {
    return new GitlabApiError(
      `GitLab refused to play ${job} (HTTP 400): it is no longer playable, for example because someone played or canceled it` +
        (error.detail ? ` (${error.detail})` : ''),
      400,
      error.detail,
    );
  }
  return error;
}

// Job failure reasons the API reports for deployments (https://docs.gitlab.com/ci/environments/deployment_safety/).
const FAILURE_REASON_ADVICE: Record<string, string> = {
  forward_deployment_failure:
    'an outdated deployment: a newer pipeline already deployed to this environment ("Prevent outdated deployment jobs"); promote the newer pipeline instead',
  stale_job: 'the job waited too long to start and GitLab dropped it',
  environment_creation_failure: 'GitLab could not create the environment',
};

export function describeFailureReason(reason: string | undefined): string {
  if (!reason) return '';
  return ` (failure_reason ${reason}${FAILURE_REASON_ADVICE[reason] ? `: ${FAILURE_REASON_ADVICE[reason]}` : ''})`;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls a job until it finishes, reporting each status change. Returns its final status, with the failure
 * reason for a failed job (e.g. "failed (failure_reason forward_deployment_failure: ...)"), or
 * "still <status> after Ns" when `timeoutMs` runs out.
 */
export async function followJob(
  client: GitlabClient,
  project: ProjectRef,
  jobId: number,
  report: (line: string) => void,
  {
    intervalMs,
    timeoutMs,
    sleep = defaultSleep,
  }: { intervalMs: number; timeoutMs: number; sleep?: (ms: number) => Promise<void> },
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const job = expectShape(jobShape, await client.Jobs.show(project, jobId), `GET /jobs/${jobId}`);
    if (job.status !== last) {
      last = job.status;
      report(`job ${job.name} (#${job.id}): ${job.status}`);
    }
    if (FINISHED_JOB_STATUSES.has(job.status)) {
      return job.status === 'failed'
        ? `failed${describeFailureReason(job.failure_reason ?? undefined)}`
        : job.status;
    }
    if (Date.now() + intervalMs > deadline)
      return `still ${job.status} after ${Math.round(timeoutMs / 1000)}s`;
    await sleep(intervalMs);
  }
}

/**
 * The id of the latest pipeline of `ref`. GET /pipelines/latest answers 403 (not 404) when the ref's latest commit
 * has no pipeline (https://docs.gitlab.com/api/pipelines/#get-the-latest-pipeline), so a 403 there is not the
 * token's fault: the GitlabApiError says to start a pipeline instead.
 */
export async function latestPipelineId(
  client: GitlabClient,
  project: ProjectRef,
  ref: string,
): Promise<number> {
  try {
    return expectShape(
      pipelineShape,
      await client.Pipelines.showLatest(project, { ref }),
      'GET /projects/:id/pipelines/latest',
    ).id;
  } catch (error) {
    if (error instanceof GitlabApiError && (error.status === 403 || error.status === 404)) {
      throw new GitlabApiError(
        `the latest commit on ${ref} has no pipeline (GitLab answered HTTP ${error.status} for the latest pipeline): ` +
          `start one with: slipway gitlab run --ref ${ref}, or pass --pipeline ID`,
        error.status,
        error.detail,
      );
    }
    throw error;
  }
}
