// A pipeline with its jobs and, through its trigger jobs (bridges), its downstream child pipelines.
import { bridgeListShape, jobListShape, pipelineShape } from './api-shapes';
import { expectShape, GitlabApiError, type GitlabClient } from './gitlab-client';

export type ProjectRef = string | number;

export interface JobSummary {
  id: number;
  name: string;
  stage: string;
  status: string;
  /** A manual job with allow_failure: true is optional ("non-blocking"); with false it blocks its pipeline. */
  allowFailure?: boolean;
  failureReason?: string;
}

export interface PipelineTree {
  id: number;
  ref: string;
  sha: string;
  status: string;
  webUrl: string;
  /** The trigger job that started this pipeline; undefined for the root. */
  triggeredBy?: string;
  jobs: JobSummary[];
  /** Bridges in this pipeline, each with its child pipeline once GitLab has created it. */
  bridges: Array<{ job: JobSummary; downstream?: PipelineTree }>;
}

export const FINISHED_JOB_STATUSES = new Set(['success', 'failed', 'canceled', 'skipped']);
/** Statuses in which a job moves on without anyone acting (https://docs.gitlab.com/api/jobs/ lists them). */
export const ACTIVE_JOB_STATUSES = new Set([
  'pending',
  'running',
  'preparing',
  'waiting_for_resource',
  'scheduled',
]);

function toSummary(job: {
  id: number;
  name: string;
  stage: string;
  status: string;
  allow_failure?: boolean | undefined;
  failure_reason?: string | null | undefined;
}): JobSummary {
  return {
    id: job.id,
    name: job.name,
    stage: job.stage,
    status: job.status,
    allowFailure: job.allow_failure === true,
    ...(job.failure_reason ? { failureReason: job.failure_reason } : {}),
  };
}

export async function loadPipelineTree(
  client: GitlabClient,
  project: ProjectRef,
  pipelineId: number,
  triggeredBy?: string,
): Promise<PipelineTree> {
  // The status first, then the jobs: the jobs are then never older than the status they explain.
  const pipeline = expectShape(
    pipelineShape,
    await client.Pipelines.show(project, pipelineId),
    `GET /pipelines/${pipelineId}`,
  );
  const [jobs, bridges] = await Promise.all([
    client.Jobs.all(project, { pipelineId, perPage: 100 }),
    client.Jobs.allPipelineBridges(project, pipelineId),
  ]);
  return {
    id: pipeline.id,
    ref: pipeline.ref,
    sha: pipeline.sha,
    status: pipeline.status,
    webUrl: pipeline.web_url,
    triggeredBy,
    jobs: expectShape(jobListShape, jobs, `GET /pipelines/${pipelineId}/jobs`).map(toSummary),
    bridges: await Promise.all(
      expectShape(bridgeListShape, bridges, `GET /pipelines/${pipelineId}/bridges`).map(async (bridge) => {
        const downstreamId = bridge.downstream_pipeline?.id;
        return {
          job: toSummary(bridge),
          downstream: downstreamId
            ? await loadPipelineTree(client, project, downstreamId, bridge.name)
            : undefined,
        };
      }),
    ),
  };
}

/** Every pipeline in the tree, root first. */
export function allPipelines(tree: PipelineTree): PipelineTree[] {
  return [
    tree,
    ...tree.bridges.flatMap((bridge) => (bridge.downstream ? allPipelines(bridge.downstream) : [])),
  ];
}

/**
 * True when the pipeline will not move without someone acting:
 * - it finished, or GitLab says `manual` (a blocking manual job stopped it);
 * - or it is `running` only because a trigger job waits for a child that is itself stopped at a manual job. With
 *   `trigger:strategy: depend` the trigger job keeps `running` until its child finishes, and so does its pipeline
 *   (https://docs.gitlab.com/ci/yaml/#triggerstrategy), so the gate must be read from the child's jobs;
 * - and every trigger job without a child is finished or manual (a manual trigger starts its child only when
 *   played, https://docs.gitlab.com/ci/jobs/job_control/#create-a-job-that-must-be-run-manually).
 */
