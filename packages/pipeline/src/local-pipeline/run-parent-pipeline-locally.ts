// `slipway pipeline local` (npm run pipeline): the parent pipeline (.gitlab-ci.yml) run locally by gitlab-ci-local
// in a fresh clone, through validate, plan and the planned apps' child pipelines. Every job runs in the shell
// executor by default (fast, for everyday work); `npm run e2e` picks the docker executor, where every job runs in
// its `image:` and its `services:` run as containers, as on GitLab.com's runners.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';
import { runGit, tryGit } from '../plan/git';

export interface LocalPipelineOptions {
  /** The repository whose committed HEAD runs. */
  repositoryRoot: string;
  /** Where the clone goes; a new temporary directory by default. */
  workDir?: string;
  /** The branch merge request pipelines target; `main` by default. */
  defaultBranch?: string;
  /** Receives gitlab-ci-local's output and the runner's own notes, a line at a time; stdout by default. */
  output?: { write(text: string): unknown };
  /**
   * Also run the delivery jobs (build, scan, release, deploy), which need a registry and deploy targets (see
   * `npm run e2e`); off by default, so the pipeline stops after test.
   */
  delivery?: boolean;
  /** More project CI/CD variables (gitlab-ci-local's variables file, which also reaches the child pipelines). */
  variables?: Record<string, string>;
  /** Manual jobs to play, as someone pressing their button would (gitlab-ci-local --manual). */
  manualJobs?: string[];
  /**
   * Project CI/CD variables of type "file" (GitLab writes the value to a file and the variable holds its path),
   * such as an ssh private key.
   */
  fileVariables?: Record<string, string>;
  /**
   * `shell` (default): every job on this machine, whatever its `image:`. `docker`: every job in its `image:` and
   * its `services:` as containers (gitlab-ci-local's docker executor); every image must exist locally or be
   * pullable.
   */
  executor?: 'shell' | 'docker';
  /** Settings of the docker executor, the counterpart of a runner's config.toml `[runners.docker]`. */
  docker?: DockerExecutorOptions;
  /**
   * Run as a pipeline for this tag on HEAD (CI_COMMIT_TAG set, CI_COMMIT_BRANCH unset), as GitLab does when the
   * tag is pushed. The clone gets the tag too.
   */
  tag?: string;
  /**
   * Keep workDir's clone and gitlab-ci-local's state (its CI caches) from an earlier run and move it to the
   * repository's HEAD, as a runner keeps its cache between pipelines. Without it workDir must be empty.
   */
  reuseWorkDir?: boolean;
  /** How many jobs run at once (gitlab-ci-local --concurrency); 1 by default. */
  concurrency?: number;
}

export interface DockerExecutorOptions {
  /** The container engine's client (gitlab-ci-local --container-executable); `docker` on PATH by default. */
  containerExecutable?: string;
  /** Networks every job and service container also joins (`network_mode`/extra networks of a runner). */
  networks?: string[];
  /** Run jobs and services privileged, as GitLab.com's hosted runners do (docker:dind needs it). */
  privileged?: boolean;
  /**
   * A CA bundle mounted over /etc/ssl/certs/ca-certificates.crt in every job and service container (a runner's
   * `tls_ca_file`/volume), so they trust a registry or proxy whose CA is not public.
   */
  caFile?: string;
  /** gitlab-ci-local's helper image (copies artifacts and caches in and out; it needs bash and rsync). */
  helperImage?: string;
  /**
   * Volumes of every job and service container (a runner's `volumes`); gitlab-ci-local's `%gcl-cert%:/certs/client`
   * is one volume per job shared with its services, as docker:dind's TLS setup needs.
   */
  volumes?: string[];
}

/** One line per job of gitlab-ci-local's "<job> starting <image> (<stage>)": the image each job ran in. */
export type JobImages = Map<string, string>;

export type JobOutcome = 'passed' | 'failed' | 'allowed to fail';

export interface LocalPipelineResult {
  /** True when gitlab-ci-local succeeded and no job failed, in the parent or in any child pipeline. */
  passed: boolean;
  /** Every job that ran, parent and child pipelines alike, in the order gitlab-ci-local reported them. */
  jobs: Array<{ name: string; outcome: JobOutcome; durationSeconds?: number; image?: string }>;
  workDir: string;
  /** The full SHA of the commit that ran (CI_COMMIT_SHA). */
  commit: string;
  /** What the pipeline ran as: a default-branch push, a tag, or a merge request from the current branch. */
  pipelineKind: 'default-branch' | 'merge-request' | 'tag';
  /** Milliseconds since the Unix epoch when gitlab-ci-local started, for timings measured from the output. */
  startedAt: number;
}

