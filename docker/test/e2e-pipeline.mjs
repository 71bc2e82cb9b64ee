// `npm run e2e`: the repository's own pipeline end to end on this machine, with real parts standing in for GitLab.com:
// gitlab-ci-local (shell executor) runs .gitlab-ci.yml through `npm run pipeline`'s runner, Debian's docker-registry on
// 127.0.0.1 is the container registry, buildah builds FROM the local stand-in for node:24-slim, and the weather-app
// image itself is the deploy target of staging and production (docker/test/local-deploy-target.sh, the deploy
// template's `script` driver).
//
// Run 1, the parent pipeline: plan -> weather-app child pipeline: lint, test, build + push (IMAGE_DIGEST), trivy when it
// is on PATH, deploy staging + verify, then the manual production gate played with --manual: the same digest to
// production + verify.
// Run 2, the parent pipeline again on a deliberately broken release (a commit whose /health reports fail, which lint and
// test cannot see): staging verification fails, the automatic rollback restores run 1's digest, the job fails, run 1's
// commit serves again, and production is not touched.
//
// Everything it starts (registry, app containers, temp clones, images it pushed) is removed on exit, failed or not.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parseDocument } from 'yaml';
import {
  checkImageTooling,
  commitAll,
  createCleanupStack,
  ensureStandInBaseImage,
  fetchRemoteManifest,
  findFreePort,
  git,
  repoRoot,
  run,
  startLocalRegistry,
  waitFor,
} from './image-harness.mjs';

const require = createRequire(import.meta.url);
const { runParentPipelineLocally } = require(
  join(repoRoot, 'packages/pipeline/dist/local-pipeline/run-parent-pipeline-locally.js'),
);

const APP = 'weather-app';
const APP_PIPELINE = `apps/${APP}/.gitlab-ci.yml`;
const DEPLOY_TARGET_SCRIPT = 'docker/test/local-deploy-target.sh';
const PRODUCTION_GATE = `${APP}-deploy-production`;
// The broken release still verifies quickly: its /health answers "fail" at once, so no need for the default 120 s.
const VERIFY_TIMEOUT_SECONDS = 60;

const say = (line) => process.stdout.write(`slipway e2e: ${line}\n`);

class E2eFailure extends Error {}
function check(condition, message) {
  if (!condition) throw new E2eFailure(message);
}

function onPath(tool) {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Points the app pipeline's template inputs at this machine, in the temp clone only: the deploys use the `script`
 * driver with the local target, the build gets the stand-in base image, the registry is plain HTTP on loopback, and
 * trivy is switched off by its kill switch when it is not installed. Returns what it changed, to print.
 */
function overlayAppPipeline(clone, { nodeImage, trivyInstalled }) {
  const file = join(clone, APP_PIPELINE);
  const document = parseDocument(readFileSync(file, 'utf8'));
  const changes = [];
  const setInput = (template, name, value) => {
    const includes = document
      .get('include')
      .items.filter((item) => item.get('local') === `ci-templates/${template}`);
    check(
      includes.length > 0,
      `${APP_PIPELINE} no longer includes ci-templates/${template}; update the e2e overlay`,
    );
    for (const include of includes) include.setIn(['inputs', name], value);
    changes.push(`${template}: ${name}=${JSON.stringify(value)}`);
  };
  setInput('build.yml', 'build-args', `NODE_IMAGE=${nodeImage}`);
  setInput('build.yml', 'registry-tls-verify', false);
  setInput('release.yml', 'registry-tls-verify', false);
  if (trivyInstalled) setInput('trivy.yml', 'registry-tls-verify', false);
  else setInput('trivy.yml', 'enabled', false);
  setInput('deploy.yml', 'driver', 'script');
  setInput('deploy.yml', 'deploy-command', `sh ${DEPLOY_TARGET_SCRIPT} deploy`);
  setInput('deploy.yml', 'rollback-command', `sh ${DEPLOY_TARGET_SCRIPT} rollback`);
  setInput('deploy.yml', 'verify-timeout', VERIFY_TIMEOUT_SECONDS);
  // flowCollectionPadding: prettier writes `[a, b]`, and the app lint job checks the file with prettier.
  writeFileSync(file, document.toString({ lineWidth: 0, flowCollectionPadding: false }));
  return changes;
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

/** The processes in a session: the local deploy target starts each app in a session of its own (setsid). */
function sessionPids(session) {
  const pids = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state ppid pgrp session ..."; comm may contain spaces, so split after ")".
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1].split(' ');
      if (Number(fields[3]) === session) pids.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return pids;
}

