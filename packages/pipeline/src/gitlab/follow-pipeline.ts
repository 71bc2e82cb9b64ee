// Follows a pipeline and its child pipelines until they settle, showing progress, and says how it ended.
import type { GitlabClient } from './gitlab-client';
import {
  allPipelines,
  isSettled,
  loadPipelineTree,
  pipelineLabel,
  type PipelineTree,
  type ProjectRef,
} from './pipeline-tree';
import { PipelineProgressDisplay, type Writable } from './progress-display';

export interface FollowOptions {
  intervalMs: number;
  timeoutMs: number;
}

export interface FollowResult {
  tree: PipelineTree;
  /** Pipelines that failed or were canceled. */
  failed: PipelineTree[];
  /** Pipelines that stopped at a manual job (e.g. the production gate). */
  waitingForManual: PipelineTree[];
  timedOut: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export async function followPipeline(
  client: GitlabClient,
  project: ProjectRef,
  pipelineId: number,
  out: Writable,
  { intervalMs, timeoutMs }: FollowOptions,
): Promise<FollowResult> {
  const display = new PipelineProgressDisplay(out);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const tree = await loadPipelineTree(client, project, pipelineId);
    display.update(tree);
    const settled = isSettled(tree);
    if (settled || Date.now() + intervalMs > deadline) {
      const pipelines = allPipelines(tree);
      return {
        tree,
        failed: pipelines.filter((p) => p.status === 'failed' || p.status === 'canceled'),
        waitingForManual: pipelines.filter((p) => p.status === 'manual'),
        timedOut: !settled,
      };
    }
    await sleep(intervalMs);
  }
}

/** One line per outcome; the exit code is 0 only when nothing failed and the wait did not time out. */
export function summarizeFollow(
  result: FollowResult,
  timeoutSeconds: number,
): { exitCode: number; lines: string[] } {
  const lines: string[] = [];
  if (result.timedOut) {
    lines.push(
      `gave up after ${timeoutSeconds}s: pipeline ${result.tree.webUrl} is still ${result.tree.status}`,
    );
  }
  for (const pipeline of result.failed) {
    const failedJobs = [...pipeline.jobs, ...pipeline.bridges.map((bridge) => bridge.job)].filter(
      (job) => job.status === 'failed',
    );
    const jobs = failedJobs.map((job) => `${job.stage}/${job.name}`).join(', ') || 'no failed job reported';
    lines.push(`pipeline ${pipelineLabel(pipeline)} ${pipeline.status}: ${jobs} — ${pipeline.webUrl}`);
  }
  for (const pipeline of result.waitingForManual) {
    lines.push(
      `pipeline ${pipelineLabel(pipeline)} waits for a manual job; promote it with: slipway gitlab promote --pipeline ${result.tree.id}`,
    );
  }
  const exitCode = result.timedOut || result.failed.length > 0 ? 1 : 0;
  if (exitCode === 0) lines.push(`pipeline #${result.tree.id} ${result.tree.status}`);
  return { exitCode, lines };
}
