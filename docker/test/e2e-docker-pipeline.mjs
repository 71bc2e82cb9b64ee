// `npm run e2e`: the repository's own root pipeline (.gitlab-ci.yml) run the way GitLab.com's runners run it, with
// gitlab-ci-local's DOCKER executor: every job in its `image:` (the stand-ins of docker/stand-ins, under the real
// names), `services:` as containers, a TLS registry (Debian's docker-registry) on the network every job joins, and
// the compose driver deploying over ssh to a deploy host (sshd + docker compose, talking to this engine).
//
// Runs, each one gitlab-ci-local pipeline on a temp clone (the runs share its CI caches, as a runner does):
//  1 cold    push to main: plan -> weather-app child: lint, test, build (buildah, in its image) -> staging deploy
//            (compose over ssh) + verification -> the manual production gate, played.
//  2 warm    one app source change, caches filled: the same, timed to "staging verified".
//  3 tag     v1.0.0 on run 2's commit: the release job (skopeo, in its image) copies the tested digest to v1.0.0
//            and latest; nothing is rebuilt.
//  4 broken  a release whose /health fails, built by the docker builder (docker:dind as a privileged service,
//            layer-cache on): IMAGE_DIGEST must name the app's own repository, never <image>/cache; the staging
//            verification fails, the compose driver rolls back to run 2's image, the job and the pipeline fail,
//            production is untouched.
// Every job's output and effects are checked, not only its status: an image's entrypoint can make a job "pass"
// without running its script. Prints a job table and the times from pipeline start to "staging verified".
//
// Starts the Docker engine when it is not running (and stops it again at the end only then). Removes everything it
// created (containers, network, registry, images it pulled or pushed, certs.d entry, temp dirs), failed or not.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseDocument } from 'yaml';
import {
  DOCKER,
  createNetwork,
  createRegistryCertificates,
  docker,
  ensureDockerEngine,
  inspectInRegistry,
  removeEngineImages,
  startTlsRegistry,
  trustRegistryInEngine,
} from './e2e-docker-harness.mjs';
import { createCleanupStack, repoRoot, run, waitFor } from './image-harness.mjs';

const require = createRequire(import.meta.url);
const { runParentPipelineLocally } = require(
  join(repoRoot, 'packages/pipeline/dist/local-pipeline/run-parent-pipeline-locally.js'),
);

const APP = 'weather-app';
const APP_PIPELINE = `apps/${APP}/.gitlab-ci.yml`;
const PRODUCTION_GATE = `${APP}-deploy-production`;
const STAGING_DEPLOY = `${APP}-deploy-staging`;
const RELEASE_TAG = 'v1.0.0';
// The images the pipelines name (their stand-ins must exist in the engine) and the one the Dockerfile builds FROM.
const NODE_BASE_IMAGE = 'node:24.11.1-bookworm-slim';
const DEPLOY_HOST_IMAGE = 'localhost/slipway/deploy-host:latest';
const HELPER_IMAGE = 'docker.io/firecow/gitlab-ci-local-util:latest';
// The broken release answers "fail" at once, so the verification needs far less than the default 120 s.
const VERIFY_TIMEOUT_SECONDS = 60;

const say = (line) => process.stdout.write(`slipway e2e: ${line}\n`);

class E2eFailure extends Error {}
function check(condition, message) {
  if (!condition) throw new E2eFailure(message);
}

function git(cwd, args) {
  return execFileSync('git', args, { cwd, encoding: 'utf8' }).trim();
}

function commitAll(cwd, message) {
  git(cwd, ['add', '--all']);
  git(cwd, [
    '-c',
    'user.name=Slipway e2e',
    '-c',
    'user.email=e2e@slipway.invalid',
    'commit',
    '--quiet',
    '--no-verify',
    '-m',
    message,
  ]);
  return git(cwd, ['rev-parse', 'HEAD']);
}

