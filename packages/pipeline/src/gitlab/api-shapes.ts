// The fields slipway reads from GitLab's REST API answers, as zod schemas. Each lists only what slipway uses,
// and lets other fields through: GitLab adds fields between versions. Pages: https://docs.gitlab.com/api/pipelines/,
// https://docs.gitlab.com/api/jobs/, https://docs.gitlab.com/api/project_level_variables/,
// https://docs.gitlab.com/api/protected_environments/, https://docs.gitlab.com/api/protected_tags/,
// https://docs.gitlab.com/api/lint/.
import { z } from 'zod';

export const pipelineShape = z.looseObject({
  id: z.number().int(),
  ref: z.string(),
  sha: z.string(),
  status: z.string(),
  web_url: z.string(),
});

export const jobShape = z.looseObject({
  id: z.number().int(),
  name: z.string(),
  stage: z.string(),
  status: z.string(),
  allow_failure: z.boolean().optional(),
  /** Why a job failed, e.g. "stale_job"/"forward_deployment_failure" for an outdated deployment. */
  failure_reason: z.string().nullish(),
});
export const jobListShape = z.array(jobShape);

export const bridgeShape = jobShape.extend({
  downstream_pipeline: z.looseObject({ id: z.number().int() }).nullish(),
});
export const bridgeListShape = z.array(bridgeShape);

export const projectShape = z.looseObject({
  id: z.number().int(),
  default_branch: z.string().nullish(),
});

export const variableShape = z.looseObject({
  key: z.string(),
  // null for a hidden variable since GitLab 17.4 (https://docs.gitlab.com/ci/variables/#hide-a-cicd-variable).
  value: z.string().nullable(),
  variable_type: z.string(),
  protected: z.boolean(),
  masked: z.boolean(),
  hidden: z.boolean().optional(),
  raw: z.boolean().optional(),
  environment_scope: z.string(),
  description: z.string().nullish(),
});
export const variableListShape = z.array(variableShape);

export const protectedEnvironmentListShape = z.array(z.looseObject({ name: z.string() }));

export const protectedTagListShape = z.array(
  z.looseObject({
    name: z.string(),
    create_access_levels: z.array(z.looseObject({ access_level: z.number().nullish() })).optional(),
  }),
);

export const lintShape = z.looseObject({
  valid: z.boolean(),
  errors: z.array(z.string()).nullish(),
  warnings: z.array(z.string()).nullish(),
  jobs: z.array(z.unknown()).nullish(),
});
