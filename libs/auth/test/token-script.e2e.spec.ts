import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JwtVerifier, resolveJwtSettings } from '@app/auth';

const root = join(__dirname, '..', '..', '..');

function runToken(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const { JWT_SECRET: _secret, JWT_JWKS_URL: _jwks, DATA_DIR: _dir, ...inherited } = process.env;
  return new Promise((resolve) => {
    execFile(
      join(root, 'node_modules', '.bin', 'tsx'),
      [join(root, 'scripts', 'token.ts'), ...args],
      { cwd: root, env: { ...inherited, ...env } },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('scripts/token.ts', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'auth-token-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('mints a token the platform accepts with the secret it generated', async () => {
    const settings = resolveJwtSettings({ dataDir }, () => undefined);
    const { code, stdout, stderr } = await runToken(
      ['--sub', 'u1', '--name', 'Dr. Jane Roe', '--roles', 'site-investigator,cec-reviewer', '--sites', 'S01,S02', '--expires', '1h'],
      { DATA_DIR: dataDir },
    );
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const minted = Math.floor(Date.now() / 1000);
    const principal = await new JwtVerifier(settings).verify(stdout.trim());
    expect(principal).toEqual({
      userId: 'u1',
      name: 'Dr. Jane Roe',
      roles: ['site-investigator', 'cec-reviewer'],
      sites: ['S01', 'S02'],
      authTime: expect.any(Number),
    });
    // Minting stands for a login: auth_time is now, so the token can sign (21 CFR 11.200(a)(1)).
    expect(Math.abs(principal.authTime! - minted)).toBeLessThanOrEqual(60);
  });

  it('prints nothing but the token through the documented command, npm run -s token', async () => {
    const { JWT_SECRET: _secret, JWT_JWKS_URL: _jwks, ...inherited } = process.env;
    const stdout = await new Promise<string>((resolve, reject) =>
      execFile(
        'npm',
        ['run', '-s', 'token', '--', '--sub', 'u1', '--name', 'Dr. Jane Roe', '--roles', 'auditor'],
        { cwd: root, env: { ...inherited, DATA_DIR: dataDir } },
        (error: Error | null, out) => (error ? reject(error) : resolve(out)),
      ),
    );
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
  });

  it('a token minted for another DATA_DIR is refused with a 401 saying why', async () => {
    const other = join(dataDir, 'other');
    const here = resolveJwtSettings({ dataDir }, () => undefined);
    resolveJwtSettings({ dataDir: other }, () => undefined);
    const { code, stdout } = await runToken(['--sub', 'u1', '--name', 'X', '--roles', 'auditor'], { DATA_DIR: other });
    expect(code).toBe(0);
    const refused: unknown = await new JwtVerifier(here).verify(stdout.trim()).catch((error: unknown) => error);
    const problem = (refused as { problem?: { status: number; code: string; detail: string } }).problem;
    expect(problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(problem?.detail).toMatch(/signature verification failed; it was signed with another secret .*another DATA_DIR/);
  });

  it('prefers JWT_SECRET', async () => {
    const { code, stdout } = await runToken(['--sub', 'u2', '--name', 'A. Auditor', '--roles', 'auditor'], {
      JWT_SECRET: 'from-the-environment',
      DATA_DIR: dataDir,
    });
    expect(code).toBe(0);
    const verifier = new JwtVerifier(resolveJwtSettings({ jwtSecret: 'from-the-environment', dataDir }, () => undefined));
    await expect(verifier.verify(stdout.trim())).resolves.toMatchObject({ userId: 'u2', roles: ['auditor'], sites: [] });
  });

  it('exits 2 on an unknown role, printing nothing on stdout', async () => {
    const { code, stdout, stderr } = await runToken(['--sub', 'u1', '--name', 'X', '--roles', 'site-investigator,admin'], {
      JWT_SECRET: 's',
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('admin');
  });

  it('exits 2 when there is no secret', async () => {
    const { code, stdout, stderr } = await runToken(['--sub', 'u1', '--name', 'X', '--roles', 'auditor'], {
      DATA_DIR: join(dataDir, 'empty'),
    });
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('JWT_SECRET');
  });
});
