// The repository's apps and what each declares about itself: the `slipway` field of apps/<app>/package.json.
// It is the one place an app names its runtime variables and secrets; the CLI (gitlab setup, lint samples),
// turbo's pass-through lists and the tests read it from here, so nothing outside apps/<app> names the app.
//
//   "slipway": {
//     "port": 3001,                                           its default port (unique: npm start runs all apps)
//     "variables": {
//       "DATABASE_URL": {
//         "description": "Postgres connection URL ...",       shown in docs and GitLab variable descriptions
//         "example": "postgres://user:pw@127.0.0.1:1/db",      a valid value (tests start the app with it)
//         "secret": true,                                      masked, protected CI/CD variable, redacted in logs
//         "environments": ["staging/*", "production/*"],       GitLab environment scopes of the secret
//         "unset": "the app runs on its embedded PGlite"       what happens without it (printed by setup)
//       }
//     }
//   }
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { APPS_DIRECTORY, listAppDirectories } from './repository';

const VARIABLE_NAME = /^[A-Z][A-Z0-9_]*$/;
// GitLab environment scopes: a name, or a name with wildcards (docs.gitlab.com/ci/environments/#limit-the-environment-scope-of-a-cicd-variable).
const ENVIRONMENT_SCOPE = /^[a-z0-9*][a-z0-9/*_.-]*$/;

const variableSchema = z
  .strictObject({
    description: z.string().min(1, 'must say what the variable does'),
    example: z.string().min(1, 'must be a valid value (the settings test starts the app with it)'),
    secret: z.boolean().default(false),
    environments: z
      .array(z.string().regex(ENVIRONMENT_SCOPE, 'must be GitLab environment scopes such as "staging/*"'))
      .min(1)
      .optional(),
    unset: z.string().min(1).optional(),
  })
  .refine((variable) => !variable.environments || variable.secret, {
    message: 'environments scope a secret; set "secret": true or remove them',
    path: ['environments'],
  });

const declarationSchema = z.strictObject({
  // The port the app listens on when PORT is unset; unique per app, so `npm start` can run them all at once.
  port: z.number().int().min(1).max(65535).optional(),
  variables: z
    .record(z.string(), variableSchema)
    .superRefine((variables, ctx) => {
      for (const name of Object.keys(variables).filter((key) => !VARIABLE_NAME.test(key))) {
        ctx.addIssue({ code: 'custom', path: [name], message: 'is not an UPPER_SNAKE_CASE variable name' });
      }
    })
    .default({}),
});

export type DeclaredVariable = z.infer<typeof variableSchema> & { name: string };

export interface RepositoryApp {
  /** The directory name under apps/, e.g. the trigger job's and the image's name. */
  name: string;
  /** Repository-relative, with forward slashes: apps/<name>. */
  path: string;
  /** The npm package name (turbo's --filter). */
  packageName: string;
  /** Its default port (PORT unset), if declared. */
  port: number | undefined;
  /** Runtime variables the app declares beyond the chassis's own (PORT, HOST, LOG_LEVEL, ...). */
  variables: DeclaredVariable[];
}

/** A declaration that cannot be used; the message names the file and the field. */
export class AppDeclarationError extends Error {
  override name = 'AppDeclarationError';
}

/**
 * Every apps/<name>/package.json, sorted by name, with its declaration. A directory without a package.json
 * is not an app; an app without a `slipway` field declares no variables.
 * Throws AppDeclarationError for unreadable JSON, a missing package name or an invalid declaration.
 */
export function readRepositoryApps(repoRoot: string): RepositoryApp[] {
  return listAppDirectories(repoRoot)
    .filter((name) => existsSync(path.join(repoRoot, APPS_DIRECTORY, name, 'package.json')))
    .map((name) => readApp(repoRoot, name));
}