/** Ends the app processes the local deploy target started and removes their containers. */
async function stopDeployTargets(targetDir) {
  if (!existsSync(targetDir)) return;
  for (const target of readdirSync(targetDir)) {
    const pidFile = join(targetDir, target, 'pid');
    const containerFile = join(targetDir, target, 'container');
    if (existsSync(pidFile)) {
      const session = Number(readFileSync(pidFile, 'utf8'));
      for (const pid of sessionPids(session)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await waitFor(`the ${target} processes to end`, () => sessionPids(session).length === 0, {
        timeoutMs: 10_000,
      });
    }
    if (existsSync(containerFile)) {
      await run('buildah', ['rm', readFileSync(containerFile, 'utf8').trim()]).catch(() => {});
    }
  }
}

/** Removes the images this run built or pulled (all named after its own registry), whatever their tags. */
async function removeRunImages(repositoryPrefix) {
  const { stdout } = await run('buildah', ['images', '--all', '--format', '{{.Name}} {{.ID}}']);
  const ids = stdout
    .split('\n')
    .map((line) => line.split(/\s+/))
    .filter(([name]) => name?.startsWith(repositoryPrefix))
    .map(([, id]) => id);
  for (const id of new Set(ids)) await run('buildah', ['rmi', '--force', id]).catch(() => {});
}

async function fetchJson(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
  return { status: response.status, body: await response.json() };
}

/** Tees gitlab-ci-local's output to stdout and keeps it for the checks. */
function captureOutput() {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += chunk.toString();
      process.stdout.write(chunk, done);
    },
  });
  return { stream, text: () => text };
}

/** The digest a deploy job rolled out, from its "slipway: deploying <digest> to <env>/<app>" line. */
function deployedDigest(output, environment) {
  const pattern = new RegExp(`slipway: deploying (\\S+@sha256:[0-9a-f]{64}) to ${environment}/${APP} `, 'g');
  return [...output.matchAll(pattern)].map((match) => match[1]);
}

/** The IMAGE_DIGEST the build job wrote to its dotenv report (the template tees that line into the job log). */
function buildDigest(output) {
  const pattern = new RegExp(
    `^\\s*(?:\\[[^\\]]*\\] -> )?${APP}-build +> IMAGE_DIGEST=(\\S+@sha256:[0-9a-f]{64})$`,
    'gm',
  );
  const digests = [...output.matchAll(pattern)].map((match) => match[1]);
  check(digests.length === 1, `${APP}-build reported ${digests.length} IMAGE_DIGEST lines, expected 1`);
  return digests[0];
}

