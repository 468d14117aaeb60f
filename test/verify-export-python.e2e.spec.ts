/**
 * The README's "The audit export format" is enough to verify an export with other tools:
 * test/fixtures/verify_export.py, written from that section alone, checks a real export as
 * trialctl does (same root hash) and refuses an edited, deleted or reordered event.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyExport } from '../libs/audit/src';
import { sampleExport } from './support/sample-export';

const VERIFIER = join(__dirname, 'fixtures', 'verify_export.py');
const python = spawnSync('python3', ['--version'], { encoding: 'utf8' }).status === 0;
if (!python) console.log('skipped: no python3 (test/fixtures/verify_export.py not run)');
const maybe = python ? describe : describe.skip;

maybe('an export verified by a Python verifier written from the README', () => {
  const dir = mkdtempSync(join(tmpdir(), 'verify-py-'));
  let text = '';
  beforeAll(async () => {
    text = (await sampleExport()).text;
  }, 180_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const verify = (name: string, content: string) => {
    const file = join(dir, name);
    writeFileSync(file, content);
    return spawnSync('python3', [VERIFIER, file], { encoding: 'utf8' });
  };

  it('accepts a real export with the root hash trialctl computes', () => {
    const ours = verifyExport(text.split('\n'));
    if (!ours.ok) throw new Error(JSON.stringify(ours));
    const run = verify('export.ndjson', text);
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(run.stdout).toContain(`${ours.count} events in ${ours.streams} streams, root ${ours.rootHash}`);
  });

  it('refuses an edited, a deleted and a reordered event, and a missing manifest', () => {
    const lines = text.trimEnd().split('\n');
    const edited = text.replace(/"description":"([^"]*)"/, '"description":"$1 (edited)"');
    expect(edited).not.toBe(text);
    const deleted = [...lines.slice(0, 3), ...lines.slice(4)].join('\n') + '\n';
    const reordered = [lines[0], lines[2], lines[1], ...lines.slice(3)].join('\n') + '\n';
    const truncated = lines.slice(0, -1).join('\n') + '\n';
    for (const [name, content] of Object.entries({ edited, deleted, reordered, truncated })) {
      const run = verify(`${name}.ndjson`, content);
      expect({ name, status: run.status, failed: run.stdout.startsWith('FAILED') }).toEqual({ name, status: 1, failed: true });
    }
  });
});
