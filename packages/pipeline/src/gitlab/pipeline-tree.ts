// A pipeline with its jobs and, through its trigger jobs (bridges), its downstream child pipelines.
import type { GitlabClient } from './gitlab-client';

export type ProjectRef = string | number;

export interface JobSummary {
  id: number;
  name: string;
  stage: string;
  status: string;
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

/** Statuses after which a pipeline will not move without someone acting on it. */
const SETTLED_PIPELINE_STATUSES = new Set(['success', 'failed', 'canceled', 'skipped', 'manual']);
export const FINISHED_JOB_STATUSES = new Set(['success', 'failed', 'canceled', 'skipped']);

export async function loadPipelineTree(
  client: GitlabClient,
  project: ProjectRef,
  pipelineId: number,
  triggeredBy?: string,
): Promise<PipelineTree> {
  // The status first, then the jobs: the jobs are then never older than the status they explain.
  const pipeline = await client.Pipelines.show(project, pipelineId);
  const [jobs, bridges] = await Promise.all([
    client.Jobs.all(project, { pipelineId, perPage: 100 }),
    client.Jobs.allPipelineBridges(project, pipelineId),
  ]);
  const toSummary = (job: { id: number; name: string; stage: string; status: string }): JobSummary => ({
    id: job.id,
    name: job.name,
    stage: job.stage,
    status: job.status,
  });
  return {
    id: pipeline.id,
    ref: String(pipeline.ref),
    sha: String(pipeline.sha),
    status: String(pipeline.status),
    webUrl: String(pipeline.web_url),
    triggeredBy,
    jobs: jobs.map(toSummary),
    bridges: await Promise.all(
      bridges.map(async (bridge) => {
        const downstreamId = (bridge.downstream_pipeline as { id?: number } | null | undefined)?.id;
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

/** True when no pipeline in the tree will change without someone acting, and every trigger has its child. */
export function isSettled(tree: PipelineTree): boolean {
  return allPipelines(tree).every(
    (pipeline) =>
      SETTLED_PIPELINE_STATUSES.has(pipeline.status) &&
      pipeline.bridges.every((bridge) => bridge.downstream || FINISHED_JOB_STATUSES.has(bridge.job.status)),
  );
}

/** The trigger-job path that names a pipeline in messages, e.g. "weather-app". */
export function pipelineLabel(pipeline: PipelineTree): string {
  return pipeline.triggeredBy ? `#${pipeline.id} ${pipeline.triggeredBy}` : `#${pipeline.id}`;
}
