/**
 * What a fresh clone shows a newcomer (issue 15): a README that reads top to bottom as their path
 * and stands alone, every configuration variable in .env.example, a licence, a Node version, and an
 * image that carries trialctl.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gatewayConfigSchema } from '../apps/gateway/src/config';
import { platformConfigSchema, serviceConfigSchema } from '../libs/runtime/src';

const root = join(__dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

describe('a fresh clone', () => {
  const readme = read('README.md');

  it("reads as a newcomer's path: install, start, token, demo, first report, docs", () => {
    const steps = ['npm ci', 'npm start', 'npm run -s token --', 'npm run demo', '/reports/endpoints?', 'http://localhost:3000/docs'];
    const at = steps.map((step) => readme.indexOf(step));
    expect(at.every((index) => index >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
    // The first curl comes after the demo, so it does not answer 404.
    expect(readme.indexOf('curl')).toBeGreaterThan(readme.indexOf('npm run demo'));
  });

  it('stands alone and mints tokens the safe way everywhere', () => {
    expect(readme).not.toMatch(/shared\/docs|api\.md/);
    expect(readme).not.toMatch(/npm run token\b/);
    expect(readme).not.toMatch(/npm run trialctl\b/);
    expect(readme).toContain('## The audit export format');
  });

  it('documents every configuration variable in .env.example and in the README', () => {
    const example = read('.env.example');
    const variables = new Set([
      ...Object.keys(platformConfigSchema.shape),
      ...Object.keys(serviceConfigSchema({ name: 'x', defaultPort: 1 }).shape),
      ...Object.keys(gatewayConfigSchema.shape),
      'LOG_FORMAT',
      'NODE_ENV',
      'GIT_COMMIT',
    ]);
    for (const variable of variables) {
      expect({ variable, inExample: new RegExp(`^# ${variable}=`, 'm').test(example) }).toEqual({ variable, inExample: true });
      expect({ variable, inReadme: readme.includes(`\`${variable}\``) }).toEqual({ variable, inReadme: true });
    }
  });

  it('is licensed Apache-2.0, names its Node version, and keeps a changelog', () => {
    expect(read('LICENSE')).toContain('Apache License\n                           Version 2.0, January 2004');
    expect((JSON.parse(read('package.json')) as { license: string }).license).toBe('Apache-2.0');
    expect(read('.nvmrc').trim()).toBe('22');
    expect(read('CHANGELOG.md')).toMatch(/^## Unreleased$/m);
  });

  it('ships trialctl in the image and from a production install', () => {
    const pkg = JSON.parse(read('package.json')) as { bin: { trialctl: string } };
    expect(pkg.bin.trialctl).toBe('bin/trialctl.js');
    expect(existsSync(join(root, pkg.bin.trialctl))).toBe(true);
    const runtime = read('Dockerfile').slice(read('Dockerfile').lastIndexOf('\nFROM '));
    expect(runtime).toMatch(/^COPY bin \.\/bin$/m);
    expect(runtime).toContain('ln -s /app/bin/trialctl.js /usr/local/bin/trialctl');
  });
});
