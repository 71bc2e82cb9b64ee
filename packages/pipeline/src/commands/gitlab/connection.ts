// What every `slipway gitlab` subcommand shares: the project it works on and its API client.
import { CliUsageError } from '../../command-line/flags';
import type { CommandIo } from '../../command-line/io';
import {
  createGitlabClient,
  gitlabConnectionFromEnv,
  type GitlabClient,
  type RetryPolicy,
} from '../../gitlab/gitlab-client';
import type { ProjectRef } from '../../gitlab/pipeline-tree';

/** The flag every subcommand takes. */
export const PROJECT_OPTION = { project: { type: 'string' } } as const;

/** --project, else CI_PROJECT_PATH or CI_PROJECT_ID (set in every GitLab job); a number is a project ID. */
export function resolveProject(flag: string | undefined, env: NodeJS.ProcessEnv): ProjectRef {
  const project = flag ?? env.CI_PROJECT_PATH ?? env.CI_PROJECT_ID;
  if (!project)
    throw new CliUsageError('no project: pass --project GROUP/NAME (or its ID), or set CI_PROJECT_PATH');
  return /^\d+$/.test(project) ? Number(project) : project;
}

/**
 * A client for GITLAB_HOST with GITLAB_TOKEN (see gitlabConnectionFromEnv for what it refuses); rate-limit waits are
 * announced on the command's stderr.
 */
export function connectToGitlab(io: CommandIo): GitlabClient {
  const retryPolicy: Partial<RetryPolicy> = { onWait: (message) => io.stderr.write(`${message}\n`) };
  if (io.sleep?.rateLimit) retryPolicy.sleep = io.sleep.rateLimit;
  return createGitlabClient(gitlabConnectionFromEnv(io.env), retryPolicy);
}