function readApp(repoRoot: string, name: string): RepositoryApp {
  const file = `${APPS_DIRECTORY}/${name}/package.json`;
  let manifest: { name?: unknown; slipway?: unknown };
  try {
    manifest = JSON.parse(readFileSync(path.join(repoRoot, file), 'utf8')) as typeof manifest;
  } catch (error) {
    throw new AppDeclarationError(`${file}: not valid JSON (${(error as Error).message})`);
  }
  if (typeof manifest.name !== 'string' || manifest.name === '') {
    throw new AppDeclarationError(`${file}: "name" is missing`);
  }
  const parsed = declarationSchema.safeParse(manifest.slipway ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = ['slipway', ...(issue?.path ?? [])].join('.');
    throw new AppDeclarationError(`${file}: ${field} ${issue?.message ?? 'is invalid'}`);
  }
  return {
    name,
    path: `${APPS_DIRECTORY}/${name}`,
    packageName: manifest.name,
    port: parsed.data.port,
    variables: Object.entries(parsed.data.variables).map(([variableName, variable]) => ({
      name: variableName,
      ...variable,
    })),
  };
}

export interface DeclaredSecret extends DeclaredVariable {
  /** The apps that declare it (two apps may share one secret if they agree on its scopes). */
  apps: string[];
  environments: string[];
}

/** Deploy scopes a secret gets when its declaration names none. */
export const DEFAULT_SECRET_ENVIRONMENTS = ['production/*', 'staging/*'];

/**
 * The secrets of all apps, one entry per variable name. Two apps declaring the same secret with different
 * scopes is an AppDeclarationError: one CI/CD variable per scope cannot satisfy both.
 */
export function declaredSecrets(apps: readonly RepositoryApp[]): DeclaredSecret[] {
  const byName = new Map<string, DeclaredSecret>();
  for (const app of apps) {
    for (const variable of app.variables.filter((v) => v.secret)) {
      const environments = [...(variable.environments ?? DEFAULT_SECRET_ENVIRONMENTS)].sort();
      const seen = byName.get(variable.name);
      if (!seen) {
        byName.set(variable.name, { ...variable, environments, apps: [app.name] });
        continue;
      }
      if (seen.environments.join() !== environments.join()) {
        throw new AppDeclarationError(
          `${variable.name} is declared by ${seen.apps.join(', ')} for ${seen.environments.join(', ')} and by ${app.name} for ${environments.join(', ')}; one CI/CD variable cannot have both scopes`,
        );
      }
      seen.apps.push(app.name);
    }
  }
  return [...byName.values()].sort((a, b) => a.name.localeCompare(b.name));
}

// The turbo tasks that run the app itself, so they must hand it its variables (turbo's strict env mode drops
// anything not listed: turborepo.com/docs/crafting-your-repository/using-environment-variables#strict-mode).
export const APP_RUN_TASKS = ['start', 'dev'] as const;

/**
 * Where apps/<app>/turbo.json disagrees with the app's declaration: each run task (start, dev) must pass
 * exactly the declared variables through. Returns one line per problem; empty when they agree.
 */
export function turboPassThroughProblems(repoRoot: string, app: RepositoryApp): string[] {
  const file = `${app.path}/turbo.json`;
  const declared = app.variables.map((variable) => variable.name).sort();
  const full = path.join(repoRoot, file);
  if (!existsSync(full)) {
    return declared.length === 0
      ? []
      : [`${file} is missing; its start and dev tasks must pass through ${declared.join(', ')}`];
  }
  const config = JSON.parse(readFileSync(full, 'utf8')) as {
    tasks?: Record<string, { passThroughEnv?: string[] }>;
  };
  const problems: string[] = [];
  for (const task of APP_RUN_TASKS) {
    const listed = [...(config.tasks?.[task]?.passThroughEnv ?? [])].sort();
    const missing = declared.filter((name) => !listed.includes(name));
    const extra = listed.filter((name) => !declared.includes(name));
    if (missing.length > 0)
      problems.push(`${file}: task "${task}" does not pass through ${missing.join(', ')}`);
    if (extra.length > 0) {
      problems.push(
        `${file}: task "${task}" passes through ${extra.join(', ')}, which ${app.path}/package.json does not declare`,
      );
    }
  }
  return problems;
}
