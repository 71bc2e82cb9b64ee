// Shows a pipeline tree as it runs: on a terminal, one block redrawn in place; otherwise (CI logs, pipes)
// one plain line per job whose status changed, so the log reads as a history.
import { allPipelines, pipelineLabel, type PipelineTree } from './pipeline-tree';

const STATUS_MARK: Record<string, string> = {
  success: '✔',
  failed: '✖',
  canceled: '⊘',
  skipped: '»',
  manual: '⏸',
  running: '▶',
};

export interface Writable {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** Each pipeline, then its stages with their jobs; child pipelines indented under their parent. */
export function renderPipelineTree(tree: PipelineTree, depth = 0): string[] {
  const indent = '  '.repeat(depth);
  const lines = [`${indent}pipeline ${pipelineLabel(tree)} (${tree.ref}): ${tree.status}  ${tree.webUrl}`];
  const stages = new Map<string, string[]>();
  for (const job of [...tree.jobs, ...tree.bridges.map((bridge) => bridge.job)]) {
    const entries = stages.get(job.stage) ?? [];
    entries.push(`${STATUS_MARK[job.status] ?? '·'} ${job.name} ${job.status}`);
    stages.set(job.stage, entries);
  }
  for (const [stage, jobs] of stages) lines.push(`${indent}  ${stage}: ${jobs.join(', ')}`);
  for (const bridge of tree.bridges) {
    if (bridge.downstream) lines.push(...renderPipelineTree(bridge.downstream, depth + 1));
  }
  return lines;
}

export class PipelineProgressDisplay {
  private seen = new Map<string, string>();
  private drawnLines = 0;
  private readonly started = Date.now();

  constructor(private readonly out: Writable) {}

  update(tree: PipelineTree): void {
    if (this.out.isTTY) {
      const lines = renderPipelineTree(tree);
      // Move up over the previous block and clear it, then draw the new one.
      const clear = this.drawnLines > 0 ? `\x1b[${this.drawnLines}A\x1b[0J` : '';
      this.out.write(`${clear}${lines.join('\n')}\n`);
      this.drawnLines = lines.length;
      return;
    }
    const elapsed = `${Math.round((Date.now() - this.started) / 1000)}s`.padStart(6);
    for (const pipeline of allPipelines(tree)) {
      const label = pipelineLabel(pipeline);
      this.report(`pipeline ${label}`, pipeline.status, `[${elapsed}] pipeline ${label}: ${pipeline.status}`);
      for (const job of [...pipeline.jobs, ...pipeline.bridges.map((bridge) => bridge.job)]) {
        this.report(
          `job ${job.id}`,
          job.status,
          `[${elapsed}] ${label} ${job.stage}/${job.name}: ${job.status}`,
        );
      }
    }
  }

  private report(key: string, status: string, line: string): void {
    if (this.seen.get(key) === status) return;
    this.seen.set(key, status);
    this.out.write(`${line}\n`);
  }
}
