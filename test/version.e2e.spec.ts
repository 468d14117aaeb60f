/** GET /version says what runs (package name and version, the git commit when known); /health carries the version too. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startPlatform, type RunningPlatform } from './support/platform';

const pkg = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { name: string; version: string };

describe('GET /version', () => {
  let p: RunningPlatform;
  beforeAll(async () => {
    p = await startPlatform();
  }, 120_000);
  afterAll(() => p.close());

  it('answers name, version and commit without a token', async () => {
    const answer = await p.http.get('/version').expect(200);
    expect(answer.body).toEqual({ name: pkg.name, version: pkg.version, commit: expect.stringMatching(/^[0-9a-f]{40}$/) });
  });

  it('puts the version on /health', async () => {
    const answer = await p.http.get('/health').expect(200);
    expect(answer.body).toMatchObject({ status: 'ok', version: pkg.version });
  });
});