// gitlab-ci-local derives CI_PROJECT_PATH and friends from origin's URL and accepts only GitLab-like URLs;
// nothing contacts it, because the clone already holds every commit the plan needs.
const FAKE_ORIGIN = 'https://gitlab.slipway.invalid/slipway/slipway.git';

// gitlab-ci-local's stand-in for the project's CI/CD variables, which also reaches the child pipelines.
const LOCAL_VARIABLES_FILE = '.gitlab-ci-local-variables.yml';

// The report gitlab-ci-local prints after each pipeline, one line per job that ran (a child pipeline's passed
// jobs carry their trigger path): " PASS  plan", " PASS  [apps -> weather-app-pipeline] -> weather-app-lint  90%
// coverage", " WARN  flaky-job  pre_script" (allowed to fail), " FAIL  weather-app-test".
const JOB_REPORT_LINES: Array<[RegExp, JobOutcome]> = [
  [/^ PASS +(?:\[[^\]]*\] -> )?(\S+)/, 'passed'],
  [/^ WARN +(\S+) +pre_script$/, 'allowed to fail'],
  [/^ FAIL +(\S+)\s*$/, 'failed'],
];

// gitlab-ci-local's line when a job ends: "plan   finished in 20 s"; a child pipeline's is indented and carries its
// trigger path: "\t\t[apps -> weather-app-pipeline] -> weather-app-lint   finished in 1.2 min".
const JOB_FINISHED_LINE = /^\s*(?:\[[^\]]*\] -> )?(\S+) +finished in ([\d.]+) (ms|s|min)\b/;
const SECONDS_PER_UNIT: Record<string, number> = { ms: 0.001, s: 1, min: 60 };

/** The job and its duration in seconds from a "<job> finished in <n> <unit>" line. */
export function parseJobFinishedLine(line: string): { name: string; seconds: number } | undefined {
  const match = JOB_FINISHED_LINE.exec(line);
  if (!match?.[1] || !match[2] || !match[3]) return undefined;
  return { name: match[1], seconds: Number(match[2]) * (SECONDS_PER_UNIT[match[3]] ?? 1) };
}

