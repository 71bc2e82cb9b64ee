// Follows a pipeline and its child pipelines until they settle, showing progress, and says how it ended.
import type { GitlabClient } from './gitlab-client';
import {
  allPipelines,
  isSettled,
  loadPipelineTree,
  manualGates,
  pipelineLabel,
  type ManualGate,
  type PipelineTree,
  type ProjectRef,
} from './pipeline-tree';
import { appOf, isProductionDeployJob } from './promote';
import { PipelineProgressDisplay, type Writable } from './progress-display';

export interface FollowOptions {
  intervalMs: number;
  timeoutMs: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

export interface FollowResult {
  tree: PipelineTree;
  /** Pipelines that failed or were canceled. */
  failed: PipelineTree[];
  /** Manual jobs someone can play now: production gates, optional jobs, manual trigger jobs. */
  gates: ManualGate[];
  timedOut: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls every `intervalMs` until no pipeline in the tree will move without someone acting (see isSettled), or
 * until `timeoutMs` has passed; progress goes to `out`.
 */
export async function followPipeline(
  client: GitlabClient,
  project: ProjectRef,
  pipelineId: number,
  out: Writable,
  { intervalMs, timeoutMs, sleep = defaultSleep }: FollowOptions,
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
        gates: manualGates(tree),
        timedOut: !settled,
      };
    }
    await sleep(intervalMs);
  }
}

function gateLine(gate: ManualGate, rootId: number): string | undefined {
  const where = `pipeline ${pipelineLabel(gate.pipeline)}`;
  if (isProductionDeployJob(gate.job.name)) {
    const app = appOf(gate.pipeline, gate.job);
    return (
      `production deploy of ${app} is waiting at its manual gate (${gate.job.name} in ${where}); ` +
      `promote it with: slipway gitlab promote --pipeline ${rootId} --app ${app}`
    );
  }
  if (gate.trigger) {
    return `trigger job ${gate.job.name} in ${where} is manual: its child pipeline starts when someone plays it in GitLab (${gate.pipeline.webUrl})`;
  }
  // Optional manual jobs (a rollback, say) are always there; only blocking ones need someone.
  return gate.blocking
    ? `${where} is stopped at the blocking manual job ${gate.job.stage}/${gate.job.name}; play it in GitLab (${gate.pipeline.webUrl})`
    : undefined;
}

/**
 * One line per outcome. Exit code 0 when nothing failed and the wait did not time out, including when the
 * pipelines stopped at a manual gate (the expected end of a default-branch run); 1 otherwise.
 */
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
      (job) => job.status === 'failed' && !job.allowFailure,
    );
    const jobs =
      failedJobs
        .map((job) => `${job.stage}/${job.name}${job.failureReason ? ` (${job.failureReason})` : ''}`)
        .join(', ') || 'no failed job reported';
    lines.push(`pipeline ${pipelineLabel(pipeline)} ${pipeline.status}: ${jobs} — ${pipeline.webUrl}`);
  }
  const gateLines = result.gates
    .map((gate) => gateLine(gate, result.tree.id))
    .filter((line): line is string => line !== undefined);
  lines.push(...gateLines);
  const exitCode = result.timedOut || result.failed.length > 0 ? 1 : 0;
  if (exitCode === 0) {
    const blocked = result.gates.some((gate) => gate.blocking);
    lines.push(
      blocked && !['success', 'failed', 'canceled', 'skipped'].includes(result.tree.status)
        ? `pipeline #${result.tree.id} is ${result.tree.status} in GitLab until the manual gate is played or canceled; nothing else will run on its own`
        : `pipeline #${result.tree.id} ${result.tree.status}`,
    );
  }
  return { exitCode, lines };
}
