#!/usr/bin/env node
// `npx trialctl ...`. In a checkout with the dev tools (tsx), runs scripts/trialctl.ts from source, so
// it is never stale; otherwise (a production install `npm ci --omit=dev` after `npm run build`, or
// the Docker image) the compiled dist/scripts/trialctl.js, which needs no dev dependency.
'use strict';
const { existsSync } = require('node:fs');
const { basename, join } = require('node:path');

const root = join(__dirname, '..');
// The usage text names the command as it was invoked (`trialctl` through npx or a global install).
process.env.TRIALCTL_INVOKED_AS = process.env.TRIALCTL_INVOKED_AS || basename(process.argv[1] || 'trialctl').replace(/\.js$/, '');

const source = join(root, 'scripts', 'trialctl.ts');
const compiled = join(root, 'dist', 'scripts', 'trialctl.js');

function resolveTsx() {
  try {
    return require.resolve('tsx/cli', { paths: [root] });
  } catch {
    return undefined;
  }
}

const tsx = existsSync(source) ? resolveTsx() : undefined;
if (tsx !== undefined) {
  const { spawnSync } = require('node:child_process');
  const result = spawnSync(process.execPath, [tsx, '--tsconfig', join(root, 'tsconfig.json'), source, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(result.status ?? 1);
} else if (existsSync(compiled)) {
  require(compiled);
} else {
  process.stderr.write(
    `trialctl: ${compiled} is missing; run \`npm run build\` first (or install the dev dependencies to run from source)\n`,
  );
  process.exit(1);
}