// gitlab-ci-local's line when a job starts: "plan  starting node:24.11.1-bookworm (plan)", or "starting shell"; a
// child pipeline's carries its trigger path like the finished line.
const JOB_STARTING_LINE = /^\s*(?:\[[^\]]*\] -> )?(\S+) +starting (\S+) \(/;

/** The job and the image it runs in (`shell` for the shell executor) from a "<job> starting <image> (<stage>)" line. */
export function parseJobStartingLine(line: string): { name: string; image: string } | undefined {
  const match = JOB_STARTING_LINE.exec(line);
  if (!match?.[1] || !match[2]) return undefined;
  return { name: match[1], image: match[2] };
}

export function parseJobReportLine(line: string): { name: string; outcome: JobOutcome } | undefined {
  for (const [pattern, outcome] of JOB_REPORT_LINES) {
    const name = pattern.exec(line)?.[1];
    if (name) return { name, outcome };
  }
  return undefined;
}

function gitlabCiLocalBin(): string {
  return require.resolve('gitlab-ci-local/dist/index.js');
}

function localVariables(
  executor: 'shell' | 'docker',
  delivery: boolean,
  extra: Record<string, string>,
  files: Record<string, string>,
): string {
  const variable = (value: string) => ({ type: 'variable', values: { '*': value } });
  const file = (value: string) => ({ type: 'file', values: { '*': value } });
  return stringify({
    // Build, scan, release and deploy need a registry, trivy and a cluster; locally the pipeline stops after test
    // unless the caller provides those (npm run e2e).
    ...(delivery ? {} : { SLIPWAY_DELIVERY_DISABLED: variable('true') }),
    // With --force-shell-executor gitlab-ci-local still sets CI_PROJECT_DIR to /builds/<project>, so the
    // templates' npm cache ($CI_PROJECT_DIR/.npm) would land in /builds on this machine; use this machine's own
    // npm cache instead, the warm cache a runner restores from the lockfile-keyed CI cache. In containers the
    // templates' own cache path is right, and a project variable would override it (it outranks job variables).
    ...(executor === 'shell'
      ? { npm_config_cache: variable(process.env.npm_config_cache ?? join(homedir(), '.npm')) }
      : {}),
    ...Object.fromEntries(Object.entries(extra).map(([name, value]) => [name, variable(value)])),
    ...Object.fromEntries(Object.entries(files).map(([name, value]) => [name, file(value)])),
  });
}

// GitLab's predefined variables of a tag pipeline (docs.gitlab.com/ci/variables/predefined_variables/):
// CI_COMMIT_TAG is set and CI_COMMIT_BRANCH is not; the ref is the tag.
function tagVariables(tag: string): string[] {
  const slug = tag
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return [`CI_COMMIT_TAG=${tag}`, `CI_COMMIT_REF_NAME=${tag}`, `CI_COMMIT_REF_SLUG=${slug}`];
}

function executorArguments(options: LocalPipelineOptions): string[] {
  if ((options.executor ?? 'shell') === 'shell') {
    return [
      '--force-shell-executor',
      // Each job gets its own copy of the checkout, as on a runner, so each installs its own dependencies.
      '--shell-isolation',
    ];
  }
  const docker = options.docker ?? {};
  return [
    // A job without `image:` runs in the default image, as on a runner; never on this machine.
    '--shell-executor-no-image=false',
    // Containers run as their image's USER, as GitLab's runner starts them (gitlab-ci-local forces root by default).
    '--no-umask',
    '--cleanup',
    ...(docker.containerExecutable ? ['--container-executable', docker.containerExecutable] : []),
    ...(docker.helperImage ? ['--helper-image', docker.helperImage] : []),
    ...(docker.privileged ? ['--privileged'] : []),
    ...(docker.caFile ? ['--ca-file', docker.caFile] : []),
    ...(docker.networks ?? []).flatMap((network) => ['--network', network]),
    ...(docker.volumes ?? []).flatMap((volume) => ['--volume', volume]),
  ];
}

async function mergeRequestVariables(
  clone: string,
  defaultBranch: string,
  branch: string,
): Promise<string[]> {
  const diffBase = await runGit(clone, [
    'merge-base',
    '--end-of-options',
    `refs/remotes/origin/${defaultBranch}`,
    'HEAD',
  ]);
  return [
    'CI_PIPELINE_SOURCE=merge_request_event',
    'CI_MERGE_REQUEST_IID=1',
    `CI_MERGE_REQUEST_DIFF_BASE_SHA=${diffBase}`,
    `CI_MERGE_REQUEST_SOURCE_BRANCH_NAME=${branch}`,
    `CI_MERGE_REQUEST_TARGET_BRANCH_NAME=${defaultBranch}`,
  ];
}

/**
 * Clones the repository's HEAD, points origin at a GitLab-like URL, and runs the whole parent pipeline with
 * gitlab-ci-local (shell executor, GitLab's JSON schema validation on). On the default branch, or a detached
 * HEAD, it runs as a push to the default branch; on any other branch as a merge request into the default
 * branch, so commitlint checks its commits and the plan compares with the fork point.
 */
export async function runParentPipelineLocally(options: LocalPipelineOptions): Promise<LocalPipelineResult> {
  const output = options.output ?? process.stdout;
  const say = (line: string) => output.write(`slipway pipeline: ${line}\n`);
  const defaultBranch = options.defaultBranch ?? 'main';
  const workDir = options.workDir ?? mkdtempSync(join(tmpdir(), 'slipway-pipeline-'));

  const dirty = await runGit(options.repositoryRoot, ['status', '--porcelain', '--untracked-files=no']);
  if (dirty !== '')
    say('uncommitted changes are not part of the run: it runs the committed HEAD, as GitLab would');
  if (options.reuseWorkDir && existsSync(join(workDir, '.git'))) {
    // The runner's checkout of a new pipeline: the same directory (and its .gitlab-ci-local/cache), the new commit.
    await runGit(workDir, ['fetch', '--quiet', `file://${options.repositoryRoot}`, 'HEAD']);
    await runGit(workDir, ['checkout', '--quiet', '--force', '--detach', 'FETCH_HEAD']);
    await runGit(workDir, ['clean', '--quiet', '-d', '--force', '--exclude', '.gitlab-ci-local']);
  } else {
    await runGit(workDir, ['clone', '--quiet', '--no-hardlinks', `file://${options.repositoryRoot}`, '.']);
    await runGit(workDir, ['remote', 'set-url', 'origin', FAKE_ORIGIN]);
  }
  let branch = await runGit(workDir, ['rev-parse', '--abbrev-ref', 'HEAD']);
  const pipelineKind: LocalPipelineResult['pipelineKind'] = options.tag
    ? 'tag'
    : branch === 'HEAD' || branch === defaultBranch
      ? 'default-branch'
      : 'merge-request';
  if (pipelineKind !== 'merge-request') {
    // A detached checkout (as CI makes) runs as the default branch's tip; a tag pipeline runs on it too.
    await runGit(workDir, ['checkout', '--quiet', '-B', defaultBranch]);
    await runGit(workDir, ['update-ref', '--end-of-options', `refs/remotes/origin/${defaultBranch}`, 'HEAD']);
    branch = defaultBranch;
    if (options.tag) await runGit(workDir, ['tag', '--force', options.tag, 'HEAD']);
  } else if (
    !(await tryGit(workDir, [
      'rev-parse',
      '--verify',
      '--quiet',
      '--end-of-options',
      `refs/remotes/origin/${defaultBranch}`,
    ]))
  ) {
    throw new Error(`the repository has no branch "${defaultBranch}" for the merge request to target`);
  }
  await runGit(workDir, ['remote', 'set-head', 'origin', defaultBranch]);
  const executor = options.executor ?? 'shell';
  // gitlab-ci-local hands a child pipeline the trigger job's variables instead of --variable, so the tag's
  // variables go into the variables file too, which every pipeline reads.
  const tagFileVariables = Object.fromEntries(
    (options.tag ? tagVariables(options.tag) : []).map((pair) => [
      pair.slice(0, pair.indexOf('=')),
      pair.slice(pair.indexOf('=') + 1),
    ]),
  );
  writeFileSync(
    join(workDir, LOCAL_VARIABLES_FILE),
    localVariables(
      executor,
      options.delivery ?? false,
      { ...tagFileVariables, ...options.variables },
      options.fileVariables ?? {},
    ),
  );

  const variables =
    pipelineKind === 'merge-request'
      ? await mergeRequestVariables(workDir, defaultBranch, branch)
      : options.tag
        ? tagVariables(options.tag)
        : [];
  const commit = await runGit(workDir, ['rev-parse', 'HEAD']);
  const kind =
    pipelineKind === 'merge-request'
      ? `a merge request into ${defaultBranch}`
      : options.tag
        ? `the tag ${options.tag}`
        : `a push to ${defaultBranch}`;
  say(
    `running .gitlab-ci.yml at ${branch} (${commit.slice(0, 8)}) as ${kind} with the ${executor} executor in ${workDir}`,
  );

  const args = [
    gitlabCiLocalBin(),
    '--json-schema-validation',
    ...executorArguments(options),
    // Two cores at most here: one job at a time keeps the npm installs from starving each other.
    '--concurrency',
    String(options.concurrency ?? 1),
    '--no-color',
    ...(options.manualJobs ?? []).flatMap((job) => ['--manual', job]),
    ...variables.flatMap((variable) => ['--variable', variable]),
    // gitlab-ci-local sets CI_COMMIT_BRANCH to the checked-out branch; a tag pipeline has none.
    ...(options.tag ? ['--unset-variable', 'CI_COMMIT_BRANCH'] : []),
  ];
  const jobs: LocalPipelineResult['jobs'] = [];
  const durations = new Map<string, number>();
  const images = new Map<string, string>();
  const startedAt = Date.now();
  const exitCode = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      cwd: workDir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        // The jobs run on this machine; they get this Node first on PATH, the version .nvmrc asks for.
        PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}`,
        // gitlab-ci-local sets it for child pipelines itself, and the merge request and tag runs set them on purpose.
        GCL_IGNORE_PREDEFINED_VARS:
          'CI_PIPELINE_SOURCE,CI_COMMIT_REF_NAME,CI_COMMIT_REF_SLUG,CI_COMMIT_BRANCH',
      },
    });
    createInterface({ input: child.stdout }).on('line', (line) => {
      output.write(`${line}\n`);
      const starting = parseJobStartingLine(line);
      if (starting) images.set(starting.name, starting.image);
      const job = parseJobReportLine(line);
      if (job) jobs.push({ ...job, durationSeconds: durations.get(job.name), image: images.get(job.name) });
      const finished = parseJobFinishedLine(line);
      if (finished) durations.set(finished.name, finished.seconds);
    });
    // A failed job's "finished in" line comes on stderr.
    createInterface({ input: child.stderr }).on('line', (line) => {
      output.write(`${line}\n`);
      const finished = parseJobFinishedLine(line);
      if (finished) durations.set(finished.name, finished.seconds);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve(code ?? 1));
  });
  // gitlab-ci-local reports a trigger job with `strategy: depend` as passed even when its child pipeline
  // failed, so the child jobs' own outcomes decide too.
  const failed = jobs.filter((job) => job.outcome === 'failed').map((job) => job.name);
  const passed = exitCode === 0 && failed.length === 0;
  say(
    passed
      ? `pipeline passed: ${jobs.map((job) => job.name).join(', ')}`
      : `pipeline failed: ${failed.length > 0 ? failed.join(', ') : `gitlab-ci-local exit code ${exitCode}`}`,
  );
  return { passed, jobs, workDir, commit, pipelineKind, startedAt };
}

export function removeLocalPipelineWorkDir(workDir: string): void {
  rmSync(workDir, { recursive: true, force: true });
}
