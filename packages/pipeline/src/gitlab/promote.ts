// `slipway gitlab promote`: the production gate from the command line. It finds the manual production deploy
// job, shows what it would ship, asks, plays it and follows it.
import { GitlabApiError, type GitlabClient } from './gitlab-client';
import {
  allPipelines,
  FINISHED_JOB_STATUSES,
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

/** `slipway plan` names each app's trigger job `<app>-pipeline` (see triggerJobName in src/plan). */
function appOf(pipeline: PipelineTree, job: JobSummary): string {
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

export function chooseProductionJob(tree: PipelineTree, app: string | undefined): PromotionCandidate {
  const candidates = findProductionJobs(tree, app);
  if (candidates.length === 1) return candidates[0]!;
  const forApp = app ? ` for app "${app}"` : '';
  if (candidates.length === 0) {
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

/**
 * IMAGE_DIGEST of the build job: from its dotenv file when that is also a plain artifact, else from its log,
 * where build.yml prints the line it writes to the dotenv report (GitLab serves dotenv reports to jobs only).
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
    const text = typeof artifact === 'string' ? artifact : await (artifact as Blob).text();
    const digest = parseDotenv(text).IMAGE_DIGEST;
    if (digest) return { digest, note: `from ${source} ${dotenvPath}` };
  } catch (error) {
    if (!(error instanceof GitlabApiError && error.status === 404)) throw error;
  }
  const log = String(await client.Jobs.showLog(project, build.id));
  // The last one wins: a retried push prints the digest it finally pushed.
  const digest = [...log.matchAll(/^IMAGE_DIGEST=(\S+)\s*$/gm)].at(-1)?.[1];
  return digest
    ? { digest, note: `from the log of ${source}` }
    : { note: `unknown: ${source} has neither ${dotenvPath} nor an IMAGE_DIGEST line in its log` };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls a job until it finishes, reporting each status change. */
export async function followJob(
  client: GitlabClient,
  project: ProjectRef,
  jobId: number,
  report: (line: string) => void,
  { intervalMs, timeoutMs }: { intervalMs: number; timeoutMs: number },
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    const job = await client.Jobs.show(project, jobId);
    if (job.status !== last) {
      last = job.status;
      report(`job ${job.name} (#${job.id}): ${job.status}`);
    }
    if (FINISHED_JOB_STATUSES.has(job.status)) return job.status;
    if (Date.now() + intervalMs > deadline)
      return `still ${job.status} after ${Math.round(timeoutMs / 1000)}s`;
    await sleep(intervalMs);
  }
}
