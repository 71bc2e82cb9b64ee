// deploy.yml's shell run the way a runner runs a deploy job: the functions, `slipway_deploy`, the verifier and
// `slipway_deployed` in one dash process (Debian's sh; busybox ash, the Alpine images' sh, also runs no EXIT trap on a
// signal), with the ssh and docker stand-ins on PATH and a loopback webhook. These are the cases gitlab-ci-local
// cannot produce: a cancel (SIGTERM) in the middle of the verification, and hostile text in a notification.
import { spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { readTemplate } from '../src/templates/template-file';
import { installDeployStandIns } from './support/deploy-stand-ins';
import { startFakeDeployment } from './support/fake-deployment';
import { makeTempDir, removeDir, REPOSITORY_ROOT } from './support/fixture-repository';

const DEPLOY_TEMPLATE = path.join(REPOSITORY_ROOT, 'ci-templates', 'deploy.yml');
const COMMIT = '0123456789abcdef0123456789abcdef01234567';
const WEBHOOK_PATH = '/hooks/T000-signal-secret';
const SSH_KEY = 'not-a-real-key-5b2f';
const digest = (n: number) => `registry.example.com/shop/api@sha256:${String(n).repeat(64).slice(0, 64)}`;

/** The literal block of one of deploy.yml's hidden jobs (`script`, or `before_script` for a driver). */
function hiddenScript(job: string, keyword: 'script' | 'before_script' = 'script'): string {
  const lines = (readTemplate(DEPLOY_TEMPLATE).body[job] as Record<string, unknown[]> | undefined)?.[keyword];
  const script = lines?.[0];
  if (typeof script !== 'string') throw new Error(`${job} has no literal ${keyword} block`);
  return script;
}

/** The functions of one driver variant (the `driver` input picks it with extends). */
function driverScript(driver: 'kubernetes' | 'compose' | 'script'): string {
  return hiddenScript(
    `.$[[ inputs.job-prefix ]]-deploy-$[[ inputs.environment ]]-${driver}`,
    'before_script',
  );
}

/**
 * The compose deploy job's steps (verify on), joined as GitLab joins before_script and script into one shell
 * (https://docs.gitlab.com/ci/yaml/#before_script); `set -e` as the runner.
 */
function deployJobScript(): string {
  return [
    'set -e',
    driverScript('compose'),
    hiddenScript('.slipway-deploy-functions'),
    'slipway_deploy',
    hiddenScript('.slipway-deploy-verify'),
    'slipway_deployed',
  ].join('\n');
}

interface Webhook {
  url: string;
  bodies: string[];
  close: () => Promise<void>;
}

async function startWebhook(): Promise<Webhook> {
  const bodies: string[] = [];
  const server = http.createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === WEBHOOK_PATH) bodies.push(body);
      response.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${WEBHOOK_PATH}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function runShell(script: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
}

/** Every file below dir, recursively. */
function filesBelow(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    return statSync(file).isDirectory() ? filesBelow(file) : [file];
  });
}

