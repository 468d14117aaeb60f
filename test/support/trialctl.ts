import { spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';

const BIN = join(__dirname, '..', '..', 'bin', 'trialctl.js');
const environment = (env: Record<string, string>) => ({ ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', ...env });

/** Runs `npx trialctl ...` as a user would: the package's bin, a separate process, no database unless given. */
export function runTrialctl(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: environment(env) });
}

/**
 * `npx trialctl ... > file`: stdout goes straight to the file (a redirect, not a pipe read back as
 * text), so the file holds exactly the bytes the command wrote. Answers the exit status and stderr.
 */
export function runTrialctlToFile(args: string[], file: string, env: Record<string, string> = {}) {
  const fd = openSync(file, 'w');
  try {
    const result = spawnSync(process.execPath, [BIN, ...args], { stdio: ['ignore', fd, 'pipe'], env: environment(env) });
    return { status: result.status, stderr: result.stderr.toString('utf8') };
  } finally {
    closeSync(fd);
  }
}
