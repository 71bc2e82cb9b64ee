// deploy.yml's deploy job, run for real by gitlab-ci-local's shell executor with the `script` driver: the deploy
// command starts a service on a loopback port, the template verifies it, and on a failed verification rolls back,
// says why, notifies the webhook, and fails the job.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { stringify } from 'yaml';
import { readTemplate } from '../src/templates/template-file';
import { startFakeDeployment, unusedLoopbackUrl } from './support/fake-deployment';
import { git, makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';
import { createGitRepo, runGitlabCiLocal } from './support/gitlab-ci-local';

const DEPLOY_TEMPLATE = path.join(REPOSITORY_ROOT, 'ci-templates', 'deploy.yml');
const WEBHOOK_SECRET_PATH = '/hooks/T000-secret-token';
const DIGEST = `registry.example.com/shop/api@sha256:${'c'.repeat(64)}`;

// The "service": answers /health, /version (serving SERVED_COMMIT) and /smoke on the port it is given.
const SERVICE = `
const http = require('node:http');
const commit = process.env.SERVED_COMMIT;
const contentKey = process.env.SERVED_CONTENT_KEY || undefined;
http.createServer((request, response) => {
  const body = { '/health': { status: 'pass' }, '/version': { version: '1.0.0', commit, contentKey }, '/smoke': { ok: true } }[request.url];
  response.writeHead(body ? 200 : 404, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body ?? { error: 'not found' }));
}).listen(Number(process.argv[2]), '127.0.0.1');
`;

async function freePort(): Promise<number> {
  return Number(new URL(await unusedLoopbackUrl()).port);
}

async function startWebhook(): Promise<{ url: string; payloads: unknown[]; close: () => Promise<void> }> {
  const payloads: unknown[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === WEBHOOK_SECRET_PATH) payloads.push(JSON.parse(body));
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${WEBHOOK_SECRET_PATH}`,
    payloads,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function consumerPipeline(port: number, servedCommit: string, deployCommand?: string): string {
  return stringify({
    stages: ['staging'],
    include: [
      {
        local: 'ci-templates/deploy.yml',
        inputs: {
          stage: 'staging',
          'job-prefix': 'api',
          'app-name': 'api',
          environment: 'staging',
          'deployment-tier': 'staging',
          url: `http://127.0.0.1:${port}`,
          driver: 'script',
          // Detached, so the job can end while the service keeps running.
          'deploy-command':
            deployCommand ??
            `echo "deploying $IMAGE_DIGEST to $SLIPWAY_ENVIRONMENT/$SLIPWAY_APP"; SERVED_COMMIT=${servedCommit} SERVED_CONTENT_KEY="$IMAGE_CONTENT_KEY" nohup node service.js ${port} >service.log 2>&1 </dev/null & echo $! >service.pid`,
          'rollback-command': 'kill "$(cat service.pid)"; echo "rolled back $SLIPWAY_APP" >rollback.done',
          'verify-timeout': 4,
          'verify-interval': 1,
          'smoke-path': '/smoke',
          notify: true,
        },
      },
    ],
  });
}

describe('deploy.yml with the script driver, run by gitlab-ci-local', () => {
  let repo: string | undefined;
  let webhook: Awaited<ReturnType<typeof startWebhook>>;

  beforeEach(async () => {
    webhook = await startWebhook();
  });
  afterEach(async () => {
    const pidFile = repo && path.join(repo, 'service.pid');
    if (pidFile && existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8').trim()));
      } catch {
        // already gone (the rollback killed it)
      }
    }
    removeDir(repo);
    await webhook.close();
  });

  async function deploy(
    servedCommit: (head: string) => string,
    deployCommand?: string,
    variables: Record<string, string> = {},
  ) {
    const port = await freePort();
    repo = createGitRepo({
      'service.js': SERVICE,
      'ci-templates/deploy.yml': readFileSync(DEPLOY_TEMPLATE, 'utf8'),
    });
    const head = git(repo, ['rev-parse', 'HEAD']);
    // The pipeline file names the commit the service will serve, so it is written after the first commit.
    writeFileSync(
      path.join(repo, '.gitlab-ci.yml'),
      consumerPipeline(port, servedCommit(head), deployCommand),
    );
    const result = await runGitlabCiLocal({
      cwd: repo,
      args: ['--force-shell-executor', 'api-deploy-staging'],
      variables: { IMAGE_DIGEST: DIGEST, SLIPWAY_NOTIFY_WEBHOOK_URL: webhook.url, ...variables },
    });
    return { ...result, output: result.stdout + result.stderr, head };
  }

  it('deploys, verifies the served commit and the smoke path, and notifies', async () => {
    const result = await deploy((head) => head);
    expect(result.output).toContain(`deploying ${DIGEST} to staging/api`);
    expect(result.output).toContain(`verify: ok: healthy, serving ${result.head}, smoke /smoke -> 200`);
    expect(result.output).toContain(`slipway: ${DIGEST} is live on staging/api`);
    expect(result.code).toBe(0);
    expect(existsSync(path.join(repo!, 'rollback.done'))).toBe(false);
    expect(webhook.payloads).toHaveLength(1);
    expect(JSON.stringify(webhook.payloads[0])).toContain(
      `Deployed ${result.head.slice(0, 8)} to staging/api`,
    );
    expect(result.output).not.toContain(WEBHOOK_SECRET_PATH);
  }, 180_000);

  it('rolls back and fails with a clear message when the wrong commit is served', async () => {
    const result = await deploy(() => 'f'.repeat(40));
    expect(result.output).toMatch(/attempt \d+: health=pass commit=f{40}/);
    expect(result.output).toContain(
      `verify: FAILED: serving commit ${'f'.repeat(40)}, expected ${result.head}`,
    );
    expect(result.output).toContain(
      `slipway: DEPLOY FAILED: the deployment does not serve commit ${result.head}.`,
    );
    expect(result.output).toContain('slipway: ROLLED BACK staging/api');
    expect(result.code).not.toBe(0);
    expect(readFileSync(path.join(repo!, 'rollback.done'), 'utf8')).toBe('rolled back api\n');
    const payload = JSON.stringify(webhook.payloads);
    expect(payload).toContain(`FAILED and rolled back: ${result.head.slice(0, 8)} on staging/api`);
    // Slack shows &lt; and &gt; as < and >; raw ones would be read as Slack markup.
    expect(payload).toContain('Author: Slipway Test &lt;test@slipway.invalid&gt;');
    expect(payload).toContain('Pipeline: ');
    expect(result.output).not.toContain(WEBHOOK_SECRET_PATH);
  }, 180_000);

  it('verifies by content key alone an image that an earlier commit built', async () => {
    // A reused image (build once per content) serves the commit that built it, not this pipeline's.
    const contentKey = '0123456789abcdef';
    const result = await deploy(() => 'f'.repeat(40), undefined, { IMAGE_CONTENT_KEY: contentKey });
    expect(result.output).toContain(`contentKey=${contentKey}`);
    expect(result.output).toContain('verify: ok: healthy, serving');
    expect(result.output).not.toContain('ROLLED BACK');
    expect(result.code).toBe(0);
  }, 180_000);

  it('rolls back when the deploy command itself fails, without verifying', async () => {
    const result = await deploy((head) => head, 'echo "half-deployed"; exit 7');
    expect(result.output).toContain('half-deployed');
    expect(result.output).toContain('slipway: DEPLOY FAILED: the script driver failed (exit 7).');
    expect(result.output).not.toContain('verify: waiting');
    expect(result.code).not.toBe(0);
    expect(readFileSync(path.join(repo!, 'rollback.done'), 'utf8')).toBe('rolled back api\n');
  }, 180_000);
});

