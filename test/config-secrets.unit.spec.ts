import { validateGatewayConfig } from '../apps/gateway/src/config';
import { describeListening, validatePlatformConfig, validateServiceConfig } from '@app/runtime';

const LONG = 'a-secret-of-exactly-32-bytes-ok!';
const service = { name: 'procedures', defaultPort: 3002 };
const urls = {
  ENROLLMENT_URL: 'http://e:3001',
  PROCEDURES_URL: 'http://p:3002',
  ADVERSE_EVENTS_URL: 'http://a:3003',
  ADJUDICATION_URL: 'http://j:3004',
  REPORTING_URL: 'http://r:3005',
};

describe('JWT_SECRET of at least 32 bytes (RFC 7518 §3.2)', () => {
  it('refuses a short secret on the platform, every service and the gateway, naming the variable and the length', () => {
    expect(Buffer.byteLength(LONG)).toBe(32);
    expect(() => validatePlatformConfig({ JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: must be at least 32 bytes \(got 5\)/);
    expect(() => validateServiceConfig(service, { DATABASE_URL: 'postgres://db/x', JWT_SECRET: LONG.slice(1) })).toThrow(
      /JWT_SECRET: must be at least 32 bytes \(got 31\)/,
    );
    expect(() => validateGatewayConfig({ ...urls, JWT_SECRET: 'short' })).toThrow(/JWT_SECRET: must be at least 32 bytes/);
  });

  it('accepts 32 bytes, and counts bytes rather than characters', () => {
    expect(validatePlatformConfig({ JWT_SECRET: LONG }).JWT_SECRET).toBe(LONG);
    expect(validateGatewayConfig({ ...urls, JWT_SECRET: LONG }).JWT_SECRET).toBe(LONG);
    // 16 two-byte characters are 32 bytes.
    expect(validatePlatformConfig({ JWT_SECRET: 'é'.repeat(16) }).JWT_SECRET).toBe('é'.repeat(16));
  });
});

describe('HOST and KAFKA_CREATE_TOPICS', () => {
  it('leaves HOST unset by default (every interface) and validates it', () => {
    expect(validatePlatformConfig({}).HOST).toBeUndefined();
    expect(validatePlatformConfig({ HOST: '127.0.0.1' }).HOST).toBe('127.0.0.1');
    expect(validatePlatformConfig({ HOST: '::1' }).HOST).toBe('::1');
    expect(validateGatewayConfig({ ...urls, JWT_SECRET: LONG, HOST: '0.0.0.0' }).HOST).toBe('0.0.0.0');
    expect(() => validatePlatformConfig({ HOST: 'http://localhost' })).toThrow(/HOST: must be a host name or an IP address/);
  });

  it('validates KAFKA_CREATE_TOPICS as <partitions>[:<replication factor>]', () => {
    expect(validatePlatformConfig({}).KAFKA_CREATE_TOPICS).toBeUndefined();
    expect(validatePlatformConfig({ KAFKA_CREATE_TOPICS: '6:3' }).KAFKA_CREATE_TOPICS).toBe('6:3');
    for (const bad of ['0', 'six', '6:0', '6:3:1']) {
      expect(() => validatePlatformConfig({ KAFKA_CREATE_TOPICS: bad })).toThrow(/KAFKA_CREATE_TOPICS: must be <partitions>/);
    }
  });

  it('says what a server really listens on', () => {
    expect(describeListening({ address: '::', family: 'IPv6', port: 3000 }, 3000)).toBe(
      'http://localhost:3000 (all interfaces, :: port 3000; HOST narrows it)',
    );
    expect(describeListening({ address: '127.0.0.1', family: 'IPv4', port: 4000 }, 0)).toBe('http://127.0.0.1:4000 (127.0.0.1 only)');
    expect(describeListening({ address: '::1', family: 'IPv6', port: 4000 }, 0)).toBe('http://[::1]:4000 (::1 only)');
  });
});
