import { validatePlatformConfig } from '../src';
import { validateServiceConfig } from '../src';

const reporting = { name: 'reporting', defaultPort: 3005 };
const server = { DATABASE_URL: 'postgres://db/x', JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef' };

describe('CORS_ORIGINS', () => {
  it('is off when unset or empty', () => {
    expect(validatePlatformConfig({}).CORS_ORIGINS).toEqual([]);
    expect(validatePlatformConfig({ CORS_ORIGINS: ' , ' }).CORS_ORIGINS).toEqual([]);
    expect(validateServiceConfig(reporting, server).CORS_ORIGINS).toEqual([]);
  });

  it('reads a comma list of origins, trimmed, each once', () => {
    const list = ' https://app.example.org , http://localhost:5173,https://app.example.org,http://[::1]:8080';
    expect(validatePlatformConfig({ CORS_ORIGINS: list }).CORS_ORIGINS).toEqual([
      'https://app.example.org',
      'http://localhost:5173',
      'http://[::1]:8080',
    ]);
    expect(validateServiceConfig(reporting, { ...server, CORS_ORIGINS: list }).CORS_ORIGINS).toHaveLength(3);
  });

  it.each([
    ['a wildcard', '*'],
    ['a path', 'https://app.example.org/app'],
    ['a trailing slash', 'https://app.example.org/'],
    ['a host without a scheme', 'app.example.org'],
    ['another scheme', 'ftp://files.example.org'],
    ['a default port spelled out', 'https://app.example.org:443'],
    ['credentials', 'https://user@app.example.org'],
    ['"null"', 'null'],
  ])('refuses %s, naming the variable and the entry', (_case, entry) => {
    const list = `https://ok.example.org,${entry}`;
    const quoted = entry.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    expect(() => validatePlatformConfig({ CORS_ORIGINS: list })).toThrow(new RegExp(`CORS_ORIGINS: "${quoted}" is not an origin`));
    expect(() => validateServiceConfig(reporting, { ...server, CORS_ORIGINS: list })).toThrow(
      new RegExp(`Invalid configuration of the reporting service: CORS_ORIGINS: "${quoted}" is not an origin`),
    );
  });
});
