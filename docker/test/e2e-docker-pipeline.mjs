// `npm run e2e`: the repository's own root pipeline (.gitlab-ci.yml) run the way GitLab.com's runners run it, with
// gitlab-ci-local's DOCKER executor: every job in its `image:` (the stand-ins of docker/stand-ins, under the real
// names), `services:` as containers, a TLS registry (Debian's docker-registry) on the network every job joins, and
// the compose driver deploying over ssh to a deploy host (sshd + docker compose, talking to this engine), where
// each app has a staging and a production compose project (saved-cities with its own Postgres container).
//
// Runs, each one gitlab-ci-local pipeline on a temp clone (the runs share its CI caches, as a runner does):
//  1 cold      push to main, both apps: plan -> each app's child pipeline: lint, test (saved-cities' integration
//              test against a postgres service container), build (buildah, in its image), saved-cities' migrate
//              step, staging deploy (compose over ssh) + verification by content key -> both production gates
//              played.
//  2 tag       v1.0.0 on a docs-only commit: both apps released by content key with no rebuild (the build jobs only
//              look their image up); the release job (skopeo, in its image) copies the digests staging verified to
//              v1.0.0 and latest.
//  3 warm      one weather-app source change: only weather-app is planned; saved-cities' staging is in sync and
//              its image is not touched. Timed to "staging verified".
//  4 missed    a saved-cities change committed whose pipeline never ran (as if cancelled after the push), then a
//              docs-only push: the plan sees saved-cities' content has no image, builds and deploys it.
//  5 schedule  weather-app's staging set by hand to run 1's image; a scheduled pipeline (CI_PIPELINE_SOURCE
//              schedule) reports the drift and redeploys run 3's image (build: lookup only).
//  6 broken    a service-kit change (both apps planned) whose release fails /health, with a saved-cities migration
//              (expand-only); weather-app built by the docker builder (docker:dind as a privileged service,
//              layer-cache on): IMAGE_DIGEST names the app's own repository, never <image>/cache. Both staging
//              verifications fail and roll back; the previous versions still serve on the migrated schema (the
//              data is still there); production and its database are untouched.
// Every job's output and effects are checked, not only its status: an image's entrypoint can make a job "pass"
// without running its script. Prints a job table, the times from pipeline start to "staging verified", the plan
// times and the build-job times of unchanged apps.
//
// Starts the Docker engine when it is not running (and stops it again at the end only then). Removes everything it
// created (containers, network, registry, images it pulled or pushed, certs.d entry, temp dirs), failed or not.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseDocument, stringify } from 'yaml';
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
import { commitAll, createCleanupStack, git, repoRoot, run, waitFor } from './image-harness.mjs';

const require = createRequire(import.meta.url);
const { runParentPipelineLocally } = require(
  join(repoRoot, 'packages/pipeline/dist/local-pipeline/run-parent-pipeline-locally.js'),
);
const SLIPWAY_CLI = join(repoRoot, 'packages/pipeline/dist/cli.js');

const WEATHER = 'weather-app';
const CITIES = 'saved-cities';
const APPS = [WEATHER, CITIES];
const ENVIRONMENTS = ['staging', 'production'];
const RELEASE_TAG = 'v1.0.0';
// The images the pipelines name (their stand-ins must exist in the engine) and the one the Dockerfile builds FROM.
const NODE_BASE_IMAGE = 'node:24.11.1-bookworm-slim';
const DEPLOY_HOST_IMAGE = 'localhost/slipway/deploy-host:latest';
const HELPER_IMAGE = 'docker.io/firecow/gitlab-ci-local-util:latest';
// The Postgres each saved-cities environment runs on the deploy host: the tag its integration job's service uses.
const POSTGRES_IMAGE = 'postgres:15.14';
// A broken release answers "fail" at once, so the verification needs far less than the default 120 s.
const VERIFY_TIMEOUT_SECONDS = 60;
// The user the e2e saves a city for on saved-cities' staging, to show the data outlives deploys and rollbacks.
const E2E_USER = 'slipway-e2e';

const say = (line) => process.stdout.write(`slipway e2e: ${line}\n`);

class E2eFailure extends Error {}
function check(condition, message) {
  if (!condition) throw new E2eFailure(message);
}

const pipelineFile = (app) => `apps/${app}/.gitlab-ci.yml`;
// The host name each environment's app answers on, on the e2e network (a compose network alias).
const appHost = (app, environment) => `${app}-${environment}`;
const databaseHost = (environment) => `${CITIES}-${environment}-db`;
const urlVariable = (app, environment) =>
  `${app.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_${environment.toUpperCase()}_URL`;

/**
 * Points an app pipeline's template inputs at this machine, in the temp clone only, and returns what it changed:
 * trivy is off by its kill switch (it cannot be installed here), and the deploys use the compose driver over ssh to
 * the deploy host, one compose project per environment. The build's base image comes through the registry by the
 * SLIPWAY_IMAGE_BUILD_ARGS variable instead (build-args would opt out of content reuse).
 */
