// What a newcomer does on a fresh clone, done for real in a temporary copy of this repository after `npm ci`:
// 1. every variable docs/configuration.md documents, and every variable each app declares, reaches the
//    app's process under `npm start` and `npm run dev` (turbo's strict env mode drops whatever is not passed through);
// 2. `npm run new:service -- <name>` creates a service whose lint, format:check, typecheck and tests pass (what
//    its CI lint and test jobs run) and that `slipway plan` plans, touching only apps/<name> and the lockfile;
//    bad names write nothing.
// The image build of a generated app is not repeated here: docker/test/image.test.mjs builds an app image with
// the same shared Dockerfile.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, realpathSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { readRepositoryApps, type RepositoryApp } from '../src/repo/apps';
import {
  commitAll,
  createRepositoryFromCheckout,
  git,
  makeTempDir,
  removeDir,
} from './support/fixture-repository';
import { documentedConfiguration } from './support/documented-variables';

const run = promisify(execFile);
const NPM_ENV = { HUSKY: '0', CI: 'true', npm_config_audit: 'false', npm_config_fund: 'false' };

// Valid values for the chassis's variables (the root turbo.json passes them to every app); each differs from
// its default, so a value that arrives is the one set here. PORT and HOST are set per app below.
const CHASSIS_EXAMPLES: Record<string, string> = {
  NODE_ENV: 'production',
  LOG_LEVEL: 'warn',
  SHUTDOWN_TIMEOUT_MS: '9000',
  SHUTDOWN_DRAIN_DELAY_MS: '1',
  APP_VERSION: '9.8.7-settings-test',
  GIT_COMMIT_SHA: 'c0ffee'.padEnd(40, '0'),
  BUILD_TIME: '2026-01-02T03:04:05Z',
  EXPOSE_STACK_TRACES: 'true',
  CONTENT_KEY: 'feed'.padEnd(64, '0'),
};

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The pids of every process below `root`, with their command lines (Linux /proc). */
function descendants(root: number): Array<{ pid: number; cmdline: string }> {
  const parentOf = new Map<number, number>();
  for (const entry of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    const stat = safeRead(`/proc/${entry}/stat`);
    // The fields after the command name in parentheses: state, then the parent pid.
    if (stat) parentOf.set(Number(entry), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
  }
  const isBelowRoot = (pid: number): boolean => {
    for (
      let current = parentOf.get(pid);
      current !== undefined && current > 1;
      current = parentOf.get(current)
    ) {
      if (current === root) return true;
    }
    return false;
  };
  return [...parentOf.keys()]
    .filter(isBelowRoot)
    .map((pid) => ({ pid, cmdline: safeRead(`/proc/${pid}/cmdline`).split('\0').join(' ') }));
}

function safeRead(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return ''; // the process ended while we looked
  }
}

