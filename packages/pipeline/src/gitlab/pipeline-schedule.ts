// The scheduled pipeline that reconciles every environment with the default branch (issue 10, "self-healing on a
// schedule"): `slipway plan` in a pipeline with CI_PIPELINE_SOURCE == "schedule" redeploys drift and its log is
// the drift report. GitLab's pipeline schedules API: https://docs.gitlab.com/api/pipeline_schedules/
import { z } from 'zod';
import type { GitlabClient } from './gitlab-client';
import { GitlabApiError } from './gitlab-client';

/** The schedule `slipway gitlab setup` creates; its description is how a later run finds it again. */
export interface DesiredSchedule {
  /** Branch the scheduled pipeline runs on: the default branch. */
  ref: string;
  /** Cron syntax, e.g. "17 * * * *" (hourly, off the full hour). */
  cron: string;
  /** IANA time zone name GitLab evaluates the cron in, e.g. "UTC". */
  cronTimezone: string;
  description: string;
}

export const RECONCILE_SCHEDULE_DESCRIPTION = 'slipway: reconcile environments (redeploy drift)';

export function defaultReconcileSchedule(defaultBranch: string): DesiredSchedule {
  return {
    ref: defaultBranch,
    // Hourly, at a minute other than :00, where every project's schedules pile up.
    cron: '17 * * * *',
    cronTimezone: 'UTC',
    description: RECONCILE_SCHEDULE_DESCRIPTION,
  };
}

const scheduleSchema = z.looseObject({
  id: z.number(),
  description: z.string().nullable(),
  ref: z.string(),
  cron: z.string(),
  cron_timezone: z.string(),
  active: z.boolean(),
});

/**
 * Since GitLab 16.9 a schedule stores its ref expanded, so a schedule created for "main" lists "refs/heads/main"
 * (https://gitlab.com/gitlab-org/gitlab/-/merge_requests/142037); both name the same branch.
 */
function sameRef(listed: string, desired: string): boolean {
  const branch = (ref: string) => ref.replace(/^refs\/heads\//, '');
  return branch(listed) === branch(desired);
}

export interface ScheduleReport {
  /** What happened, for the command's output: "created …", "updated …" or "unchanged …". */
  line: string;
  changed: boolean;
}

/**
 * Makes sure the project has one active pipeline schedule matching `desired`, found by its description: creates it,
 * updates a drifted one (ref, cron, time zone, inactive), or leaves it alone. Input: the project (ID or path).
 * Output: a one-line report. Throws GitlabApiError (the token needs the Maintainer role) or, when GitLab answers
 * something that is not a schedule list, an Error saying so.
 */
export async function ensurePipelineSchedule(
  client: GitlabClient,
  project: string | number,
  desired: DesiredSchedule,
): Promise<ScheduleReport> {
  const listed = z
    .array(scheduleSchema)
    .safeParse(await client.PipelineSchedules.all(project, { perPage: 100 }));
  if (!listed.success) {
    throw new GitlabApiError(
      `GitLab answered the pipeline schedules request with an unexpected shape: ${listed.error.issues[0]?.message}`,
    );
  }
  const describe = `pipeline schedule "${desired.description}" (${desired.cron} ${desired.cronTimezone} on ${desired.ref})`;
  const current = listed.data.find((schedule) => schedule.description === desired.description);
  if (!current) {
    await client.PipelineSchedules.create(project, desired.description, desired.ref, desired.cron, {
      cronTimezone: desired.cronTimezone,
      active: true,
    });
    return { line: `created   ${describe}`, changed: true };
  }
  const differences = [
    !sameRef(current.ref, desired.ref) ? `ref ${current.ref} -> ${desired.ref}` : '',
    current.cron !== desired.cron ? `cron ${current.cron} -> ${desired.cron}` : '',
    current.cron_timezone !== desired.cronTimezone
      ? `time zone ${current.cron_timezone} -> ${desired.cronTimezone}`
      : '',
    current.active ? '' : 'inactive -> active',
  ].filter(Boolean);
  if (differences.length === 0) return { line: `unchanged ${describe}`, changed: false };
  await client.PipelineSchedules.edit(project, current.id, {
    ref: desired.ref,
    cron: desired.cron,
    cronTimezone: desired.cronTimezone,
    active: true,
  });
  return { line: `updated   ${describe}: ${differences.join(', ')}`, changed: true };
}