function overlayAppPipeline(clone, app, { builder = 'buildah' } = {}) {
  const file = join(clone, pipelineFile(app));
  const document = parseDocument(readFileSync(file, 'utf8'));
  const changes = [];
  const includesOf = (template) => {
    const includes = document
      .get('include')
      .items.filter((item) => item.get('local') === `ci-templates/${template}`);
    check(
      includes.length > 0,
      `${pipelineFile(app)} no longer includes ci-templates/${template}; update the e2e`,
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
  if (builder !== 'buildah') setInput('build.yml', 'builder', builder);
  setInput('trivy.yml', 'enabled', false);
  setInput('deploy.yml', 'driver', 'compose');
  setInput('deploy.yml', 'ssh-host', 'root@deploy-host');
  setInput('deploy.yml', 'verify-timeout', VERIFY_TIMEOUT_SECONDS);
  for (const environment of ENVIRONMENTS) {
    setInput('deploy.yml', 'compose-dir', `/srv/${appHost(app, environment)}`, { environment });
  }
  // flowCollectionPadding: prettier writes `[a, b]`, and the app lint job checks the file with prettier.
  writeFileSync(file, document.toString({ lineWidth: 0, flowCollectionPadding: false }));
  return changes;
}

/** Overlays every app, and regenerates ci-templates/README.md, which shows a copy of an app pipeline. */
async function overlayPipelines(clone, builders = {}) {
  const changes = APPS.map(
    (app) => `${app}: ${overlayAppPipeline(clone, app, { builder: builders[app] }).join('; ')}`,
  );
  const { stdout } = await run(process.execPath, [SLIPWAY_CLI, 'templates', 'docs', '--root', clone]);
  return { changes, docs: stdout.trim() };
}

/**
 * A release whose /health reports fail once deployed: the image sets CONTENT_KEY (docker/Dockerfile) and the test
 * jobs do not, so lint and the tests that start the server pass, and only the staging verification sees it, as
 * with a configuration that exists only in an environment.
 */
function breakHealth(clone, app) {
  const file = join(clone, `apps/${app}/src/server.ts`);
  const source = readFileSync(file, 'utf8');
  const start = source.indexOf('const health = new HealthRegistry(');
  const end = start < 0 ? -1 : source.indexOf('\n  });\n', start);
  check(
    end > 0,
    `apps/${app}/src/server.ts no longer creates its HealthRegistry as expected; update the e2e`,
  );
  const at = end + '\n  });\n'.length;
  const broken = [
    '  // A deliberately broken release (npm run e2e): its tests pass, only a deployed image shows it.',
    '  if (process.env.CONTENT_KEY) {',
    "    health.register('e2e:broken-release', () => ({",
    "      status: 'fail',",
    "      output: 'deliberately broken release',",
    '    }));',
    '  }',
    '',
  ].join('\n');
  writeFileSync(file, `${source.slice(0, at)}${broken}${source.slice(at)}`);
}

const MIGRATIONS_DIR = `apps/${CITIES}/src/database/migrations`;

/** The migrations saved-cities' index lists, oldest first: a fork's own ones too. */
function migrationNames(clone) {
  const index = readFileSync(join(clone, MIGRATIONS_DIR, 'index.ts'), 'utf8');
  const names = [...index.matchAll(/\{ name: '([^']+)', statements: \w+ \}/g)].map((match) => match[1]);
  check(names.length > 0, `${MIGRATIONS_DIR}/index.ts lists no migration the e2e can read; update the e2e`);
  return names;
}

/**
 * An expand-only migration (a nullable column the previous version never reads), appended as the rules say after
 * whatever migrations the index lists. Returns its name.
 */
function addMigration(clone) {
  const names = migrationNames(clone);
  const next = Math.max(...names.map((name) => Number.parseInt(name, 10) || 0)) + 1;
  const name = `${String(next).padStart(4, '0')}-e2e-city-note`;
  writeFileSync(
    join(clone, MIGRATIONS_DIR, `${name}.ts`),
    [
      '// Expand-only (see migrations/index.ts): a nullable column, which the previous version never reads.',
      "export const statements = ['ALTER TABLE saved_cities ADD COLUMN IF NOT EXISTS e2e_note text'];",
      '',
    ].join('\n'),
  );
  const indexFile = join(clone, MIGRATIONS_DIR, 'index.ts');
  const index = readFileSync(indexFile, 'utf8');
  const lastImport = index.lastIndexOf('\nimport ');
  const listEnd = index.indexOf('\n];', index.indexOf('export const MIGRATIONS'));
  check(lastImport > 0 && listEnd > lastImport, `${indexFile} changed shape; update the e2e's migration`);
  const importEnd = index.indexOf('\n', lastImport + 1) + 1;
  writeFileSync(
    indexFile,
    index.slice(0, importEnd) +
      `import { statements as e2eCityNote } from './${name}';\n` +
      index.slice(importEnd, listEnd) +
      `\n  { name: '${name}', statements: e2eCityNote },` +
      index.slice(listEnd),
  );
  return name;
}

/** One source change that lint and test accept and that changes the content key of whatever the file goes into. */
function touchSource(clone, path, runName) {
  const file = join(clone, path);
  writeFileSync(file, `${readFileSync(file, 'utf8')}// ${runName}: one source change (npm run e2e)\n`);
}

/** A documentation-only change: no app's content key changes. */
function touchDocs(clone, runName) {
  const file = join(clone, 'README.md');
  writeFileSync(
    file,
    `${readFileSync(file, 'utf8')}\n<!-- ${runName}: a documentation-only change (npm run e2e) -->\n`,
  );
}

// What an operator keeps on a compose deploy host (seed 001): the image comes from slipway.env, which the deploy job
// writes; everything else is the host's own configuration (see docker/compose.yaml for the local equivalent).
// saved-cities' environments each have their own Postgres, which the deploy leaves running (`up --no-deps`).
function composeFile(app, environment, network, databasePassword) {
  const service = {
    image: '${APP_IMAGE}',
    read_only: true,
    cap_drop: ['ALL'],
    security_opt: ['no-new-privileges:true'],
    stop_grace_period: '15s',
    restart: 'unless-stopped',
    networks: { default: { aliases: [appHost(app, environment)] } },
  };
  const services = { [app]: service };
  if (app === CITIES) {
    service.environment = { DATABASE_URL: databaseUrl(environment, databasePassword) };
    service.depends_on = ['db'];
    services.db = {
      image: POSTGRES_IMAGE,
      environment: { POSTGRES_USER: 'cities', POSTGRES_PASSWORD: databasePassword, POSTGRES_DB: 'cities' },
      restart: 'unless-stopped',
      networks: { default: { aliases: [databaseHost(environment)] } },
    };
  }
  return [
    `# ${app} (${environment}) on the deploy host; the deploy job writes APP_IMAGE to slipway.env next to this file.`,
    stringify({ services, networks: { default: { name: network, external: true } } }),
  ].join('\n');
}

function databaseUrl(environment, password) {
  return `postgres://cities:${password}@${databaseHost(environment)}:5432/cities`;
}

/**
 * The deploy host: sshd with the Docker CLI and compose, talking to this engine through its socket, on the e2e
 * network as `deploy-host`, with a compose project per app and environment in /srv/<app>-<environment> (each app
 * joins the network as <app>-<environment>, so the verification reaches http://<app>-<environment>:3000 from the
 * jobs). saved-cities' databases are started here, as an operator would before the first deploy.
 * Returns the ssh key and known_hosts line the deploy jobs get as CI/CD variables, exec() and remove().
 */
async function startDeployHost(work, network, name, databasePassword) {
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
  const exec = async (script, input) =>
    (await docker(['exec', '--interactive', name, 'sh', '-c', script], input === undefined ? {} : { input }))
      .stdout;
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
  for (const app of APPS) {
    for (const environment of ENVIRONMENTS) {
      const dir = `/srv/${appHost(app, environment)}`;
      await exec(
        `mkdir -p ${dir} && cat > ${dir}/compose.yaml`,
        composeFile(app, environment, network, databasePassword),
      );
    }
  }
  for (const environment of ENVIRONMENTS) {
    // Nothing is deployed yet, so APP_IMAGE is a placeholder for compose's interpolation; only db starts.
    await exec(`cd /srv/${appHost(CITIES, environment)} && APP_IMAGE=none docker compose up --detach db`);
  }
  for (const environment of ENVIRONMENTS) {
    await waitFor(
      `saved-cities' ${environment} Postgres to accept connections`,
      async () => {
        await exec(
          `cd /srv/${appHost(CITIES, environment)} && APP_IMAGE=none docker compose exec -T db pg_isready -U cities -d cities -h 127.0.0.1`,
        );
        return true;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
  }
  return {
    exec,
    privateKey: readFileSync(keyFile, 'utf8'),
    knownHosts: `deploy-host ${hostKey.split(' ').slice(1, 3).join(' ')}\n`,
    async remove() {
      for (const app of APPS) {
        for (const environment of ENVIRONMENTS) {
          await exec(
            `cd /srv/${appHost(app, environment)} && APP_IMAGE=none docker compose down --volumes --timeout 5`,
          ).catch(() => {});
        }
      }
      await docker(['rm', '--force', name]);
    },
  };
}

/** The migrations recorded in an environment's saved-cities database, asked on the deploy host. */
async function appliedMigrations(deployHost, environment) {
  const stdout = await deployHost.exec(
    `cd /srv/${appHost(CITIES, environment)} && APP_IMAGE=none docker compose exec -T db ` +
      `psql -U cities -d cities -At -c 'SELECT name FROM slipway_migrations ORDER BY name'`,
  );
  return stdout.split('\n').filter(Boolean);
}

/** What the app of an environment answers, fetched from a throwaway container on the network. */
async function askEnvironment(network, app, environment, path, { method = 'GET', body } = {}) {
  const { stdout } = await docker([
    'run',
    '--rm',
    '--network',
    network,
    NODE_BASE_IMAGE,
    'node',
    '-e',
    `const [url, method, body] = process.argv.slice(1);
     fetch(url, { method, headers: body ? { 'content-type': 'application/json' } : {}, body: body || undefined })
       .then(async (r) => console.log(JSON.stringify({ status: r.status, body: await r.json() })))`,
    `http://${appHost(app, environment)}:3000${path}`,
    method,
    body === undefined ? '' : JSON.stringify(body),
  ]);
  return JSON.parse(stdout.trim());
}

/** The image reference the running app container of an environment's compose project was created from. */
async function runningImage(app, environment) {
  const { stdout: ids } = await docker([
    'ps',
    '--quiet',
    '--filter',
    `label=com.docker.compose.project=${appHost(app, environment)}`,
    '--filter',
    `label=com.docker.compose.service=${app}`,
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
  return jobLines(output, job).some((line) =>
    typeof expected === 'string' ? line.includes(expected) : expected.test(line),
  );
}

function checkJobSaid(runName, output, job, expected) {
  check(jobSaid(output, job, expected), `${runName}: ${job}'s log lacks ${expected}`);
}

/** The single value of NAME=... a job wrote to its dotenv report (the templates tee those lines into the log). */
function reportedValue(output, job, name, pattern) {
  const values = jobLines(output, job)
    .map((line) => new RegExp(`^${name}=(${pattern})$`).exec(line.trim())?.[1])
    .filter(Boolean);
  check(values.length === 1, `${job} reported ${values.length} ${name} lines, expected 1`);
  return values[0];
}
const reportedDigest = (output, job) =>
  reportedValue(output, job, 'IMAGE_DIGEST', '\\S+@sha256:[0-9a-f]{64}');
const reportedContentKey = (output, job) =>
  reportedValue(output, job, 'IMAGE_CONTENT_KEY', '[0-9a-f]{16,64}');

/** The digests a deploy job rolled out, from its "slipway: deploying <digest> to <env>/<app>" lines. */
function deployedDigests(output, app, environment) {
  return jobLines(output, `${app}-deploy-${environment}`)
    .map(
      (line) =>
        new RegExp(`slipway: deploying (\\S+@sha256:[0-9a-f]{64}) to ${environment}/${app} `).exec(line)?.[1],
    )
    .filter(Boolean);
}

/** The plan job's decision for each app: { run, reason, contentKey }. */
function planDecisions(output) {
  const decisions = {};
  for (const line of jobLines(output, 'plan')) {
    const match = /^\s*(run|skip)\s+([a-z0-9-]+): (.*?)(?: \[content ([0-9a-f]+)\])?$/.exec(line);
    if (match && APPS.includes(match[2])) {
      decisions[match[2]] = { run: match[1] === 'run', reason: match[3], contentKey: match[4] };
    }
  }
  return decisions;
}

function checkPlan(runName, output, expected) {
  const decisions = planDecisions(output);
  for (const [app, { run: shouldRun, reason }] of Object.entries(expected)) {
    const decision = decisions[app];
    check(decision, `${runName}: the plan printed no decision for ${app}`);
    check(
      decision.run === shouldRun,
      `${runName}: the plan ${decision.run ? 'ran' : 'skipped'} ${app} (${decision.reason}), expected ${shouldRun ? 'run' : 'skip'}`,
    );
    check(
      !reason || reason.test(decision.reason),
      `${runName}: the plan's reason for ${app} is "${decision.reason}", expected ${reason}`,
    );
  }
  return decisions;
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

/** No job of the app's child pipeline ran: the plan left it out. */
function checkNotRun(runName, result, app) {
  const ran = result.jobs.map((job) => job.name).filter((name) => name.startsWith(`${app}-`));
  check(ran.length === 0, `${runName}: ${app} was not planned, yet ${ran.join(', ')} ran`);
}

/** lint, test and build each ran their script in their image; returns the build's { digest, contentKey }. */
function checkBuildPath(runName, result, output, app, { built = true } = {}) {
  const jobs = [`${app}-lint`, `${app}-test`, `${app}-build`];
  if (app === CITIES) jobs.push(`${app}-integration-test`);
  checkPassed(runName, result, ['plan', ...jobs]);
  checkJobSaid(runName, output, `${app}-lint`, /Tasks: +\d+ successful, \d+ total/);
  checkJobSaid(runName, output, `${app}-test`, /Lines\s*:\s*\d+(\.\d+)?%/);
  if (app === CITIES) {
    // The integration tests ran against the postgres service container: with SLIPWAY_REQUIRE_POSTGRES they fail,
    // never skip, without it.
    checkJobSaid(runName, output, `${app}-integration-test`, /Tests: +\d+ passed, \d+ total/);
  }
  checkJobSaid(
    runName,
    output,
    `${app}-build`,
    built
      ? /slipway: building \S+ \(version /
      : /slipway: reusing \S+@sha256:[0-9a-f]{64}: content [0-9a-f]+ was built by commit [0-9a-f]{40}; no build/,
  );
  if (built)
    check(!jobSaid(output, `${app}-build`, 'slipway: reusing'), `${runName}: ${app}-build reused an image`);
  return {
    digest: reportedDigest(output, `${app}-build`),
    contentKey: reportedContentKey(output, `${app}-build`),
  };
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
const TRIGGER_JOBS = new Set(['apps', ...APPS.map((app) => `${app}-pipeline`)]);

function tableRows(runName, result) {
  return result.jobs.map((job) => ({
    result,
    run: runName,
    job: job.name,
    image: TRIGGER_JOBS.has(job.name) ? '(trigger)' : (job.image ?? '-'),
    status: TRIGGER_JOBS.has(job.name) && !result.passed ? 'failed (downstream)' : job.outcome,
    duration: round(job.durationSeconds),
    digest: '',
  }));
}

const jobDuration = (result, job) => result.jobs.find((candidate) => candidate.name === job)?.durationSeconds;

async function main() {
  const startedAt = Date.now();
  const cleanup = createCleanupStack();
  const interrupted = (signal) => {
    say(`${signal}: cleaning up`);
    cleanup.runAll().finally(() => process.exit(1));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  // What the runs so far measured: printed at the end, also when a run failed.
  const rows = [];
  const figures = [];
  const plans = [];
  const unchangedBuilds = [];
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
    const imageOf = (app) => `${registryImage}/${app}`;

    // The Dockerfile's base image, served by the registry the jobs reach (GitLab's dependency proxy plays this part),
    // with one addition for this machine: TLS leaves it through an intercepting proxy whose CA is in the image's
    // bundle but not in Node's own list, so the build's `npm` steps get NODE_EXTRA_CA_CERTS (nothing else changes).
    const baseImage = `${registry.address}/library/${NODE_BASE_IMAGE}`;
    await docker(['build', '--quiet', '--tag', baseImage, '-'], {
      input: `FROM ${NODE_BASE_IMAGE}\nENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt\n`,
    });
    await docker(['push', '--quiet', baseImage]);
    say(`base image ${baseImage}: ${NODE_BASE_IMAGE} + NODE_EXTRA_CA_CERTS (this machine's TLS proxy)`);
    // saved-cities' database password: a secret, so no job log, page or error may show it (checked after each run).
    const databasePassword = randomBytes(18).toString('hex');
    const deployHostName = `slipway-e2e-deploy-host-${id}`;
    const deployHost = await startDeployHost(work, network.name, deployHostName, databasePassword);
    cleanup.defer('stop the deploy host and the apps and databases it started', () => deployHost.remove());
    say(
      `registry https://${registry.address} (TLS, CA of this run); network ${network.name}; deploy host ${deployHostName} (${APPS.length} apps x ${ENVIRONMENTS.join(', ')}; saved-cities' Postgres ${POSTGRES_IMAGE} per environment)`,
    );
    say(
      'trivy SKIPPED: trivy cannot be installed on this machine, so the pipeline runs with its kill switch (trivy.yml enabled: false)',
    );

    // The repository's committed HEAD, plus the local overlay as one more commit, in a clone the runs start from.
    const source = join(work, 'source');
    git(repoRoot, ['clone', '--quiet', '--no-hardlinks', `file://${repoRoot}`, source]);
    // Deploys happen on the default branch only, so the runs are pushes to main whatever branch is checked out here.
    git(source, ['checkout', '--quiet', '-B', 'main']);
    const overlay = await overlayPipelines(source);
    commitAll(source, "ci(e2e): run the app pipelines against this machine's registry and deploy host");
    say(`overlay in the temp clone only: ${overlay.changes.join(' | ')}; ${overlay.docs}`);
    // saved-cities' migrations at the start: what run 1 applies to each environment's database.
    const migrations = migrationNames(source);

    // Project CI/CD variables, as `slipway gitlab setup` and GitLab's predefined registry variables would provide.
    // The registry needs no login, so CI_REGISTRY_PASSWORD stays unset and the jobs say they push without one.
    const variables = {
      CI_REGISTRY: registry.address,
      CI_REGISTRY_IMAGE: registryImage,
      CI_REGISTRY_USER: 'slipway-e2e',
      // Part of every app's content key, and the build's base image (through the registry).
      SLIPWAY_IMAGE_BUILD_ARGS: `NODE_IMAGE=${baseImage}`,
      SSH_KNOWN_HOSTS: deployHost.knownHosts,
      // The runner's environment on this machine: Node in the jobs trusts the TLS proxy's and the registry's CA.
      NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt',
      // The docker:28.5.2-cli stand-in is Debian's 20.10 client, whose `docker build` is the classic builder; the
      // real 28.x client builds with BuildKit by default, and the Dockerfile needs it (RUN --mount=type=cache).
      DOCKER_BUILDKIT: '1',
      // The jobs run privileged, so buildah can use overlay (the image's fuse-overlayfs on its /var/lib/containers
      // volume) instead of build.yml's vfs default, which copies the whole tree at each layer. See build.yml.
      STORAGE_DRIVER: 'overlay',
      // The GitFlow switch of .gitlab-ci.yml's workflow rules, set as a project would. Unset, gitlab-ci-local cannot
      // evaluate `$CI_COMMIT_BRANCH && $SLIPWAY_PIPELINE_BRANCHES && $CI_COMMIT_BRANCH =~ $SLIPWAY_PIPELINE_BRANCHES`
      // in a tag pipeline ("null =~ null" is no JavaScript), where GitLab stops at the first undefined operand
      // (https://docs.gitlab.com/ci/jobs/job_rules/#join-variable-expressions-together). No branch here matches it.
      SLIPWAY_PIPELINE_BRANCHES: '/^(develop|uat)$/',
    };
    for (const app of APPS) {
      for (const environment of ENVIRONMENTS) {
        variables[urlVariable(app, environment)] = `http://${appHost(app, environment)}:3000`;
      }
    }
    const fileVariables = { SSH_PRIVATE_KEY: deployHost.privateKey };
    // saved-cities' DATABASE_URL, scoped to its environments as `slipway gitlab setup` creates it (staging/*,
    // production/*): gitlab-ci-local reads scoped variables from its home variables file (GCL_HOME), and gives them
    // only to jobs whose environment matches, here the migrate steps.
    const gclHome = join(work, 'gitlab-ci-local-home');
    mkdirSync(join(gclHome, '.gitlab-ci-local'), { recursive: true });
    writeFileSync(
      join(gclHome, '.gitlab-ci-local/variables.yml'),
      stringify({
        global: {
          DATABASE_URL: {
            type: 'variable',
            values: Object.fromEntries(
              ENVIRONMENTS.map((environment) => [
                `${environment}/*`,
                databaseUrl(environment, databasePassword),
              ]),
            ),
          },
        },
      }),
    );
    process.env.GCL_HOME = gclHome;
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
    const runPipeline = async (runName, options = {}) => {
      const output = captureOutput(
        Object.fromEntries(APPS.map((app) => [app, new RegExp(`${app}-deploy-staging +> verify: ok: `)])),
      );
      say(`run ${runName}`);
      const result = await runParentPipelineLocally({
        repositoryRoot: source,
        workDir: runDir,
        reuseWorkDir: true,
        delivery: true,
        executor: 'docker',
        docker: dockerExecutor,
        variables: { ...variables, ...options.variables },
        fileVariables,
        concurrency: 2,
        output: output.stream,
        ...(options.tag ? { tag: options.tag } : {}),
        ...(options.manualJobs ? { manualJobs: options.manualJobs } : {}),
      });
      const text = output.text();
      check(
        !text.includes(databasePassword),
        `run ${runName}: a job log shows saved-cities' database password`,
      );
      const toStagingVerified = Object.fromEntries(
        Object.entries(output.seenAt).map(([app, at]) => [app, (at - result.startedAt) / 1000]),
      );
      plans.push([runName.split(' ')[0], jobDuration(result, 'plan')]);
      rows.push(...tableRows(runName.split(':')[0], result));
      return { result, text, toStagingVerified };
    };

    /** Puts the digests a run's checks established into its rows of the job table. */
    const annotate = (result, digests) => {
      for (const row of rows) if (row.result === result && digests[row.job]) row.digest = digests[row.job];
    };

    /** Staging or production of an app serves `expected` (digest and content key), healthy. */
    const checkServes = async (runName, app, environment, expected) => {
      check(
        (await runningImage(app, environment)) === expected.digest,
        `${runName}: ${environment}/${app} does not run ${expected.digest}`,
      );
      const version = await askEnvironment(network.name, app, environment, '/version');
      check(
        version.body.contentKey === expected.contentKey,
        `${runName}: ${environment}/${app} serves content ${version.body.contentKey}, expected ${expected.contentKey}`,
      );
      const health = await askEnvironment(network.name, app, environment, '/health');
      check(
        health.body.status === 'pass',
        `${runName}: ${environment}/${app} /health is ${health.body.status}`,
      );
      return version.body;
    };
    const checkDeployed = (runName, output, app, environment, expected) => {
      const deployed = deployedDigests(output, app, environment);
      check(
        deployed.length === 1 && deployed[0] === expected.digest,
        `${runName}: ${app}-deploy-${environment} deployed ${deployed.join(', ') || 'nothing'}, expected ${expected.digest}`,
      );
      checkJobSaid(runName, output, `${app}-deploy-${environment}`, 'with the compose driver');
      checkJobSaid(
        runName,
        output,
        `${app}-deploy-${environment}`,
        new RegExp(`verify: ok: healthy(,| and) serving .*${expected.contentKey}`),
      );
    };

    // Run 1: cold caches, both apps, both production gates played.
    const gates = APPS.map((app) => `${app}-deploy-production`);
    const run1 = await runPipeline('1 (cold): push to main, both apps, the production gates played', {
      manualJobs: gates,
    });
    check(run1.result.passed, 'run 1: the pipeline failed');
    checkPlan(
      'run 1',
      run1.text,
      Object.fromEntries(APPS.map((app) => [app, { run: true, reason: /has no image yet/ }])),
    );
    const built1 = {};
    for (const app of APPS) {
      built1[app] = checkBuildPath('run 1', run1.result, run1.text, app);
      check(
        !(`${app}-trivy` in outcomesOf(run1.result)),
        `run 1: ${app}-trivy ran although its kill switch is off`,
      );
      check(
        built1[app].digest.startsWith(`${imageOf(app)}@`),
        `run 1: ${built1[app].digest} is not in ${imageOf(app)}`,
      );
      const pushed = await inspectInRegistry(
        `${imageOf(app)}:content-${built1[app].contentKey}`,
        certificates.caDir,
      );
      check(
        built1[app].digest.endsWith(`@${pushed}`),
        `run 1: the registry's content tag of ${app} is ${pushed}`,
      );
      checkPassed('run 1', run1.result, [`${app}-deploy-staging`, `${app}-deploy-production`]);
      for (const environment of ENVIRONMENTS) {
        checkDeployed('run 1', run1.text, app, environment, built1[app]);
        const version = await checkServes('run 1', app, environment, built1[app]);
        check(
          version.commit === run1.result.commit,
          `run 1: ${environment}/${app} serves commit ${version.commit}`,
        );
      }
    }
    for (const environment of ENVIRONMENTS) {
      checkPassed('run 1', run1.result, [`${CITIES}-migrate-${environment}`]);
      checkJobSaid(
        'run 1',
        run1.text,
        `${CITIES}-migrate-${environment}`,
        `applied ${migrations.length} migration(s): ${migrations.join(', ')}`,
      );
      check(
        (await appliedMigrations(deployHost, environment)).join() === migrations.join(),
        `run 1: ${environment}'s database lacks the first migration`,
      );
    }
    // The data the later runs must keep: a city saved through staging's API, stored in its Postgres.
    const saved = await askEnvironment(network.name, CITIES, 'staging', `/api/users/${E2E_USER}/cities`, {
      method: 'POST',
      body: { name: 'Lima', country: 'PE' },
    });
    check(saved.status === 201, `run 1: saving a city on staging answered ${saved.status}`);
    say(`run 1 passed: both apps built, staged (compose over ssh), migrated and released to production`);
    annotate(
      run1.result,
      Object.fromEntries(
        APPS.flatMap((app) => [
          [`${app}-build`, shortDigest(built1[app].digest)],
          [`${app}-deploy-staging`, shortDigest(built1[app].digest)],
          [`${app}-deploy-production`, shortDigest(built1[app].digest)],
        ]),
      ),
    );
    figures.push(['cold, both apps', run1.toStagingVerified]);

    const citiesOnStaging = async (runName) => {
      const list = await askEnvironment(network.name, CITIES, 'staging', `/api/users/${E2E_USER}/cities`);
      const names = JSON.stringify(list.body);
      check(
        list.status === 200 && names.includes('Lima'),
        `${runName}: staging lost the saved city: ${names}`,
      );
    };

    // Run 2: a documentation-only commit, tagged: both apps released by content key, nothing rebuilt; the digests
    // are those staging verified in run 1.
    touchDocs(source, 'run 2');
    commitAll(source, 'docs: a documentation-only change, then tagged');
    const staged1 = { [WEATHER]: built1[WEATHER], [CITIES]: built1[CITIES] };
    const runTag = await runPipeline(`2 (tag ${RELEASE_TAG}): release both apps from a docs-only commit`, {
      tag: RELEASE_TAG,
    });
    check(runTag.result.passed, 'run 2: the pipeline failed');
    checkPlan(
      'run 2',
      runTag.text,
      Object.fromEntries(APPS.map((app) => [app, { run: true, reason: /^tag / }])),
    );
    for (const app of APPS) {
      checkPassed('run 2', runTag.result, [`${app}-build`, `${app}-release`]);
      checkJobSaid(
        'run 2',
        runTag.text,
        `${app}-build`,
        /slipway: reusing \S+: content [0-9a-f]+ was built by commit [0-9a-f]{40}; no build/,
      );
      check(
        reportedDigest(runTag.text, `${app}-build`) === staged1[app].digest,
        `run 2: ${app}-build reused another digest`,
      );
      const released = reportedDigest(runTag.text, `${app}-release`);
      check(
        released === staged1[app].digest,
        `run 2: ${app} released ${released}, staging verified ${staged1[app].digest}`,
      );
      for (const tag of [RELEASE_TAG, 'latest']) {
        checkJobSaid('run 2', runTag.text, `${app}-release`, `-> ${imageOf(app)}:${tag}`);
        const digest = await inspectInRegistry(`${imageOf(app)}:${tag}`, certificates.caDir);
        check(released.endsWith(`@${digest}`), `run 2: ${imageOf(app)}:${tag} is ${digest}, not ${released}`);
      }
      unchangedBuilds.push([`${app}-build (tag, lookup only)`, jobDuration(runTag.result, `${app}-build`)]);
    }
    say(
      `run 2 passed: ${RELEASE_TAG} and latest of both apps are the digests staging verified (skopeo, no rebuild)`,
    );
    annotate(
      runTag.result,
      Object.fromEntries(
        APPS.flatMap((app) => [
          [`${app}-build`, `${shortDigest(staged1[app].digest)} (reused)`],
          [`${app}-release`, shortDigest(staged1[app].digest)],
        ]),
      ),
    );

    // Run 3: caches filled, one weather-app source change: only weather-app runs.
    touchSource(source, `apps/${WEATHER}/src/server.ts`, 'run 3');
    commitAll(source, `refactor(${WEATHER}): one source change for the warm run`);
    const run2 = await runPipeline(`3 (warm): one ${WEATHER} source change`);
    check(run2.result.passed, 'run 3: the pipeline failed');
    checkPlan('run 3', run2.text, {
      [WEATHER]: { run: true, reason: /has no image yet/ },
      [CITIES]: { run: false, reason: /in sync/ },
    });
    checkNotRun('run 3', run2.result, CITIES);
    const built2 = checkBuildPath('run 3', run2.result, run2.text, WEATHER);
    check(built2.contentKey !== built1[WEATHER].contentKey, 'run 3: the source change kept the content key');
    checkDeployed('run 3', run2.text, WEATHER, 'staging', built2);
    await checkServes('run 3', WEATHER, 'staging', built2);
    await checkServes('run 3', CITIES, 'staging', built1[CITIES]);
    say(`run 3 passed: only ${WEATHER} ran; ${built2.digest} staged; ${CITIES} untouched`);
    annotate(run2.result, {
      [`${WEATHER}-build`]: shortDigest(built2.digest),
      [`${WEATHER}-deploy-staging`]: shortDigest(built2.digest),
    });
    figures.push(['warm, one app changed', run2.toStagingVerified]);

    // Run 4: a saved-cities change whose pipeline never ran (cancelled after the push), then a docs-only push.
    touchSource(source, `apps/${CITIES}/src/server.ts`, 'run 4 (never ran)');
    const missed = commitAll(source, `refactor(${CITIES}): a change whose pipeline was cancelled`);
    touchDocs(source, 'run 4');
    commitAll(source, 'docs: a documentation-only push after a cancelled pipeline');
    const run3 = await runPipeline(
      `4 (missed change): a docs-only push after ${missed.slice(0, 8)}'s cancelled pipeline`,
    );
    check(run3.result.passed, 'run 4: the pipeline failed');
    checkPlan('run 4', run3.text, {
      [WEATHER]: { run: false, reason: /in sync/ },
      [CITIES]: { run: true, reason: /has no image yet/ },
    });
    checkNotRun('run 4', run3.result, WEATHER);
    const built3 = checkBuildPath('run 4', run3.result, run3.text, CITIES);
    check(built3.contentKey !== built1[CITIES].contentKey, 'run 4: the missed change kept the content key');
    checkDeployed('run 4', run3.text, CITIES, 'staging', built3);
    checkJobSaid('run 4', run3.text, `${CITIES}-migrate-staging`, 'schema is current: no migration to apply');
    const version3 = await checkServes('run 4', CITIES, 'staging', built3);
    check(
      version3.commit === run3.result.commit,
      `run 4: staging/${CITIES} serves commit ${version3.commit}`,
    );
    await citiesOnStaging('run 4');
    say(`run 4 passed: the docs-only push built and deployed ${CITIES}'s missed change (${built3.digest})`);
    annotate(run3.result, {
      [`${CITIES}-build`]: shortDigest(built3.digest),
      [`${CITIES}-deploy-staging`]: shortDigest(built3.digest),
    });

    // Run 5: staging drifts (weather-app set by hand to run 1's image); the scheduled pipeline repairs it.
    await deployHost.exec(
      `cd /srv/${appHost(WEATHER, 'staging')} && printf 'APP_IMAGE=%s\\n' '${built1[WEATHER].digest}' > slipway.env && docker compose --env-file slipway.env up --detach --no-deps ${WEATHER}`,
    );
    await waitFor(
      'staging/weather-app to serve run 1 again (the drift)',
      async () => {
        const version = await askEnvironment(network.name, WEATHER, 'staging', '/version');
        return version.body.contentKey === built1[WEATHER].contentKey;
      },
      { timeoutMs: 60_000, intervalMs: 1000 },
    );
    const run5 = await runPipeline(
      '5 (schedule): staging drifted by hand; the scheduled pipeline reconciles',
      {
        variables: { CI_PIPELINE_SOURCE: 'schedule' },
      },
    );
    check(run5.result.passed, 'run 5: the pipeline failed');
    checkJobSaid('run 5', run5.text, 'plan', /slipway plan \(schedule\): drift report/);
    checkPlan('run 5', run5.text, {
      [WEATHER]: {
        run: true,
        reason: new RegExp(`^drift: staging serves content ${built1[WEATHER].contentKey.slice(0, 12)}`),
      },
      [CITIES]: { run: false, reason: /in sync/ },
    });
    checkNotRun('run 5', run5.result, CITIES);
    const repaired = checkBuildPath('run 5', run5.result, run5.text, WEATHER, { built: false });
    check(
      repaired.digest === built2.digest,
      `run 5: the schedule deployed ${repaired.digest}, not run 3's image`,
    );
    checkDeployed('run 5', run5.text, WEATHER, 'staging', built2);
    await checkServes('run 5', WEATHER, 'staging', built2);
    unchangedBuilds.push([
      `${WEATHER}-build (schedule, lookup only)`,
      jobDuration(run5.result, `${WEATHER}-build`),
    ]);
    say(`run 5 passed: the schedule found the drift and put ${built2.digest} back without a build`);
    annotate(run5.result, {
      [`${WEATHER}-build`]: `${shortDigest(built2.digest)} (reused)`,
      [`${WEATHER}-deploy-staging`]: shortDigest(built2.digest),
    });

    // What staging verified last: the versions run 6's broken release must roll back to.
    const verified = { [WEATHER]: built2, [CITIES]: built3 };

    // Run 6: a broken release of both apps through a service-kit change, with a migration; weather-app built by the
    // docker builder. Staging must roll back; production must not move.
    touchSource(source, 'packages/service-kit/src/index.ts', 'run 6');
    for (const app of APPS) breakHealth(source, app);
    const e2eMigration = addMigration(source);
    const dockerOverlay = await overlayPipelines(source, { [WEATHER]: 'docker' });
    commitAll(
      source,
      'fix(service-kit): a deliberately broken release whose health check fails, with a migration',
    );
    say(`run 6 overlay: ${WEATHER} builds with the docker builder (${dockerOverlay.docs})`);
    const run6 = await runPipeline(
      '6 (broken release, service-kit + migration, docker builder): staging rolls back',
    );
    check(!run6.result.passed, 'run 6: the pipeline of the broken release passed');
    checkPlan(
      'run 6',
      run6.text,
      Object.fromEntries(APPS.map((app) => [app, { run: true, reason: /has no image yet/ }])),
    );
    const outcomes6 = outcomesOf(run6.result);
    const broken = {};
    for (const app of APPS) {
      broken[app] = checkBuildPath('run 6', run6.result, run6.text, app);
      check(outcomes6[`${app}-deploy-staging`] === 'failed', `run 6: ${app}-deploy-staging did not fail`);
      check(!(`${app}-deploy-production` in outcomes6), `run 6: ${app}-deploy-production ran`);
      check(
        deployedDigests(run6.text, app, 'staging')[0] === broken[app].digest,
        `run 6: staging/${app} did not deploy the broken release`,
      );
      const log = jobLines(run6.text, `${app}-deploy-staging`).join('\n');
      for (const expected of [
        'verify: FAILED: health is "fail"',
        'slipway: DEPLOY FAILED: the deployment is not healthy.',
        `slipway: ROLLED BACK staging/${app} to the previous version (${verified[app].digest})`,
      ]) {
        check(log.includes(expected), `run 6: ${app}-deploy-staging's log lacks "${expected}"`);
      }
    }
    // The docker builder: its IMAGE_DIGEST names the app's own repository, though the layer cache was pushed too.
    const dockerDigest = broken[WEATHER].digest;
    checkJobSaid('run 6', run6.text, `${WEATHER}-build`, /naming to|writing image|Successfully built/);
    check(
      dockerDigest.startsWith(`${imageOf(WEATHER)}@sha256:`),
      `run 6: the docker builder's IMAGE_DIGEST ${dockerDigest} does not name ${imageOf(WEATHER)}`,
    );
    const pushed6 = await inspectInRegistry(`${imageOf(WEATHER)}:${run6.result.commit}`, certificates.caDir);
    check(
      dockerDigest === `${imageOf(WEATHER)}@${pushed6}`,
      `run 6: the registry serves ${pushed6} for the commit`,
    );
    const cacheDigest = await inspectInRegistry(`${imageOf(WEATHER)}/cache:main`, certificates.caDir);
    say(
      `run 6: docker builder IMAGE_DIGEST ${dockerDigest}; layer cache ${imageOf(WEATHER)}/cache:main (${cacheDigest.slice(0, 19)})`,
    );
    // The migration ran before the broken version was deployed, and stays: the rolled-back version serves on it.
    checkPassed('run 6', run6.result, [`${CITIES}-migrate-staging`]);
    checkJobSaid('run 6', run6.text, `${CITIES}-migrate-staging`, `applied 1 migration(s): ${e2eMigration}`);
    check(
      (await appliedMigrations(deployHost, 'staging')).join() === [...migrations, e2eMigration].join(),
      "run 6: staging's database lacks the e2e migration",
    );
    for (const app of APPS) {
      await waitFor(
        `staging/${app} to serve its previous version again`,
        async () => await checkServes('run 6', app, 'staging', verified[app]).then(() => true),
        { timeoutMs: 60_000, intervalMs: 1000 },
      );
      await checkServes('run 6', app, 'production', built1[app]);
    }
    await citiesOnStaging('run 6');
    check(
      (await appliedMigrations(deployHost, 'production')).join() === migrations.join(),
      "run 6: production's database was migrated by a release that failed on staging",
    );
    say(
      'run 6 failed as it must: both apps rolled back on staging and serve their previous versions on the migrated schema; production untouched',
    );
    annotate(
      run6.result,
      Object.fromEntries(
        APPS.flatMap((app) => [
          [`${app}-build`, shortDigest(broken[app].digest)],
          [
            `${app}-deploy-staging`,
            `${shortDigest(broken[app].digest)} -> rolled back to ${shortDigest(verified[app].digest)}`,
          ],
        ]),
      ),
    );

    say(`passed in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  } finally {
    printFigures(rows, figures, plans, unchangedBuilds);
    await cleanup.runAll();
  }
}

function printFigures(rows, figures, plans, unchangedBuilds) {
  if (rows.length > 0) process.stdout.write(`\n${formatTable(rows)}\n\n`);
  for (const [name, toStagingVerified] of figures) {
    for (const app of APPS) {
      if (toStagingVerified[app] !== undefined) {
        say(`pipeline start -> "staging verified" (${app}), ${name}: ${round(toStagingVerified[app])}`);
      }
    }
  }
  for (const [runName, seconds] of plans) say(`plan job (two apps), run ${runName}: ${round(seconds)}`);
  for (const [name, seconds] of unchangedBuilds)
    say(`build job of an unchanged app, ${name}: ${round(seconds)}`);
}

main().catch((error) => {
  process.stderr.write(`slipway e2e: FAILED: ${error instanceof E2eFailure ? error.message : error.stack}\n`);
  process.exitCode = 1;
});