describe('the deploy job cancelled during verification (SIGTERM)', () => {
  let work: string;
  let webhook: Webhook;
  beforeEach(async () => {
    work = makeTempDir('deploy-signal');
    webhook = await startWebhook();
  });
  afterEach(async () => {
    removeDir(work);
    await webhook.close();
  });

  it('rolls back, notifies, leaves no copy of the ssh key and exits 143', async () => {
    const state = path.join(work, 'state');
    const bin = path.join(work, 'bin');
    const tmp = path.join(work, 'tmp');
    const host = path.join(state, 'srv', 'api');
    for (const dir of [state, bin, tmp, host]) mkdirSync(dir, { recursive: true });
    installDeployStandIns(bin);
    writeFileSync(path.join(state, 'calls'), '');
    // The host already runs digest(1); the deploy of digest(2) never becomes healthy.
    writeFileSync(path.join(host, 'slipway.env'), `APP_IMAGE=${digest(1)}\n`);
    const unhealthy = await startFakeDeployment({ healthStatus: () => 'fail', commit: COMMIT });
    try {
      const child = spawn('/bin/sh', ['-c', deployJobScript()], {
        // Its own process group, as a runner's job: the cancel signals the whole group.
        detached: true,
        cwd: work,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
          TMPDIR: tmp,
          FAKE_STATE: state,
          IMAGE_DIGEST: digest(2),
          CI_COMMIT_SHA: COMMIT,
          CI_COMMIT_SHORT_SHA: COMMIT.slice(0, 8),
          CI_COMMIT_TITLE: 'feat: a change',
          CI_COMMIT_AUTHOR: 'Slipway Test <test@slipway.invalid>',
          CI_PIPELINE_URL: 'https://gitlab.example.com/shop/api/-/pipelines/1',
          CI_JOB_NAME: 'api-deploy-production',
          SLIPWAY_APP: 'api',
          SLIPWAY_ENVIRONMENT: 'production',
          SLIPWAY_DRIVER: 'compose',
          SLIPWAY_SSH_HOST: 'deploy@app-1.example.com',
          SLIPWAY_SSH_KEY_VARIABLE: 'SSH_PRIVATE_KEY',
          SLIPWAY_SSH_KNOWN_HOSTS_VARIABLE: 'SSH_KNOWN_HOSTS',
          SSH_PRIVATE_KEY: SSH_KEY,
          SSH_KNOWN_HOSTS: 'app-1.example.com ssh-ed25519 AAAA',
          SLIPWAY_COMPOSE_DIR: host,
          SLIPWAY_COMPOSE_SERVICE: 'api',
          SLIPWAY_COMPOSE_IMAGE_VARIABLE: 'APP_IMAGE',
          SLIPWAY_VERIFY: 'true',
          SLIPWAY_VERIFY_URL: unhealthy.url,
          SLIPWAY_EXPECT_COMMIT: COMMIT,
          SLIPWAY_VERIFY_TIMEOUT: '60',
          SLIPWAY_VERIFY_INTERVAL: '1',
          SLIPWAY_NOTIFY: 'true',
          SLIPWAY_NOTIFY_WEBHOOK_VARIABLE: 'SLIPWAY_NOTIFY_WEBHOOK_URL',
          SLIPWAY_NOTIFY_WEBHOOK_URL: webhook.url,
        },
      });
      let output = '';
      const exited = new Promise<number | string>((resolve) =>
        child.on('close', (code, signal) => resolve(code ?? String(signal))),
      );
      await new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer) => {
          output += chunk.toString();
          if (output.includes('attempt 2:')) resolve();
        };
        child.stdout.on('data', onData);
        child.stderr.on('data', onData);
        setTimeout(() => reject(new Error(`the verification never started:\n${output}`)), 30_000);
      });
      process.kill(-child.pid!, 'SIGTERM');
      const code = await exited;

      expect(output).toContain(
        'slipway: DEPLOY FAILED: the job was stopped (signal 15) before the deploy was verified.',
      );
      expect(output).toContain(`slipway: ROLLED BACK production/api to the previous version (${digest(1)})`);
      expect(code).toBe(143);
      expect(readFileSync(path.join(host, 'slipway.env'), 'utf8')).toBe(`APP_IMAGE=${digest(1)}\n`);
      expect(webhook.bodies.join('\n')).toContain('FAILED and rolled back');
      // No copy of the key is left anywhere under the job's temp dir, and all ssh calls used one key file.
      const leftovers = filesBelow(tmp).filter((file) => readFileSync(file, 'utf8').includes(SSH_KEY));
      expect(leftovers).toEqual([]);
      const calls = readFileSync(path.join(state, 'calls'), 'utf8').split('\n');
      const keyFiles = new Set(
        calls.filter((call) => call.startsWith('ssh ')).map((call) => call.split(' ')[2]),
      );
      expect(keyFiles.size).toBe(1);
    } finally {
      await unhealthy.close();
    }
  }, 90_000);
});

