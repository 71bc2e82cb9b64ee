#!/usr/bin/env node
// Keeps package-lock.json installable everywhere.
//
// The registry mirror this repo is developed against answers 404 for many platform-specific optional
// packages (@turbo/darwin-*, @unrs/resolver-binding-*, ...). npm then writes a lockfile without them,
// and `npm ci` on any machine refuses it with "Missing: <pkg> from lock file". For every optional
// dependency that has no lockfile entry we add one with its version, `optional: true`, and the
// os/cpu/libc its name implies, which is exactly what npm needs to skip it on other platforms.
// Runs as the root `postinstall`, so every `npm install` re-completes the lockfile.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const OS_BY_TOKEN = {
  darwin: 'darwin',
  linux: 'linux',
  win32: 'win32',
  windows: 'win32',
  freebsd: 'freebsd',
  openbsd: 'openbsd',
  netbsd: 'netbsd',
  sunos: 'sunos',
  aix: 'aix',
  android: 'android',
  openharmony: 'openharmony',
};
const CPU_BY_TOKEN = {
  x64: 'x64',
  64: 'x64',
  arm64: 'arm64',
  arm: 'arm',
  ia32: 'ia32',
  ppc64: 'ppc64',
  s390x: 's390x',
  riscv64: 'riscv64',
  loong64: 'loong64',
  mips64el: 'mips64el',
  wasm32: 'wasm32',
};
const LIBC_BY_TOKEN = { gnu: 'glibc', gnueabihf: 'glibc', musl: 'musl', musleabihf: 'musl' };

/** The os/cpu/libc constraints a platform package's name implies, e.g. `@turbo/darwin-arm64`. */
export function platformOf(packageName) {
  const tokens = packageName.replace(/^@[^/]+\//, '').split('-');
  const pick = (table) => [...new Set(tokens.filter((t) => t in table).map((t) => table[t]))];
  const os = pick(OS_BY_TOKEN);
  const cpu = pick(CPU_BY_TOKEN);
  const libc = pick(LIBC_BY_TOKEN);
  if (os.length === 0 && cpu.length === 0) {
    throw new Error(`complete-lockfile: cannot tell the platform of "${packageName}" from its name`);
  }
  return { os, cpu, libc };
}

function exactVersion(range, name, parent) {
  const version = range.replace(/^[=v]/, '');
  if (!/^\d+\.\d+\.\d+(?:-[\w.]+)?$/.test(version)) {
    throw new Error(`complete-lockfile: ${parent} wants ${name}@"${range}", which is not an exact version`);
  }
  return version;
}

// Node's resolution: <parent>/node_modules/<name>, then each ancestor's node_modules, then the root.
function resolvesFrom(packages, parentPath, name) {
  let dir = parentPath;
  for (;;) {
    if (packages[`${dir ? `${dir}/` : ''}node_modules/${name}`]) return true;
    if (!dir) return false;
    const cut = dir.lastIndexOf('/node_modules/');
    dir = cut === -1 ? '' : dir.slice(0, cut);
  }
}

/** Returns the lockfile with the missing optional platform entries added, and what was added. */
export function completeLockfile(lock) {
  const packages = { ...lock.packages };
  const added = [];
  for (const [parentPath, entry] of Object.entries(lock.packages)) {
    for (const [name, range] of Object.entries(entry.optionalDependencies ?? {})) {
      if (resolvesFrom(packages, parentPath, name)) continue;
      const version = exactVersion(range, name, parentPath || 'the root package');
      const hoisted = `node_modules/${name}`;
      const path = packages[hoisted] ? `${parentPath}/node_modules/${name}` : hoisted;
      const { os, cpu, libc } = platformOf(name);
      packages[path] = {
        version,
        ...(cpu.length ? { cpu } : {}),
        ...(entry.dev ? { dev: true } : {}),
        ...(libc.length ? { libc } : {}),
        optional: true,
        ...(os.length ? { os } : {}),
      };
      added.push(`${name}@${version}`);
    }
  }
  const [root, ...rest] = Object.keys(packages);
  const sorted = [root, ...rest.sort((a, b) => a.localeCompare(b, 'en'))];
  return { lock: { ...lock, packages: Object.fromEntries(sorted.map((k) => [k, packages[k]])) }, added };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = new URL('../package-lock.json', import.meta.url);
  const { lock, added } = completeLockfile(JSON.parse(readFileSync(file, 'utf8')));
  if (added.length > 0) {
    writeFileSync(file, `${JSON.stringify(lock, null, 2)}\n`);
    console.log(`complete-lockfile: added ${added.length} optional platform entries: ${added.join(', ')}`);
  }
}
