import { validateServiceConfig } from '../src';

const procedures = { name: 'procedures', defaultPort: 3002 };

describe('standalone service configuration', () => {
  it('requires DATABASE_URL, saying why PGlite will not do', () => {
    expect(() => validateServiceConfig(procedures, { JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef' })).toThrow(
      /Invalid configuration of the procedures service: DATABASE_URL: is required: the procedures service shares one PostgreSQL server/,
    );
    expect(() =>
      validateServiceConfig(procedures, { JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef', DATABASE_URL: 'mysql://db/x' }),
    ).toThrow(/DATABASE_URL: must be a postgres/);
  });

  it('requires JWT_SECRET or JWT_JWKS_URL: a server deployment never generates a secret', () => {
    expect(() => validateServiceConfig(procedures, { DATABASE_URL: 'postgres://db/x' })).toThrow(/JWT_SECRET or JWT_JWKS_URL is required/);
  });

  it("defaults to the service's own port and a pool small enough for five services on one server", () => {
    const config = validateServiceConfig(procedures, {
      DATABASE_URL: 'postgres://db/x',
      JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef',
    });
    expect({ port: config.PORT, pool: config.DATABASE_POOL_SIZE, level: config.LOG_LEVEL }).toEqual({
      port: 3002,
      pool: 10,
      level: 'info',
    });
    expect(
      validateServiceConfig(procedures, {
        DATABASE_URL: 'postgres://db/x',
        JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef',
        PORT: '4000',
      }).PORT,
    ).toBe(4000);
  });
});
