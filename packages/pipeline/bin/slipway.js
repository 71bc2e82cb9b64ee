#!/usr/bin/env node
'use strict';
// A committed entry point, so npm links `slipway` into node_modules/.bin at install time, before dist/ is
// built. Without the link, `npx slipway` would go looking for an unrelated package on the registry.
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