/**
 * Points the app pipeline's template inputs at this machine, in the temp clone only, and returns what it changed:
 * the build's base image comes through the registry (as GitLab's dependency proxy would serve it), trivy is off by its
 * kill switch (it cannot be installed here), and the deploys use the compose driver over ssh to the deploy host.
 */
function overlayAppPipeline(clone, { baseImage, builder, network }) {
  const file = join(clone, APP_PIPELINE);
  const document = parseDocument(readFileSync(file, 'utf8'));
  const changes = [];
  const includesOf = (template) => {
    const includes = document
      .get('include')
      .items.filter((item) => item.get('local') === `ci-templates/${template}`);
    check(
      includes.length > 0,
      `${APP_PIPELINE} no longer includes ci-templates/${template}; update the e2e overlay`,
    );
    return includes;
  };
  const setInput = (template, name, value, { environment } = {}) => {
    for (const include of includesOf(template)) {
      if (environment && include.getIn(['inputs', 'environment']) !== environment) continue;
      include.setIn(['inputs', name], value);
    }
    changes.push(`${template}${environment ? `[${environment}]` : ''}: ${name}=${JSON.stringify(value)}`);
  };
  setInput('build.yml', 'build-args', `NODE_IMAGE=${baseImage}`);
  if (builder !== 'buildah') setInput('build.yml', 'builder', builder);
  setInput('trivy.yml', 'enabled', false);
  setInput('deploy.yml', 'driver', 'compose');
  setInput('deploy.yml', 'ssh-host', 'root@deploy-host');
  setInput('deploy.yml', 'verify-timeout', VERIFY_TIMEOUT_SECONDS);
  for (const environment of ['staging', 'production']) {
    setInput('deploy.yml', 'compose-dir', `/srv/${APP}-${environment}`, { environment });
  }
  writeFileSync(file, document.toString({ lineWidth: 0 }));
  return changes.map((change) => change.replace(network, '<network>'));
}

/** A release whose /health always reports fail: what a bad deploy looks like to the verification. */
function breakHealth(clone) {
  const file = join(clone, `apps/${APP}/src/server.ts`);
  const source = readFileSync(file, 'utf8');
  const anchor = '  const weather = createWeatherService(config);\n';
  check(source.includes(anchor), `apps/${APP}/src/server.ts changed; update the e2e's broken release`);
  writeFileSync(
    file,
    source.replace(
      anchor,
      [
        '  // A deliberately broken release (npm run e2e): unit tests pass, only a deployment shows it.',
        "  health.register('e2e:broken-release', () => ({",
        "    status: 'fail',",
        "    output: 'deliberately broken release',",
        '  }));',
        anchor,
      ].join('\n'),
    ),
  );
}

/** One app source change that lint and test accept and that changes the image (the warm run's change). */
function touchAppSource(clone, runName) {
  const file = join(clone, `apps/${APP}/src/server.ts`);
  writeFileSync(file, `${readFileSync(file, 'utf8')}// ${runName}: one app source change (npm run e2e)\n`);
}

/**
 * The deploy host: sshd with the Docker CLI and compose, talking to this engine through its socket, on the e2e
 * network as `deploy-host`. Each environment has a compose project in /srv/<app>-<environment> whose app joins the
 * network as <app>-<environment>, so the verification reaches http://<app>-<environment>:3000 from the jobs.
 * Returns the ssh key and known_hosts line the deploy jobs get as CI/CD variables.
 */
