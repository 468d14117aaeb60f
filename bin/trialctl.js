#!/usr/bin/env node
// `npx trialctl ...`: runs scripts/trialctl.ts through tsx, with the repository's tsconfig (path aliases).
const { spawnSync } = require('node:child_process');
const { join } = require('node:path');

const root = join(__dirname, '..');
const result = spawnSync(
  process.execPath,
  [require.resolve('tsx/cli'), '--tsconfig', join(root, 'tsconfig.json'), join(root, 'scripts', 'trialctl.ts'), ...process.argv.slice(2)],
  {
    stdio: 'inherit',
  },
);
process.exit(result.status ?? 1);
