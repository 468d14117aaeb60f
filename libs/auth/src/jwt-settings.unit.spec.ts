import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jwtSecretPath, resolveJwtSettings, type JwtSettings } from './jwt-settings';

function secretOf(settings: JwtSettings): string {
  if (settings.mode !== 'secret') throw new Error(`expected secret settings, got ${settings.mode}`);
  return new TextDecoder().decode(settings.secret);
}

describe('resolveJwtSettings', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'auth-settings-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('uses JWT_SECRET for HS256 and writes nothing', () => {
    const log = jest.fn();
    const settings = resolveJwtSettings({ jwtSecret: 'a-long-enough-test-secret', dataDir }, log);
    expect(settings.mode).toBe('secret');
    expect(settings.algorithms).toEqual(['HS256']);
    expect(secretOf(settings)).toBe('a-long-enough-test-secret');
    expect(() => statSync(jwtSecretPath(dataDir))).toThrow();
    expect(log).not.toHaveBeenCalled();
  });

  it('uses a JWKS URL for RS256/ES256, also against a server', () => {
    const settings = resolveJwtSettings(
      { jwksUrl: 'https://idp.example.org/.well-known/jwks.json', databaseUrl: 'postgres://db/trials', dataDir },
      jest.fn(),
    );
    expect(settings).toMatchObject({ mode: 'jwks', algorithms: ['RS256', 'ES256'] });
  });

  it('generates a secret once on the embedded default, 0600, and says how to mint a token', () => {
    const nested = join(dataDir, 'not', 'yet', 'there');
    const log = jest.fn();
    const first = secretOf(resolveJwtSettings({ dataDir: nested }, log));
    const path = jwtSecretPath(nested);
    expect(first.length).toBeGreaterThanOrEqual(43);
    expect(readFileSync(path, 'utf8').trim()).toBe(first);
    if (process.platform !== 'win32') expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(log).toHaveBeenCalledTimes(1);
    expect(log.mock.calls[0]?.[0]).toEqual(expect.stringContaining('generated'));
    expect(log.mock.calls[0]?.[0]).toEqual(expect.stringContaining(path));
    expect(log.mock.calls[0]?.[0]).toEqual(
      expect.stringContaining('npm run -s token -- --sub u1 --name "Dr. Jane Roe" --roles site-investigator --sites S01'),
    );

    const again = jest.fn();
    expect(secretOf(resolveJwtSettings({ dataDir: nested }, again))).toBe(first);
    expect(again).toHaveBeenCalledTimes(1);
    expect(again.mock.calls[0]?.[0]).toEqual(expect.stringContaining('npm run -s token'));
  });

  it('refuses an empty secret file rather than signing with nothing', () => {
    writeFileSync(jwtSecretPath(dataDir), '\n');
    expect(() => resolveJwtSettings({ dataDir }, jest.fn())).toThrow(/empty/);
  });

  it('refuses to start against a server without a secret or a JWKS URL', () => {
    expect(() => resolveJwtSettings({ databaseUrl: 'postgres://db.example.org/trials', dataDir }, jest.fn())).toThrow(
      /JWT_SECRET or JWT_JWKS_URL is required/,
    );
    expect(() => statSync(jwtSecretPath(dataDir))).toThrow();
  });

  it('refuses both a secret and a JWKS URL', () => {
    expect(() => resolveJwtSettings({ jwtSecret: 's', jwksUrl: 'https://idp.example.org/jwks', dataDir }, jest.fn())).toThrow(
      /Both JWT_SECRET and JWT_JWKS_URL/,
    );
  });

  it('refuses a JWKS URL that is not http(s)', () => {
    expect(() => resolveJwtSettings({ jwksUrl: 'file:///etc/jwks.json', dataDir }, jest.fn())).toThrow(/http\(s\)/);
    expect(() => resolveJwtSettings({ jwksUrl: 'not a url', dataDir }, jest.fn())).toThrow(/not a valid URL/);
  });
});