async function startDeployHost(work, network, name) {
  const keyFile = join(work, 'deploy-key');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'slipway-e2e-deploy', '-f', keyFile]);
  await docker([
    'run',
    '--detach',
    '--name',
    name,
    '--network',
    network,
    '--network-alias',
    'deploy-host',
    '--volume',
    '/var/run/docker.sock:/var/run/docker.sock',
    '--env',
    `SSH_AUTHORIZED_KEYS=${readFileSync(`${keyFile}.pub`, 'utf8').trim()}`,
    DEPLOY_HOST_IMAGE,
  ]);
  const exec = (script, input) =>
    docker(['exec', '--interactive', name, 'sh', '-c', script], input === undefined ? {} : { input });
  const { stdout: address } = await docker([
    'inspect',
    '--format',
    `{{(index .NetworkSettings.Networks "${network}").IPAddress}}`,
    name,
  ]);
  // The host key as sshd serves it, asked from this machine over the network: sshd listens once this answers.
  const hostKey = await waitFor(
    'the deploy host to answer ssh',
    async () => (await run('ssh-keyscan', ['-T', '2', '-t', 'ed25519', address.trim()])).stdout.trim(),
    { timeoutMs: 30_000, intervalMs: 500 },
  );
  for (const environment of ['staging', 'production']) {
    const dir = `/srv/${APP}-${environment}`;
    await exec(`mkdir -p ${dir} && cat > ${dir}/compose.yaml`, composeFile(environment, network));
  }
  return {
    privateKey: readFileSync(keyFile, 'utf8'),
    knownHosts: `deploy-host ${hostKey.split(' ').slice(1, 3).join(' ')}\n`,
  };
}

// What an operator keeps on a compose deploy host (seed 001): the image comes from slipway.env, which the deploy job
// writes; everything else is the host's own configuration (see docker/compose.yaml for the local equivalent).
function composeFile(environment, network) {
  return [
    `# ${APP} (${environment}) on the deploy host; the deploy job writes APP_IMAGE to slipway.env next to this file.`,
    'services:',
    `  ${APP}:`,
    '    image: ${APP_IMAGE}',
    '    read_only: true',
    '    cap_drop: [ALL]',
    "    security_opt: ['no-new-privileges:true']",
    '    stop_grace_period: 15s',
    '    restart: unless-stopped',
    '    networks:',
    '      default:',
    `        aliases: [${APP}-${environment}]`,
    'networks:',
    '  default:',
    `    name: ${network}`,
    '    external: true',
    '',
  ].join('\n');
}

/** What the app container of an environment answers, fetched from a throwaway container on the network. */
async function askEnvironment(network, environment, path) {
  const { stdout } = await docker([
    'run',
    '--rm',
    '--network',
    network,
    NODE_BASE_IMAGE,
    'node',
    '-e',
    `fetch(process.argv[1]).then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })))`,
    `http://${APP}-${environment}:3000${path}`,
  ]);
  return JSON.parse(stdout.trim());
}

/** The image reference the running container of an environment's compose project was created from. */
async function runningImage(environment) {
  const { stdout: ids } = await docker([
    'ps',
    '--quiet',
    '--filter',
    `label=com.docker.compose.project=${APP}-${environment}`,
  ]);
  const containers = ids.trim().split(/\s+/).filter(Boolean);
  if (containers.length !== 1) return `${containers.length} running containers`;
  const { stdout } = await docker(['inspect', '--format', '{{.Config.Image}}', containers[0]]);
  return stdout.trim();
}

/** Tees gitlab-ci-local's output to stdout and keeps it; records when a line first matched each watched pattern. */
function captureOutput(watch = {}) {
  let text = '';
  let pending = '';
  const seenAt = {};
  const stream = new Writable({
    write(chunk, _encoding, done) {
      const piece = chunk.toString();
      text += piece;
      pending += piece;
      const lines = pending.split('\n');
      pending = lines.pop();
      for (const line of lines) {
        for (const [name, pattern] of Object.entries(watch)) {
          if (seenAt[name] === undefined && pattern.test(line)) seenAt[name] = Date.now();
        }
      }
      process.stdout.write(chunk, done);
    },
  });
  return { stream, text: () => text, seenAt };
}

/** The lines a job printed ("<job> > <line>", a child pipeline's job with its trigger path in front). */
function jobLines(output, job) {
  const pattern = new RegExp(`^\\s*(?:\\[[^\\]]*\\] -> )?${job} +> (.*)$`, 'gm');
  return [...output.matchAll(pattern)].map((match) => match[1]);
}

