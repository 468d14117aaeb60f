import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

/** Runs `npx trialctl ...` as a user would: the package's bin, a separate process, no database unless given. */
export function runTrialctl(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [join(__dirname, '..', '..', 'bin', 'trialctl.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', ...env },
  });
}