export function isQuiescent(pipeline: PipelineTree): boolean {
  const bridgesQuiet = pipeline.bridges.every(({ job, downstream }) =>
    downstream ? isQuiescent(downstream) : FINISHED_JOB_STATUSES.has(job.status) || job.status === 'manual',
  );
  if (!bridgesQuiet) return false;
  if (FINISHED_JOB_STATUSES.has(pipeline.status) || pipeline.status === 'manual') return true;
  if (pipeline.status !== 'running') return false;
  const heldByChildAtGate = pipeline.bridges.some(
    ({ job, downstream }) =>
      ACTIVE_JOB_STATUSES.has(job.status) && downstream !== undefined && isStoppedAtGate(downstream),
  );
  const nothingElseMoves =
    pipeline.jobs.every((job) => !ACTIVE_JOB_STATUSES.has(job.status)) &&
    pipeline.bridges.every(
      ({ job, downstream }) =>
        !ACTIVE_JOB_STATUSES.has(job.status) || (downstream !== undefined && isStoppedAtGate(downstream)),
    );
  return heldByChildAtGate && nothingElseMoves;
}

/** Stopped (not finished) at a blocking manual job, here or in a child it waits for. */
function isStoppedAtGate(pipeline: PipelineTree): boolean {
  return pipeline.status === 'manual' || (pipeline.status === 'running' && isQuiescent(pipeline));
}

/** True when no pipeline in the tree will change without someone acting. */
export function isSettled(tree: PipelineTree): boolean {
  return isQuiescent(tree);
}

/** A manual job someone can play: a deploy gate, an optional job, or a trigger job whose child has not started. */
export interface ManualGate {
  pipeline: PipelineTree;
  job: JobSummary;
  /** Blocking gates hold their pipeline (and, under strategy: depend, its parents) until played. */
  blocking: boolean;
  /** A trigger job: playing it creates the child pipeline. */
  trigger: boolean;
}

export function manualGates(tree: PipelineTree): ManualGate[] {
  return allPipelines(tree).flatMap((pipeline) => [
    ...pipeline.jobs
      .filter((job) => job.status === 'manual')
      .map((job) => ({ pipeline, job, blocking: !job.allowFailure, trigger: false })),
    ...pipeline.bridges
      .filter(({ job, downstream }) => job.status === 'manual' && !downstream)
      .map(({ job }) => ({ pipeline, job, blocking: !job.allowFailure, trigger: true })),
  ]);
}

/** The trigger-job path that names a pipeline in messages, e.g. "weather-app". */
export function pipelineLabel(pipeline: PipelineTree): string {
  return pipeline.triggeredBy ? `#${pipeline.id} ${pipeline.triggeredBy}` : `#${pipeline.id}`;
}

/** POST /pipeline answers 400 when workflow:rules create no pipeline for the ref, or the ref does not exist. */
function describeCreateFailure(error: unknown, ref: string): unknown {
  if (!(error instanceof GitlabApiError) || error.status !== 400) return error;
  if (/workflow rules/i.test(error.detail ?? '')) {
    return new GitlabApiError(
      `GitLab created no pipeline for ${ref}: the project's workflow:rules filter it out ` +
        '(https://docs.gitlab.com/ci/yaml/workflow/); run a branch or tag they accept, e.g. the default branch',
      400,
      error.detail,
    );
  }
  if (/reference not found/i.test(error.detail ?? '')) {
    return new GitlabApiError(`GitLab has no branch or tag named ${ref}; push it first`, 400, error.detail);
  }
  return error;
}

/**
 * Creates a pipeline for `ref` (POST /projects/:id/pipeline) and returns its id and web URL. Throws GitlabApiError,
 * saying so when the project's workflow:rules create no pipeline for the ref or the ref does not exist.
 */
export async function createPipeline(
  client: GitlabClient,
  project: ProjectRef,
  ref: string,
): Promise<{ id: number; webUrl: string }> {
  const pipeline = expectShape(
    pipelineShape,
    await client.Pipelines.create(project, ref).catch((error: unknown) => {
      throw describeCreateFailure(error, ref);
    }),
    'POST /projects/:id/pipeline',
  );
  return { id: pipeline.id, webUrl: pipeline.web_url };
}