function jobSaid(output, job, expected) {
  const lines = jobLines(output, job);
  return lines.some((line) => (typeof expected === 'string' ? line.includes(expected) : expected.test(line)));
}

function checkJobSaid(runName, output, job, expected) {
  check(jobSaid(output, job, expected), `${runName}: ${job}'s log lacks ${expected}`);
}

/** The IMAGE_DIGEST a job wrote to its dotenv report (the templates tee that line into the job log). */
function reportedDigest(output, job) {
  const digests = jobLines(output, job)
    .map((line) => /^IMAGE_DIGEST=(\S+@sha256:[0-9a-f]{64})$/.exec(line.trim())?.[1])
    .filter(Boolean);
  check(digests.length === 1, `${job} reported ${digests.length} IMAGE_DIGEST lines, expected 1`);
  return digests[0];
}

/** The digest a deploy job rolled out, from its "slipway: deploying <digest> to <env>/<app>" line. */
function deployedDigests(output, job, environment) {
  return jobLines(output, job)
    .map(
      (line) =>
        new RegExp(`slipway: deploying (\\S+@sha256:[0-9a-f]{64}) to ${environment}/${APP} `).exec(line)?.[1],
    )
    .filter(Boolean);
}

function outcomesOf(result) {
  return Object.fromEntries(result.jobs.map((job) => [job.name, job.outcome]));
}

function checkPassed(runName, result, jobs) {
  const outcomes = outcomesOf(result);
  for (const job of jobs) {
    check(outcomes[job] === 'passed', `${runName}: ${job} did not pass (${outcomes[job] ?? 'did not run'})`);
  }
}

/** The common checks of lint, test and build: each ran its script in its image. */
function checkBuildPath(runName, result, output) {
  checkPassed(runName, result, ['plan', `${APP}-lint`, `${APP}-test`, `${APP}-build`]);
  check(/plan +> +run +weather-app: /m.test(output), `${runName}: the plan did not select ${APP}`);
  checkJobSaid(runName, output, `${APP}-lint`, /Tasks: +\d+ successful, \d+ total/);
  checkJobSaid(runName, output, `${APP}-test`, /Lines\s*:\s*\d+(\.\d+)?%/);
  checkJobSaid(runName, output, `${APP}-build`, /slipway: building \S+ \(version /);
}

const round = (seconds) => (seconds === undefined ? '-' : `${Math.round(seconds)} s`);
const shortDigest = (digest) => (digest ? digest.replace(/^.*@sha256:/, 'sha256:').slice(0, 19) : '');

function formatTable(rows) {
  const header = ['run', 'job', 'image', 'status', 'duration', 'digest'];
  const cells = rows.map((row) => header.map((column) => row[column] ?? ''));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((cell) => cell[column].length)),
  );
  const line = (values) =>
    values
      .map((value, column) => value.padEnd(widths[column]))
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...cells.map(line)].join('\n');
}

// The trigger jobs (strategy: depend): GitLab gives them their child pipeline's status; gitlab-ci-local reports them
// passed regardless, so the table shows what GitLab would.
const TRIGGER_JOBS = new Set(['apps', `${APP}-pipeline`]);

function tableRows(runName, result, digests) {
  return result.jobs.map((job) => ({
    run: runName,
    job: job.name,
    image: TRIGGER_JOBS.has(job.name) ? '(trigger)' : (job.image ?? '-'),
    status: TRIGGER_JOBS.has(job.name) && !result.passed ? 'failed (downstream)' : job.outcome,
    duration: round(job.durationSeconds),
    digest: digests[job.name] ?? '',
  }));
}