describe('the deploy verifier without curl (wget only)', () => {
  /** A PATH with the verifier's tools except curl: busybox-like hosts and Alpine images have only wget. */
  let pathWithoutCurl: string;
  beforeAll(() => {
    pathWithoutCurl = makeTempDir('no-curl');
    const tools = ['sh', 'rm', 'mktemp', 'tr', 'sed', 'date', 'awk', 'sleep', 'wget', 'grep', 'tail', 'cat'];
    for (const tool of tools) {
      const found = ['/usr/bin', '/bin'].map((dir) => path.join(dir, tool)).find((file) => existsSync(file));
      if (!found) throw new Error(`${tool} is not installed`);
      symlinkSync(found, path.join(pathWithoutCurl, tool));
    }
  });
  afterAll(() => removeDir(pathWithoutCurl));

  /** Runs the verifier asynchronously: the fake deployments answer from this same process. */
  function runVerifier(env: Record<string, string>): Promise<{ code: number; output: string }> {
    const verifyJob = readTemplate(DEPLOY_TEMPLATE).body['.slipway-deploy-verify'] as { script: string[] };
    return new Promise((resolve, reject) => {
      const child = spawn('/bin/sh', ['-c', verifyJob.script[0]!], {
        env: { PATH: pathWithoutCurl, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, output }));
    });
  }

  const COMMIT = '0123456789abcdef0123456789abcdef01234567';

  it('verifies a healthy deployment and reports a wrong commit as exit 4', async () => {
    const healthy = await startFakeDeployment({ healthStatus: () => 'pass', commit: COMMIT });
    const stale = await startFakeDeployment({ healthStatus: () => 'pass', commit: 'e'.repeat(40) });
    try {
      const base = {
        SLIPWAY_EXPECT_COMMIT: COMMIT,
        SLIPWAY_VERIFY_TIMEOUT: '3',
        SLIPWAY_VERIFY_INTERVAL: '1',
      };
      const ok = await runVerifier({ ...base, SLIPWAY_VERIFY_URL: healthy.url });
      expect(ok).toEqual({
        code: 0,
        output: expect.stringContaining(`verify: ok: healthy and serving ${COMMIT}`),
      });
      const wrong = await runVerifier({ ...base, SLIPWAY_VERIFY_URL: stale.url });
      expect(wrong.code).toBe(4);
      expect(wrong.output).toContain(`serving commit ${'e'.repeat(40)}, expected ${COMMIT}`);
    } finally {
      await healthy.close();
      await stale.close();
    }
  }, 60_000);

  it('reports an unhealthy (503) deployment as exit 3', async () => {
    const failing = await startFakeDeployment({ healthStatus: () => 'fail', commit: COMMIT });
    try {
      const result = await runVerifier({
        SLIPWAY_VERIFY_URL: failing.url,
        SLIPWAY_EXPECT_COMMIT: COMMIT,
        SLIPWAY_VERIFY_TIMEOUT: '2',
        SLIPWAY_VERIFY_INTERVAL: '1',
      });
      expect(result.code).toBe(3);
      expect(result.output).toMatch(/health is "(fail|HTTP 503)", not "pass"/);
    } finally {
      await failing.close();
    }
  }, 60_000);

  it('exits 2 with a message naming the missing variable', async () => {
    expect(await runVerifier({ SLIPWAY_EXPECT_COMMIT: COMMIT })).toEqual({
      code: 2,
      output: expect.stringContaining('SLIPWAY_VERIFY_URL is required'),
    });
  });
});
