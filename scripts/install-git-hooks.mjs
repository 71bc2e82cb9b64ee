#!/usr/bin/env node
// `prepare` hook. Installs husky's git hooks on developer machines only: CI runners, Docker builds
// and `HUSKY=0` skip it, and so does a tarball without a .git directory.
import { existsSync } from 'node:fs';

const skip = process.env.HUSKY === '0' || process.env.CI === 'true' || !existsSync('.git');
if (!skip) {
  const { default: husky } = await import('husky');
  const message = husky();
  if (message) console.log(message);
}
