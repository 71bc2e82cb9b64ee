// `slipway gitlab <setup|lint|run|promote>`: drive a GitLab project through the API. GITLAB_HOST and GITLAB_TOKEN
// come from the environment; every line the subcommands print is masked (see command-line/io.ts), including the
// values of the secrets the apps declare.
import type { CommandGroup } from '../../command-line/command';
import type { CommandIo } from '../../command-line/io';
import { declaredSecrets, findRepositoryRoot, readRepositoryApps } from '../../repo';
import { lintCommand } from './lint';
import { promoteCommand } from './promote';
import { runCommand } from './run';
import { setupCommand } from './setup';

/** The values of the apps' declared secrets in this environment; none outside a repository. */
function declaredSecretValues(io: CommandIo): Array<string | undefined> {
  try {
    return declaredSecrets(readRepositoryApps(findRepositoryRoot(io.cwd))).map(
      (secret) => io.env[secret.name],
    );
  } catch {
    return [];
  }
}

export const gitlabCommands: CommandGroup = {
  summary: 'set up, lint, run and promote pipelines on a GitLab instance',
  subcommands: { setup: setupCommand, lint: lintCommand, run: runCommand, promote: promoteCommand },
  prepare: (io) => io.mask(declaredSecretValues(io)),
};
