import { validatePlatformConfig } from '../src';

describe('KURRENTDB_URL', () => {
  it('accepts the connection-string schemes of the KurrentDB client and treats blank as unset', () => {
    for (const url of [
      'kurrentdb://kurrentdb:2113?tls=false',
      'kurrentdb+discover://a:2113,b:2113',
      'esdb://localhost:2113?tls=false',
      'kdb://h:1',
    ]) {
      expect(validatePlatformConfig({ KURRENTDB_URL: url }).KURRENTDB_URL).toBe(url);
    }
    expect(validatePlatformConfig({ KURRENTDB_URL: ' ' }).KURRENTDB_URL).toBeUndefined();
    expect(validatePlatformConfig({}).KURRENTDB_URL).toBeUndefined();
  });

  it('stops start-up with the variable named when it is not a KurrentDB connection string', () => {
    expect(() => validatePlatformConfig({ KURRENTDB_URL: 'http://kurrentdb:2113' })).toThrow(
      /KURRENTDB_URL: must be a KurrentDB connection string/,
    );
  });
});