function environOf(pid: number): Map<string, string> {
  return new Map(
    safeRead(`/proc/${pid}/environ`)
      .split('\0')
      .filter(Boolean)
      .map(
        (pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)] as [string, string],
      ),
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM to npm's group (turbo passes it on to its tasks), then SIGKILL to whatever of the tree outlives 10 s. */
async function stopGracefully(child: ChildProcess): Promise<void> {
  const pids = descendants(child.pid!).map((proc) => proc.pid);
  const exited =
    child.exitCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', resolve));
  process.kill(-child.pid!, 'SIGTERM');
  await exited;
  const alive = (pid: number) => safeRead(`/proc/${pid}/stat`) !== '';
  for (let waited = 0; waited < 10_000 && pids.some(alive); waited += 100) await sleep(100);
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
}

describe('a fresh clone', () => {
  let dir: string;
  let repo: string;
  const started = new Set<ChildProcess>();

  beforeAll(async () => {
    dir = makeTempDir('fresh-clone');
    repo = path.join(dir, 'repo');
    createRepositoryFromCheckout(repo);
    const begin = Date.now();
    await run('npm', ['ci', '--prefer-offline'], {
      cwd: repo,
      env: { ...process.env, ...NPM_ENV },
      maxBuffer: 64 * 1024 * 1024,
    });
    process.stdout.write(`fresh clone: npm ci took ${((Date.now() - begin) / 1000).toFixed(1)} s\n`);
  }, 600_000);

  afterEach(() => {
    // A failed assertion must not leave turbo and an app running. turbo starts each task in a process group of
    // its own, so killing npm's group is not enough: every descendant is found first, then all are killed.
    for (const child of started) {
      const pids = [...descendants(child.pid!).map((proc) => proc.pid), child.pid!];
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    started.clear();
  });

  afterAll(() => removeDir(dir));

  /** Output of a started npm command, kept for the error message when something does not come up. */
  function spawnNpm(args: string[], env: Record<string, string>) {
    const child = spawn('npm', args, {
      cwd: repo,
      env: { ...process.env, ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    started.add(child);
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return { child, output: () => output };
  }

  async function waitUntilLive(child: ChildProcess, port: number, what: string, output: () => string) {
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline) {
      const live = await fetch(`http://127.0.0.1:${port}/health/live`).catch(() => undefined);
      if (live?.ok) return;
      if (child.exitCode !== null) throw new Error(`${what} exited ${child.exitCode}:\n${output()}`);
      await sleep(250);
    }
    throw new Error(`${what}: nothing answered on port ${port} within 240 s:\n${output()}`);
  }

  /** The server process of `app` below `child`: node running dist/server.js in the app's folder. */
  function serverOf(child: ChildProcess, app: RepositoryApp, what: string, output: () => string) {
    const appDir = realpathSync(path.join(repo, app.path));
    const server = descendants(child.pid!).find((proc) => {
      if (!proc.cmdline.includes('dist/server.js')) return false;
      try {
        return realpathSync(`/proc/${proc.pid}/cwd`) === appDir;
      } catch {
        return false; // the process ended while we looked
      }
    });
    if (!server) throw new Error(`no server process of ${app.name} below ${what}:\n${output()}`);
    return server.pid;
  }

  const missingFrom = (environ: Map<string, string>, env: Record<string, string>) =>
    Object.entries(env)
      .filter(([name, value]) => environ.get(name) !== value)
      .map(([name]) => name);

  it('hands every documented and declared variable to each app under npm start and npm run dev', async () => {
    const apps = readRepositoryApps(repo);
    const declaredAnywhere = new Set(apps.flatMap((app) => app.variables.map((variable) => variable.name)));
    const documented = documentedConfiguration(repo);
    // Every documented variable is one this test sets: a chassis one, PORT/HOST, or an app's declared one.
    expect(
      documented.filter(
        (name) =>
          !(name in CHASSIS_EXAMPLES) && !['PORT', 'HOST'].includes(name) && !declaredAnywhere.has(name),
      ),
    ).toEqual([]);
    const settingsOf = (app: RepositoryApp) => ({
      ...CHASSIS_EXAMPLES,
      HOST: '127.0.0.1',
      ...Object.fromEntries(app.variables.map((variable) => [variable.name, variable.example])),
    });

    // `npm start`, as the README documents it: every app at once, each on the port it declares (PORT unset, as
    // PORT with more than one app is a usage error), with every app's settings in the one environment.
    const env = Object.assign({}, ...apps.map(settingsOf)) as Record<string, string>;
    const start = spawnNpm(['start'], env);
    for (const app of apps) {
      expect({ app: app.name, declaresPort: app.port !== undefined }).toEqual({
        app: app.name,
        declaresPort: true,
      });
      await waitUntilLive(start.child, app.port!, 'npm start', start.output);
      const environ = environOf(serverOf(start.child, app, 'npm start', start.output));
      expect({ command: 'start', app: app.name, missing: missingFrom(environ, settingsOf(app)) }).toEqual({
        command: 'start',
        app: app.name,
        missing: [],
      });
    }
    await stopGracefully(start.child);
    started.delete(start.child);

    // `npm run dev` goes through turbo, whose strict env mode passes only what each app's turbo.json lists: one
    // app at a time (its filter, as the README documents), on a free port, so PORT is checked too.
    for (const app of apps) {
      const appEnv = { ...settingsOf(app), PORT: String(await freePort()) };
      const what = `npm run dev -- --filter=${app.packageName}`;
      const dev = spawnNpm(
        ['run', 'dev', '--', `--filter=${app.packageName}`, '--output-logs=errors-only'],
        appEnv,
      );
      await waitUntilLive(dev.child, Number(appEnv.PORT), what, dev.output);
      const environ = environOf(serverOf(dev.child, app, what, dev.output));
      expect({ command: 'dev', app: app.name, missing: missingFrom(environ, appEnv) }).toEqual({
        command: 'dev',
        app: app.name,
        missing: [],
      });
      await stopGracefully(dev.child);
      started.delete(dev.child);
    }
  }, 600_000);

  describe('npm run new:service', () => {
    const status = () => git(repo, ['status', '--porcelain']);

    it.each([
      ['Bad_Name', /"Bad_Name" is not a kebab-case name/],
      ['saved-cities', /apps\/saved-cities already exists/],
      ['service-kit', /already a shared package \(packages\/service-kit\)/],
      ['apps', /"apps" is reserved/],
      ['a--b', /not a kebab-case name/],
      // Named outside apps/ already (/api/ in the CLI's GitLab client): the rule in test/repo-apps.test.ts would fail.
      ['api', /"api" already appears outside apps\/ as a name \(\S+:\d+/],
    ])(
      'refuses %s with a clear message and writes nothing',
      async (name, message) => {
        const before = status();
        const result = await run('npm', ['run', 'new:service', '--', name], {
          cwd: repo,
          env: { ...process.env, ...NPM_ENV },
        }).then(
          () => ({ code: 0, output: '' }),
          (error: { code?: number; stdout?: string; stderr?: string }) => ({
            code: error.code ?? -1,
            output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
          }),
        );
        expect(result.code).not.toBe(0);
        expect(result.output).toMatch(message);
        expect(status()).toBe(before);
      },
      60_000,
    );

    it('creates a service that passes lint, format:check, typecheck and its tests and is planned, touching only its folder and the lockfile', async () => {
      const name = 'order-history';
      const begin = Date.now();
      await run('npm', ['run', 'new:service', '--', name], {
        cwd: repo,
        env: { ...process.env, ...NPM_ENV },
      });
      const generated = Date.now();
      const changed = status()
        .split('\n')
        .map((line) => line.trim().split(/\s+/).slice(1).join(' '));
      expect(changed.sort()).toEqual([`apps/${name}/`, 'package-lock.json']);
      await run(
        'npx',
        [
          'turbo',
          'run',
          'lint',
          'format:check',
          'typecheck',
          'test',
          `--filter=@slipway/${name}`,
          '--output-logs=errors-only',
        ],
        {
          cwd: repo,
          env: { ...process.env, ...NPM_ENV },
          maxBuffer: 64 * 1024 * 1024,
        },
      );
      const tested = Date.now();
      process.stdout.write(
        `new:service ${name}: generated and installed in ${((generated - begin) / 1000).toFixed(1)} s, ` +
          `lint, format:check, typecheck and tests passed ${((tested - generated) / 1000).toFixed(1)} s later (total ${((tested - begin) / 1000).toFixed(1)} s)\n`,
      );

      const [app] = readRepositoryApps(repo).filter((candidate) => candidate.name === name);
      expect(app?.port).toBe(
        Math.max(
          ...readRepositoryApps(repo)
            .filter((a) => a.name !== name)
            .map((a) => a.port ?? 0),
        ) + 1,
      );

      commitAll(repo, `feat(${name}): generated`);
      await run('npx', ['turbo', 'run', 'build', '--filter=@slipway/pipeline', '--output-logs=errors-only'], {
        cwd: repo,
        env: { ...process.env, ...NPM_ENV },
      });
      const { stdout } = await run(
        'node',
        [path.join(repo, 'packages/pipeline/bin/slipway.js'), 'plan', '--base', 'HEAD~1', '--format', 'json'],
        { cwd: repo, env: { ...process.env, ...NPM_ENV } },
      );
      const plan = JSON.parse(stdout) as Array<{ app: string; path: string }>;
      expect(plan).toContainEqual(expect.objectContaining({ app: name, path: `apps/${name}` }));
    }, 600_000);
  });
});
