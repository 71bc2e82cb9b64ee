import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface OwnManifest {
  version: string;
  /** The variables this app declares as secrets (package.json slipway.variables.*.secret): the logger redacts them. */
  secretKeys: string[];
}

/**
 * This app's package.json, read at run time: it sits outside tsc's rootDir, next to dist/ in the image too. The
 * declaration there is the one list of the app's secrets, shared with `slipway gitlab setup`.
 */
export function readOwnManifest(file = join(__dirname, '..', 'package.json')): OwnManifest {
  const manifest = JSON.parse(readFileSync(file, 'utf8')) as {
    version: string;
    slipway?: { variables?: Record<string, { secret?: boolean }> };
  };
  const variables = Object.entries(manifest.slipway?.variables ?? {});
  return {
    version: manifest.version,
    secretKeys: variables.filter(([, variable]) => variable.secret === true).map(([name]) => name),
  };
}