function formatTable(rows) {
  const header = ['run', 'job', 'status', 'duration', 'digest'];
  const cells = rows.map((row) => [row.run, row.job, row.status, row.duration, row.digest]);
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

function summaryRows(runName, result, digestsByJob) {
  return result.jobs.map((job) => ({
    run: runName,
    job: job.name,
    status: TRIGGER_JOBS.has(job.name) && !result.passed ? 'failed (downstream)' : job.outcome,
    duration: job.durationSeconds === undefined ? '-' : `${Math.round(job.durationSeconds)} s`,
    digest: digestsByJob[job.name]
      ? digestsByJob[job.name].replace(/^.*@sha256:/, 'sha256:').slice(0, 19)
      : '',
  }));
}

async function main() {
  const startedAt = Date.now();
  await checkImageTooling();
  const cleanup = createCleanupStack();
  const interrupted = (signal) => {
    say(`${signal}: cleaning up`);
    cleanup.runAll().finally(() => process.exit(1));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    const work = join(tmpdir(), `slipway-e2e-${process.pid}-${Date.now()}`);
    mkdirSync(work);
    cleanup.defer('remove the temp directory', () => rmSync(work, { recursive: true, force: true }));

    const nodeImage = await ensureStandInBaseImage();
    const registry = await startLocalRegistry(join(work, 'registry'));
    cleanup.defer('stop the registry', () => registry.stop());
    const registryImage = `${registry.address}/slipway/slipway`;
    cleanup.defer('remove the images of this run', () => removeRunImages(registryImage));
    const targetDir = join(work, 'targets');
    cleanup.defer('stop the deployed apps', () => stopDeployTargets(targetDir));
    const stagingUrl = `http://127.0.0.1:${await findFreePort()}`;
    let productionUrl = stagingUrl;
    while (productionUrl === stagingUrl) productionUrl = `http://127.0.0.1:${await findFreePort()}`;
    say(
      `registry ${registry.address}; staging ${stagingUrl}; production ${productionUrl}; base image ${nodeImage}`,
    );

    // The repository's committed HEAD, plus the local overlay as one more commit, in a clone the runs start from.
    const source = join(work, 'source');
    if (git(repoRoot, ['status', '--porcelain', '--untracked-files=no']) !== '') {
      say('uncommitted changes are not part of the run: it runs the committed HEAD, as GitLab would');
    }
    git(repoRoot, ['clone', '--quiet', '--no-hardlinks', `file://${repoRoot}`, source]);
    // Deploys happen on the default branch only, so the runs are pushes to main whatever branch is checked out here.
    git(source, ['checkout', '--quiet', '-B', 'main']);
    const trivyInstalled = onPath('trivy');
    if (!trivyInstalled) {
      say(
        'trivy gate SKIPPED: trivy is not on PATH (it cannot be installed on this machine), so its kill switch is off',
      );
    }
    const changes = overlayAppPipeline(source, { nodeImage, trivyInstalled });
    commitAll(source, `ci(e2e): run ${APP}'s pipeline against this machine's registry and deploy targets`);
    say(`overlay in the temp clone only (${APP_PIPELINE} inputs): ${changes.join('; ')}`);

    // Project CI/CD variables, as `slipway gitlab setup` and GitLab's predefined registry variables would provide.
    // The loopback registry needs no login, so CI_REGISTRY_PASSWORD stays unset.
    const variables = {
      CI_REGISTRY: registry.address,
      CI_REGISTRY_IMAGE: registryImage,
      CI_REGISTRY_USER: 'slipway-e2e',
      WEATHER_APP_STAGING_URL: stagingUrl,
      WEATHER_APP_PRODUCTION_URL: productionUrl,
      SLIPWAY_LOCAL_TARGET_DIR: targetDir,
      SLIPWAY_REGISTRY_TLS_VERIFY: 'false',
    };

    // Run 1: the whole parent pipeline, the production gate pressed.
    say(`run 1: .gitlab-ci.yml with the manual ${PRODUCTION_GATE} played`);
    const output1 = captureOutput();
    mkdirSync(join(work, 'run-1'));
    const run1 = await runParentPipelineLocally({
      repositoryRoot: source,
      workDir: join(work, 'run-1'),
      delivery: true,
      variables,
      manualJobs: [PRODUCTION_GATE],
      output: output1.stream,
    });
    const outcomes1 = Object.fromEntries(run1.jobs.map((job) => [job.name, job.outcome]));
    for (const job of [
      'plan',
      `${APP}-lint`,
      `${APP}-test`,
      `${APP}-build`,
      `${APP}-deploy-staging`,
      PRODUCTION_GATE,
    ]) {
      check(outcomes1[job] === 'passed', `run 1: ${job} did not pass (${outcomes1[job] ?? 'did not run'})`);
    }
    check(run1.passed, 'run 1: the pipeline failed');
    check(
      trivyInstalled === `${APP}-trivy` in outcomes1,
      `run 1: ${APP}-trivy ${trivyInstalled ? 'did not run' : 'ran'} although trivy is ${trivyInstalled ? '' : 'not '}installed`,
    );
    const built = buildDigest(output1.text());
    const pushed = await fetchRemoteManifest(`${registryImage}/${APP}:${run1.commit}`);
    check(
      built.endsWith(`@${pushed.reportedDigest}`) && pushed.reportedDigest === pushed.contentDigest,
      `run 1: the registry serves ${pushed.reportedDigest} for ${APP}:${run1.commit}, the build reported ${built}`,
    );
    const staged = deployedDigest(output1.text(), 'staging');
    const released = deployedDigest(output1.text(), 'production');
    check(
      staged.length === 1 && staged[0] === built,
      `run 1: staging deployed ${staged.join(', ') || 'nothing'}, not ${built}`,
    );
    check(
      released.length === 1 && released[0] === built,
      `run 1: production deployed ${released.join(', ') || 'nothing'}, not ${built}`,
    );
    for (const [environment, url] of [
      ['staging', stagingUrl],
      ['production', productionUrl],
    ]) {
      const health = await fetchJson(`${url}/health`);
      const version = await fetchJson(`${url}/version`);
      check(health.body.status === 'pass', `run 1: ${environment} /health reports ${health.body.status}`);
      check(
        version.body.commit === run1.commit,
        `run 1: ${environment} serves ${version.body.commit}, not ${run1.commit}`,
      );
    }
    check(
      (output1.text().match(/verify: ok: healthy, serving [0-9a-f]{40}/g) ?? []).length === 2,
      'run 1: the staging and production verifications did not both report ok',
    );
    say(`run 1 passed: ${built} built, staged and released; both serve ${run1.commit.slice(0, 12)}`);

    // Run 2: the pipeline again, on a broken release; nobody presses the production gate.
    breakHealth(source);
    const brokenCommit = commitAll(
      source,
      `fix(${APP}): a deliberately broken release whose health check fails`,
    );
    say(`run 2: .gitlab-ci.yml on the broken release ${brokenCommit.slice(0, 12)}`);
    const output2 = captureOutput();
    mkdirSync(join(work, 'run-2'));
    const run2 = await runParentPipelineLocally({
      repositoryRoot: source,
      workDir: join(work, 'run-2'),
      delivery: true,
      variables,
      output: output2.stream,
    });
    const outcomes2 = Object.fromEntries(run2.jobs.map((job) => [job.name, job.outcome]));
    check(!run2.passed, 'run 2: the pipeline of the broken release passed');
    for (const job of ['plan', `${APP}-lint`, `${APP}-test`, `${APP}-build`]) {
      check(outcomes2[job] === 'passed', `run 2: ${job} did not pass (${outcomes2[job] ?? 'did not run'})`);
    }
    check(!(PRODUCTION_GATE in outcomes2), `run 2: ${PRODUCTION_GATE} ran`);
    check(outcomes2[`${APP}-deploy-staging`] === 'failed', `run 2: ${APP}-deploy-staging did not fail`);
    const brokenDigest = buildDigest(output2.text());
    check(brokenDigest !== built, 'run 2: the broken release has the same digest as run 1');
    const text2 = output2.text();
    check(
      deployedDigest(text2, 'staging')[0] === brokenDigest,
      'run 2: staging did not deploy the broken release',
    );
    for (const expected of [
      'verify: FAILED: health is "fail", not "pass"',
      'slipway: DEPLOY FAILED: the deployment is not healthy.',
      `local-deploy-target: rolled staging/${APP} back to ${built}`,
      `slipway: ROLLED BACK staging/${APP} to the previous version`,
    ]) {
      check(text2.includes(expected), `run 2: the staging deploy log lacks "${expected}"`);
    }
    const restored = await waitFor(
      `staging to serve run 1's commit ${run1.commit} again`,
      async () => {
        const [health, version] = [
          await fetchJson(`${stagingUrl}/health`),
          await fetchJson(`${stagingUrl}/version`),
        ];
        return health.body.status === 'pass' && version.body.commit === run1.commit
          ? version.body
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    const production = await fetchJson(`${productionUrl}/version`);
    check(production.body.commit === run1.commit, `run 2: production changed to ${production.body.commit}`);
    say(
      `run 2 failed as it must: the broken ${brokenDigest} was rolled back; staging serves ${restored.commit.slice(0, 12)} again`,
    );

    const digests1 = {
      [`${APP}-build`]: built,
      [`${APP}-deploy-staging`]: staged[0],
      [PRODUCTION_GATE]: released[0],
    };
    const digests2 = { [`${APP}-build`]: brokenDigest, [`${APP}-deploy-staging`]: brokenDigest };
    const rows = [...summaryRows('1', run1, digests1), ...summaryRows('2 (broken)', run2, digests2)];
    rows.find((row) => row.run !== '1' && row.job === `${APP}-deploy-staging`).digest +=
      ` -> rolled back to ${built.replace(/^.*@/, '').slice(0, 19)}`;
    if (!trivyInstalled) {
      const afterBuild = rows.findIndex((row) => row.job === `${APP}-build`) + 1;
      rows.splice(afterBuild, 0, {
        run: '1',
        job: `${APP}-trivy`,
        status: 'skipped: trivy not on PATH',
        duration: '-',
        digest: '',
      });
    }
    process.stdout.write(
      `\n${formatTable(rows)}\n\nrun 1 digest: ${built}\nrun 2 digest: ${brokenDigest}\n\n`,
    );
    say(`passed in ${Math.round((Date.now() - startedAt) / 1000)} s`);
  } finally {
    await cleanup.runAll();
  }
}

main().catch((error) => {
  process.stderr.write(`slipway e2e: FAILED: ${error instanceof E2eFailure ? error.message : error.stack}\n`);
  process.exitCode = 1;
});
