// A fixture monorepo with exactly two apps: this checkout's weather-app and a small status-app with no
// dependencies. Any other app this checkout has (apps/saved-cities, ...) is left out, so the tests built on it
// know the full list of apps whatever apps the monorepo gains.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitAll, createRepositoryFromCheckout, writeFile } from './fixture-repository';

/** Adds apps/status-app: a second app that shares nothing with weather-app but the templates and the Dockerfile. */
export function addStatusApp(repo: string): void {
  writeFile(
    repo,
    'apps/status-app/package.json',
    `${JSON.stringify({ name: '@slipway/status-app', version: '0.1.0', private: true }, null, 2)}\n`,
  );
  writeFile(repo, 'apps/status-app/src/index.js', "console.log('status');\n");
  writeFile(
    repo,
    'apps/status-app/.gitlab-ci.yml',
    readFileSync(join(repo, 'apps/weather-app/.gitlab-ci.yml'), 'utf8').replaceAll(
      'weather-app',
      'status-app',
    ),
  );
}

/** This checkout with weather-app as its only app, plus status-app, committed on main in `dir`; returns the commit. */
export function createTwoAppRepository(dir: string): string {
  createRepositoryFromCheckout(dir, undefined, { apps: ['weather-app'] });
  addStatusApp(dir);
  return commitAll(dir, 'feat: add the status app');
}
