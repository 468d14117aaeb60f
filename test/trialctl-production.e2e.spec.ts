/**
 * `npx trialctl` from a production install: `npm run build`, then `npm ci --omit=dev` (no tsx, no
 * TypeScript) in a directory holding only what the image holds (package.json, the lock file, bin/
 * and dist/). The bin runs the compiled CLI; its usage names the command as invoked.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildApps } from './support/processes';
import { sampleExport } from './support/sample-export';

const ROOT = join(__dirname, '..');

describe('trialctl from a production install', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trialctl-prod-'));
  let installed = false;
  const env = { ...process.env, NODE_OPTIONS: '', DATABASE_URL: '', npm_lifecycle_event: '' };
  const run = (command: string, args: string[]) => spawnSync(command, args, { cwd: dir, encoding: 'utf8', env, timeout: 120_000 });

  beforeAll(async () => {
    const build = await buildApps('trialctl-prod-e2e');
    for (const file of ['package.json', 'package-lock.json']) cpSync(join(ROOT, file), join(dir, file));
    cpSync(join(ROOT, 'bin'), join(dir, 'bin'), { recursive: true });
    cpSync(build, join(dir, 'dist'), { recursive: true });
    const install = spawnSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: dir,
      encoding: 'utf8',
      env,
      timeout: 600_000,
    });
    installed = install.status === 0;
    if (!installed) console.log(`skipped: npm ci --omit=dev failed (no registry?): ${install.stderr.slice(-500)}`);
    const { text } = await sampleExport();
    writeFileSync(join(dir, 'export.ndjson'), text);
    writeFileSync(join(dir, 'tampered.ndjson'), text.replace('"planned":true', '"planned":false'));
  }, 900_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has no dev dependency to lean on', () => {
    if (!installed) return;
    expect(existsSync(join(dir, 'node_modules', 'tsx'))).toBe(false);
    expect(existsSync(join(dir, 'node_modules', 'typescript'))).toBe(false);
    expect(existsSync(join(dir, 'dist', 'scripts', 'trialctl.js'))).toBe(true);
  });

  it('npx trialctl prints its usage naming itself, and verifies an export', () => {
    if (!installed) return;
    const usage = run('npx', ['trialctl']);
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('usage: trialctl <command> [args]');
    const ok = run('npx', ['trialctl', 'verify', 'export.ndjson']);
    expect({ status: ok.status, stderr: ok.stderr }).toEqual({ status: 0, stderr: '' });
    expect(ok.stdout).toMatch(/^OK export\.ndjson: trial EXPORT-\w+, \d+ events in \d+ streams/);
    const bad = run('npx', ['trialctl', 'verify', 'tampered.ndjson']);
    expect(bad.status).toBe(1);
  });

  it('the compiled entry run with node names itself as invoked', () => {
    if (!installed) return;
    const help = run(process.execPath, [join('dist', 'scripts', 'trialctl.js'), '--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain(`usage: node ${join('dist', 'scripts', 'trialctl.js')} <command> [args]`);
  });
});
