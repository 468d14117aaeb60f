import { serviceUrls, validateGatewayConfig } from './config';

const urls = {
  ENROLLMENT_URL: 'http://enrollment:3001/',
  PROCEDURES_URL: 'http://procedures:3002',
  ADVERSE_EVENTS_URL: 'http://adverse-events:3003',
  ADJUDICATION_URL: 'http://adjudication:3004',
  REPORTING_URL: 'https://reporting.internal',
};

describe('gateway configuration', () => {
  it('names every missing service URL at once', () => {
    expect(() => validateGatewayConfig({ JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef' })).toThrow(
      /ENROLLMENT_URL: is required.*PROCEDURES_URL: is required.*ADVERSE_EVENTS_URL: is required.*ADJUDICATION_URL: is required.*REPORTING_URL: is required/,
    );
  });

  it('refuses a URL that is not http(s), and a start without a way to verify tokens', () => {
    expect(() =>
      validateGatewayConfig({ ...urls, REPORTING_URL: 'postgres://db/x', JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef' }),
    ).toThrow(/REPORTING_URL: must be the http\(s\) base URL of the reporting service/);
    expect(() => validateGatewayConfig(urls)).toThrow(/JWT_SECRET or JWT_JWKS_URL is required/);
  });

  it('reads CORS_ORIGINS as a list of origins, off by default, and refuses anything else naming it', () => {
    expect(validateGatewayConfig({ ...urls, JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef' }).CORS_ORIGINS).toEqual([]);
    const listed = validateGatewayConfig({
      ...urls,
      JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef',
      CORS_ORIGINS: 'https://app.example.org, http://localhost:5173',
    });
    expect(listed.CORS_ORIGINS).toEqual(['https://app.example.org', 'http://localhost:5173']);
    expect(() =>
      validateGatewayConfig({ ...urls, JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef', CORS_ORIGINS: 'https://app.example.org/ui' }),
    ).toThrow(/Invalid configuration of the gateway: CORS_ORIGINS: "https:\/\/app.example.org\/ui" is not an origin/);
  });

  it('defaults the port and the upstream timeout, and strips trailing slashes from base URLs', () => {
    const config = validateGatewayConfig({ ...urls, JWT_SECRET: 's-32-byte-test-secret-0123456789abcdef' });
    expect({ port: config.PORT, timeout: config.GATEWAY_TIMEOUT_MS }).toEqual({ port: 3000, timeout: 30_000 });
    expect(serviceUrls(config)).toEqual({
      enrollment: 'http://enrollment:3001',
      procedures: 'http://procedures:3002',
      'adverse-events': 'http://adverse-events:3003',
      adjudication: 'http://adjudication:3004',
      reporting: 'https://reporting.internal',
    });
  });
});
