import { validatePlatformConfig, validateServiceConfig } from '../src';

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

  it('reads IDEMPOTENCY_TTL as a duration, 24 hours by default', () => {
    expect(validatePlatformConfig({}).IDEMPOTENCY_TTL).toBe(86_400_000);
    expect(validatePlatformConfig({ IDEMPOTENCY_TTL: '48h' }).IDEMPOTENCY_TTL).toBe(172_800_000);
    expect(validatePlatformConfig({ IDEMPOTENCY_TTL: '90m' }).IDEMPOTENCY_TTL).toBe(5_400_000);
    expect(validatePlatformConfig({ IDEMPOTENCY_TTL: '7d' }).IDEMPOTENCY_TTL).toBe(604_800_000);
    expect(validatePlatformConfig({ IDEMPOTENCY_TTL: '3600' }).IDEMPOTENCY_TTL).toBe(3_600_000);
    for (const bad of ['forever', '24 hours', '-1h', '500ms', '1.5h']) {
      expect(() => validatePlatformConfig({ IDEMPOTENCY_TTL: bad })).toThrow(/IDEMPOTENCY_TTL: /);
    }
  });

  it('reads SIGNATURE_MAX_AGE as whole seconds, 300 by default, for the platform and every service', () => {
    expect(validatePlatformConfig({}).SIGNATURE_MAX_AGE).toBe(300);
    expect(validatePlatformConfig({ SIGNATURE_MAX_AGE: '' }).SIGNATURE_MAX_AGE).toBe(300);
    expect(validatePlatformConfig({ SIGNATURE_MAX_AGE: '60' }).SIGNATURE_MAX_AGE).toBe(60);
    expect(validatePlatformConfig({ SIGNATURE_MAX_AGE: '86400' }).SIGNATURE_MAX_AGE).toBe(86_400);
    const service = { name: 'adjudication', defaultPort: 3004 };
    const serverEnv = { DATABASE_URL: 'postgres://u@h:5432/db', JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef' };
    expect(validateServiceConfig(service, serverEnv).SIGNATURE_MAX_AGE).toBe(300);
    expect(validateServiceConfig(service, { ...serverEnv, SIGNATURE_MAX_AGE: '120' }).SIGNATURE_MAX_AGE).toBe(120);
    for (const bad of ['0', '-300', '1.5', '5m', 'forever', '86401']) {
      expect(() => validatePlatformConfig({ SIGNATURE_MAX_AGE: bad })).toThrow(/SIGNATURE_MAX_AGE: /);
      expect(() => validateServiceConfig(service, { ...serverEnv, SIGNATURE_MAX_AGE: bad })).toThrow(/SIGNATURE_MAX_AGE: /);
    }
  });
});
