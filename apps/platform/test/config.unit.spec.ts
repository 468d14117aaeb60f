import { validatePlatformConfig } from '../src/config';

describe('platform configuration', () => {
  it('applies the documented defaults', () => {
    expect(validatePlatformConfig({})).toMatchObject({ PORT: 3000, DATA_DIR: './.data', LOG_LEVEL: 'info' });
    expect(validatePlatformConfig({}).DATABASE_URL).toBeUndefined();
  });

  it('treats an empty variable as absent', () => {
    expect(validatePlatformConfig({ DATABASE_URL: '', JWT_SECRET: ' ' })).toMatchObject({ DATABASE_URL: undefined, JWT_SECRET: undefined });
  });

  it('names every offending variable', () => {
    expect(() => validatePlatformConfig({ PORT: 'eighty', DATABASE_URL: 'mysql://x' })).toThrow(/PORT: .*; DATABASE_URL: /);
  });

  it('accepts a PostgreSQL URL', () => {
    expect(validatePlatformConfig({ DATABASE_URL: 'postgres://u@h:5432/db', PORT: '8080' })).toMatchObject({
      DATABASE_URL: 'postgres://u@h:5432/db',
      PORT: 8080,
    });
  });
});