describe('the deploy notification', () => {
  /** Runs `slipway_json_string TEXT` from the template in dash, with the system awk (mawk on Debian). */
  function jsonString(text: string): string {
    const result = spawnSync(
      '/bin/sh',
      ['-c', `${hiddenScript('.slipway-deploy-functions')}\nslipway_json_string "$1"`, 'sh', text],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH ?? '', TMPDIR: process.env.TMPDIR ?? '/tmp' },
      },
    );
    expect(result.stderr).toBe('');
    return result.stdout;
  }

  it('escapes every control character, quote and backslash into valid JSON', () => {
    const controls = Array.from({ length: 31 }, (_, index) => String.fromCharCode(index + 1)).join('');
    const text = `title\twith\u001b[31mescape "quotes" back\\slash ${controls} ü`;
    const encoded = jsonString(text);
    expect([...encoded].filter((character) => character.charCodeAt(0) < 32)).toEqual([]);
    expect(JSON.parse(`"${encoded}"`)).toBe(text);
  });

  it("escapes Slack's &, < and >, so no commit title can ping a channel or disguise a link", () => {
    const encoded = jsonString('<!channel> see <https://evil.example|GitLab> & more');
    expect(JSON.parse(`"${encoded}"`)).toBe(
      '&lt;!channel&gt; see &lt;https://evil.example|GitLab&gt; &amp; more',
    );
  });

  it('posts with curl without the webhook URL in any process argument', async () => {
    const webhook = await startWebhook();
    const work = makeTempDir('notify');
    try {
      // A curl that records its arguments, then runs the real one.
      const realCurl = spawnSync('sh', ['-c', 'command -v curl'], { encoding: 'utf8' }).stdout.trim();
      writeFileSync(
        path.join(work, 'curl'),
        `#!/bin/sh\nprintf '%s\\n' "$*" >>"${work}/curl-args"\nexec ${realCurl} "$@"\n`,
      );
      chmodSync(path.join(work, 'curl'), 0o755);
      const script = `${hiddenScript('.slipway-deploy-functions')}\nslipway_notify "Deployed 01234567 to"`;
      // Asynchronous: the webhook answers from this same process.
      const result = await runShell(script, {
        PATH: `${work}${path.delimiter}${process.env.PATH ?? ''}`,
        TMPDIR: work,
        SLIPWAY_APP: 'api',
        SLIPWAY_ENVIRONMENT: 'staging',
        SLIPWAY_NOTIFY: 'true',
        SLIPWAY_NOTIFY_WEBHOOK_VARIABLE: 'SLIPWAY_NOTIFY_WEBHOOK_URL',
        SLIPWAY_NOTIFY_WEBHOOK_URL: webhook.url,
        CI_COMMIT_SHORT_SHA: '01234567',
        CI_COMMIT_TITLE: 'fix: tab\there <!channel>',
        CI_COMMIT_AUTHOR: 'Slipway Test <test@slipway.invalid>',
        CI_PIPELINE_URL: 'https://gitlab.example.com/p/1',
      });
      expect(result.code).toBe(0);
      expect(webhook.bodies).toHaveLength(1);
      const payload = JSON.parse(webhook.bodies[0]!) as { text: string };
      expect(payload.text).toBe(
        [
          'Deployed 01234567 to staging/api',
          'Commit: 01234567 fix: tab\there &lt;!channel&gt;',
          'Author: Slipway Test &lt;test@slipway.invalid&gt;',
          'Pipeline: https://gitlab.example.com/p/1',
        ].join('\n'),
      );
      const args = readFileSync(path.join(work, 'curl-args'), 'utf8');
      expect(args).toContain('-K -');
      expect(args).not.toContain(WEBHOOK_PATH);
      expect(result.output).not.toContain(WEBHOOK_PATH);
      expect(existsSync(path.join(work, 'curl-args'))).toBe(true);
    } finally {
      removeDir(work);
      await webhook.close();
    }
  });
});
