// `npm run new:service -- <name>` (turbo gen service --args <name>): a new service in apps/<name>, from the
// chassis, in the shape of the reference apps: sources, tests, .gitlab-ci.yml wired to the templates, its
// declarations (package.json "slipway", turbo.json) and a README stub; then npm install links the workspace.
// A bad name writes nothing: the first action validates and aborts the rest.
// Turborepo's generator docs: https://turborepo.com/docs/guides/generating-code
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { PlopTypes } from '@turbo/gen';
import { serviceNameProblem } from './service-name';

const FIRST_PORT = 3000;

/** One more than the highest default port an app declares, so `npm start` can run every app side by side. */
function nextFreePort(repoRoot: string): number {
  const appsDir = path.join(repoRoot, 'apps');
  const ports = (existsSync(appsDir) ? readdirSync(appsDir) : []).flatMap((name) => {
    const manifest = path.join(appsDir, name, 'package.json');
    if (!existsSync(manifest)) return [];
    const port = (JSON.parse(readFileSync(manifest, 'utf8')) as { slipway?: { port?: unknown } }).slipway
      ?.port;
    return typeof port === 'number' ? [port] : [];
  });
  return ports.length === 0 ? FIRST_PORT : Math.max(...ports) + 1;
}

export default function generator(plop: PlopTypes.NodePlopAPI): void {
  const repoRoot = plop.getDestBasePath();

  plop.setActionType('validate-service-name', (answers) => {
    const problem = serviceNameProblem((answers as { name?: unknown }).name, repoRoot);
    if (problem) throw new Error(`cannot create the service: ${problem}; nothing was written`);
    return `apps/${(answers as { name: string }).name} is free`;
  });

  plop.setActionType('npm-install', () => {
    try {
      execFileSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
        cwd: repoRoot,
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { ...process.env, HUSKY: '0' },
      });
    } catch (error) {
      const stderr = String((error as { stderr?: unknown }).stderr ?? '')
        .trim()
        .split('\n')
        .slice(-5)
        .join('\n');
      throw new Error(
        `npm install failed; the app is in place, run npm install again once it can:\n${stderr}`,
        { cause: error },
      );
    }
    return 'npm install linked the new workspace (package-lock.json updated)';
  });

  // Computed once, before any file is written (the new package.json must not count itself).
  const port = nextFreePort(repoRoot);
  plop.setHelper('defaultPort', () => String(port));
  plop.setHelper('upperSnake', (text: string) => text.toUpperCase().replace(/-/g, '_'));

  plop.setGenerator('service', {
    description: 'A new service in apps/<name>: chassis, tests, pipeline, declarations, README',
    prompts: [
      {
        type: 'input',
        name: 'name',
        message: 'Name of the service (kebab-case, e.g. order-history):',
        validate: (name: string) => serviceNameProblem(name, repoRoot) ?? true,
      },
    ],
    actions: [
      { type: 'validate-service-name', abortOnFail: true },
      {
        type: 'addMany',
        destination: '{{ turbo.paths.root }}/apps/{{ name }}',
        base: 'templates/service',
        templateFiles: 'templates/service/**/*',
        globOptions: { dot: true },
        stripExtensions: ['hbs'],
        abortOnFail: true,
      },
      { type: 'npm-install' },
    ],
  });
}