async function main() {
  const startedAt = Date.now();
  const cleanup = createCleanupStack();
  const interrupted = (signal) => {
    say(`${signal}: cleaning up`);
    cleanup.runAll().finally(() => process.exit(1));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    if (process.getuid?.() !== 0) throw new E2eFailure('the e2e needs root (dockerd, /etc/docker/certs.d)');
    const engine = await ensureDockerEngine(say);
    cleanup.defer('stop the Docker engine this run started', () => engine.stop());
    if (process.env.SLIPWAY_E2E_STAND_INS === 'present') {
      say('the stand-in images are taken as they are in the engine (SLIPWAY_E2E_STAND_INS=present)');
    } else {
      say('the stand-in images (docker/stand-ins): built, or reused by their input hash');
      await run(process.execPath, [join(repoRoot, 'docker/stand-ins/build-stand-ins.mjs')], {
        stderrTo: process.stderr,
      }).then(({ stdout }) => process.stdout.write(stdout));
    }

    const work = mkdtempSync(join(tmpdir(), 'slipway-e2e-'));
    cleanup.defer('remove the temp directory', () => rmSync(work, { recursive: true, force: true }));
    const id = `${process.pid}-${Date.now().toString(36)}`;
    const network = await createNetwork(`slipway-e2e-${id}`);
    cleanup.defer('remove the e2e network and what is still on it', () => network.remove());
    const certificates = await createRegistryCertificates(join(work, 'tls'), network.gateway);
    const registry = await startTlsRegistry(join(work, 'registry'), network.gateway, certificates);
    cleanup.defer('stop the registry', () => registry.stop());
    cleanup.defer('remove the engine images from the e2e registry', () =>
      removeEngineImages(`${registry.address}/`),
    );
    const untrust = trustRegistryInEngine(registry.address, certificates.ca);
    cleanup.defer(`remove /etc/docker/certs.d/${registry.address}`, untrust);
    const registryImage = `${registry.address}/slipway/slipway`;
    const appImage = `${registryImage}/${APP}`;

    // The Dockerfile's base image, served by the registry the jobs reach (GitLab's dependency proxy plays this part),
    // with one addition for this machine: TLS leaves it through an intercepting proxy whose CA is in the image's
    // bundle but not in Node's own list, so the build's `npm` steps get NODE_EXTRA_CA_CERTS (nothing else changes).
    const baseImage = `${registry.address}/library/${NODE_BASE_IMAGE}`;
    await docker(['build', '--quiet', '--tag', baseImage, '-'], {
      input: `FROM ${NODE_BASE_IMAGE}\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n`,
    });
    await docker(['push', '--quiet', baseImage]);
    say(`base image ${baseImage}: ${NODE_BASE_IMAGE} + NODE_EXTRA_CA_CERTS (this machine's TLS proxy)`);
    const deployHostName = `slipway-e2e-deploy-host-${id}`;
    const deployHost = await startDeployHost(work, network.name, deployHostName);
    cleanup.defer('stop the deploy host and the apps it started', async () => {
      for (const environment of ['staging', 'production']) {
        await docker([
          'exec',
          deployHostName,
          'sh',
          '-c',
          `cd /srv/${APP}-${environment} && if [ -f slipway.env ]; then docker compose --env-file slipway.env down --volumes; fi`,
        ]).catch(() => {});
      }
      await docker(['rm', '--force', deployHostName]);
    });
    say(
      `registry https://${registry.address} (TLS, CA of this run); network ${network.name}; deploy host ${deployHostName}`,
    );
    say(
      'trivy SKIPPED: trivy cannot be installed on this machine, so the pipeline runs with its kill switch (trivy.yml enabled: false)',
    );

    // The repository's committed HEAD, plus the local overlay as one more commit, in a clone the runs start from.
    const source = join(work, 'source');
    git(repoRoot, ['clone', '--quiet', '--no-hardlinks', `file://${repoRoot}`, source]);
    // Deploys happen on the default branch only, so the runs are pushes to main whatever branch is checked out here.
    git(source, ['checkout', '--quiet', '-B', 'main']);
    const changes = overlayAppPipeline(source, { baseImage, builder: 'buildah', network: network.name });
    commitAll(source, `ci(e2e): run ${APP}'s pipeline against this machine's registry and deploy host`);
    say(`overlay in the temp clone only (${APP_PIPELINE} inputs): ${changes.join('; ')}`);

    // Project CI/CD variables, as `slipway gitlab setup` and GitLab's predefined registry variables would provide.
    // The registry needs no login, so CI_REGISTRY_PASSWORD stays unset and the jobs say they push without one.
    const variables = {
      CI_REGISTRY: registry.address,
      CI_REGISTRY_IMAGE: registryImage,
      CI_REGISTRY_USER: 'slipway-e2e',
      WEATHER_APP_STAGING_URL: `http://${APP}-staging:3000`,
      WEATHER_APP_PRODUCTION_URL: `http://${APP}-production:3000`,
      SSH_KNOWN_HOSTS: deployHost.knownHosts,
      // The runner's environment on this machine: Node in the jobs trusts the TLS proxy's and the registry's CA.
      NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
      // The docker:28.5.2-cli stand-in is Debian's 20.10 client, whose `docker build` is the classic builder; the
      // real 28.x client builds with BuildKit by default, and the Dockerfile needs it (RUN --mount=type=cache).
      DOCKER_BUILDKIT: '1',
    };
    const fileVariables = { SSH_PRIVATE_KEY: deployHost.privateKey };
    const runDir = join(work, 'runner');
    mkdirSync(runDir);
    // The settings of GitLab.com's hosted Linux runners that matter here: privileged containers (buildah needs
    // them for its namespaces, docker:dind for its daemon; unprivileged, buildah fails with "Error during
    // unshare(CLONE_NEWUSER)") and a /certs/client volume shared by a job and its services (docker:dind's TLS).
    const dockerExecutor = {
      containerExecutable: DOCKER,
      networks: [network.name],
      caFile: certificates.bundle,
      helperImage: HELPER_IMAGE,
      privileged: true,
      volumes: ['%gcl-cert%:/certs/client'],
    };
    const runPipeline = async (runName, options) => {
      const output = captureOutput({
        stagingVerified: new RegExp(`${STAGING_DEPLOY} +> verify: ok: `),
      });
      say(`run ${runName}`);
      const result = await runParentPipelineLocally({
        repositoryRoot: source,
        workDir: runDir,
        reuseWorkDir: true,
        delivery: true,
        executor: 'docker',
        docker: dockerExecutor,
        variables,
        fileVariables,
        concurrency: 2,
        output: output.stream,
        ...options,
      });
      const toStagingVerified =
        output.seenAt.stagingVerified === undefined
          ? undefined
          : (output.seenAt.stagingVerified - result.startedAt) / 1000;
      return { result, text: output.text(), toStagingVerified };
    };
    const rows = [];
    const figures = [];

    // Run 1: cold caches, the production gate played.
    const run1 = await runPipeline('1 (cold): push to main, the production gate played', {
      manualJobs: [PRODUCTION_GATE],
    });
    checkBuildPath('run 1', run1.result, run1.text);
    checkPassed('run 1', run1.result, [STAGING_DEPLOY, PRODUCTION_GATE]);
    check(run1.result.passed, 'run 1: the pipeline failed');
    check(
      !(`${APP}-trivy` in outcomesOf(run1.result)),
      `run 1: ${APP}-trivy ran although its kill switch is off`,
    );
    const built1 = reportedDigest(run1.text, `${APP}-build`);
    check(built1.startsWith(`${appImage}@`), `run 1: IMAGE_DIGEST ${built1} is not in ${appImage}`);
    const pushed1 = await inspectInRegistry(`${appImage}:${run1.result.commit}`, certificates.caDir);
    check(
      built1.endsWith(`@${pushed1}`),
      `run 1: the registry serves ${pushed1}, the build reported ${built1}`,
    );
    for (const [job, environment] of [
      [STAGING_DEPLOY, 'staging'],
      [PRODUCTION_GATE, 'production'],
    ]) {
      const deployed = deployedDigests(run1.text, job, environment);
      check(
        deployed.length === 1 && deployed[0] === built1,
        `run 1: ${job} deployed ${deployed.join(', ') || 'nothing'}`,
      );
      checkJobSaid('run 1', run1.text, job, 'with the compose driver');
      checkJobSaid('run 1', run1.text, job, `verify: ok: healthy, serving ${run1.result.commit}`);
      check(
        (await runningImage(environment)) === built1,
        `run 1: the ${environment} container does not run ${built1}`,
      );
      const version = await askEnvironment(network.name, environment, '/version');
      check(
        version.body.commit === run1.result.commit,
        `run 1: ${environment} serves ${version.body.commit}`,
      );
    }
    say(`run 1 passed: ${built1} built, staged (compose over ssh) and released to production`);
    rows.push(
      ...tableRows('1 cold', run1.result, {
        [`${APP}-build`]: shortDigest(built1),
        [STAGING_DEPLOY]: shortDigest(built1),
        [PRODUCTION_GATE]: shortDigest(built1),
      }),
    );
    figures.push(['cold', run1.toStagingVerified]);
    say(`pipeline start -> "staging verified", cold: ${round(run1.toStagingVerified)}`);

    // Run 2: caches filled, one app source change; nobody plays the production gate.
    touchAppSource(source, 'run 2');
    commitAll(source, `refactor(${APP}): one source change for the warm run`);
    const run2 = await runPipeline('2 (warm): one app source change', {});
    checkBuildPath('run 2', run2.result, run2.text);
    checkPassed('run 2', run2.result, [STAGING_DEPLOY]);
    check(run2.result.passed, 'run 2: the pipeline failed');
    const built2 = reportedDigest(run2.text, `${APP}-build`);
    check(built2 !== built1, 'run 2: the source change built the same digest');
    check(
      deployedDigests(run2.text, STAGING_DEPLOY, 'staging')[0] === built2,
      'run 2: staging did not deploy run 2',
    );
    check(
      (await askEnvironment(network.name, 'staging', '/version')).body.commit === run2.result.commit,
      'run 2: staging does not serve run 2',
    );
    say(`run 2 passed: ${built2} staged`);
    rows.push(
      ...tableRows('2 warm', run2.result, {
        [`${APP}-build`]: shortDigest(built2),
        [STAGING_DEPLOY]: shortDigest(built2),
      }),
    );
    figures.push(['warm', run2.toStagingVerified]);
    say(`pipeline start -> "staging verified", warm: ${round(run2.toStagingVerified)}`);

    // Run 3: a semver tag on run 2's commit. The release job runs in the skopeo image: its script must really run.
    const run3 = await runPipeline(`3 (tag ${RELEASE_TAG}): release run 2's image`, { tag: RELEASE_TAG });
    checkPassed('run 3', run3.result, ['plan', `${APP}-release`]);
    check(!(`${APP}-build` in outcomesOf(run3.result)), 'run 3: the tag pipeline rebuilt the image');
    const released = reportedDigest(run3.text, `${APP}-release`);
    check(released === built2, `run 3: the release reported ${released}, not run 2's ${built2}`);
    for (const tag of [RELEASE_TAG, 'latest']) {
      checkJobSaid('run 3', run3.text, `${APP}-release`, `-> ${appImage}:${tag}`);
      const digest = await inspectInRegistry(`${appImage}:${tag}`, certificates.caDir);
      check(built2.endsWith(`@${digest}`), `run 3: ${appImage}:${tag} is ${digest}, not run 2's image`);
    }
    say(`run 3 passed: ${RELEASE_TAG} and latest are ${built2} (copied by skopeo in its image, not rebuilt)`);
    rows.push(...tableRows(`3 ${RELEASE_TAG}`, run3.result, { [`${APP}-release`]: shortDigest(released) }));

    // Run 4: a broken release on main, built by the docker builder (docker:dind, TLS between client and daemon,
    // layer-cache on); the staging verification fails and the compose driver rolls back.
    breakHealth(source);
    const dockerChanges = overlayAppPipeline(source, { baseImage, builder: 'docker', network: network.name });
    commitAll(source, `fix(${APP}): a deliberately broken release whose health check fails`);
    say(`run 4 overlay: ${dockerChanges.find((change) => change.includes('builder'))}`);
    const run4 = await runPipeline('4 (broken release, docker builder): staging must roll back', {});
    const outcomes4 = outcomesOf(run4.result);
    check(!run4.result.passed, 'run 4: the pipeline of the broken release passed');
    checkBuildPath('run 4', run4.result, run4.text);
    check(outcomes4[STAGING_DEPLOY] === 'failed', `run 4: ${STAGING_DEPLOY} did not fail`);
    check(!(PRODUCTION_GATE in outcomes4), `run 4: ${PRODUCTION_GATE} ran`);
    const broken = reportedDigest(run4.text, `${APP}-build`);
    checkJobSaid('run 4', run4.text, `${APP}-build`, /Successfully built|writing image|naming to/);
    check(
      broken.startsWith(`${appImage}@sha256:`),
      `run 4: IMAGE_DIGEST ${broken} does not name ${appImage} (the app's own repository)`,
    );
    const pushed4 = await inspectInRegistry(`${appImage}:${run4.result.commit}`, certificates.caDir);
    check(
      broken === `${appImage}@${pushed4}`,
      `run 4: the registry serves ${pushed4} for the commit, not ${broken}`,
    );
    const cacheDigest = await inspectInRegistry(`${appImage}/cache:main`, certificates.caDir);
    say(
      `run 4: the docker builder's IMAGE_DIGEST is ${broken}; its layer cache is ${appImage}/cache:main (${cacheDigest.slice(0, 19)})`,
    );
    check(
      deployedDigests(run4.text, STAGING_DEPLOY, 'staging')[0] === broken,
      'run 4: staging did not deploy it',
    );
    for (const expected of [
      'verify: FAILED: health is "fail", not "pass"',
      'slipway: DEPLOY FAILED: the deployment is not healthy.',
      `slipway: ROLLED BACK staging/${APP} to the previous version (${built2})`,
    ]) {
      check(run4.text.includes(expected), `run 4: the staging deploy log lacks "${expected}"`);
    }
    const restored = await waitFor(
      "staging to serve run 2's commit again",
      async () => {
        const [health, version] = [
          await askEnvironment(network.name, 'staging', '/health'),
          await askEnvironment(network.name, 'staging', '/version'),
        ];
        return health.body.status === 'pass' && version.body.commit === run2.result.commit
          ? version.body
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    check(
      (await runningImage('staging')) === built2,
      'run 4: the staging container does not run run 2 again',
    );
    check((await runningImage('production')) === built1, 'run 4: production changed');
    say(
      `run 4 failed as it must: ${broken} rolled back; staging serves ${restored.commit.slice(0, 12)} again`,
    );
    rows.push(
      ...tableRows('4 broken (docker)', run4.result, {
        [`${APP}-build`]: shortDigest(broken),
        [STAGING_DEPLOY]: `${shortDigest(broken)} -> rolled back to ${shortDigest(built2)}`,
      }),
    );

    process.stdout.write(`\n${formatTable(rows)}\n\n`);
    for (const [name, seconds] of figures) {
      say(`pipeline start -> "staging verified", ${name}: ${round(seconds)}`);
    }
    say(`passed in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  } finally {
    await cleanup.runAll();
  }
}

main().catch((error) => {
  process.stderr.write(`slipway e2e: FAILED: ${error instanceof E2eFailure ? error.message : error.stack}\n`);
  process.exitCode = 1;
});
