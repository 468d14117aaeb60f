import { ProblemException } from '@app/http';
import { principalFromClaims } from './principal';

function refusal(claims: Record<string, unknown>): ProblemException {
  try {
    principalFromClaims(claims);
  } catch (error) {
    if (error instanceof ProblemException) return error;
    throw error;
  }
  throw new Error('expected the claims to be refused');
}

describe('principalFromClaims', () => {
  const valid = { sub: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'], sites: ['S01'] };

  it('reads sub, name, roles and sites', () => {
    expect(principalFromClaims(valid)).toEqual({ userId: 'u1', name: 'Dr. Jane Roe', roles: ['site-investigator'], sites: ['S01'] });
  });

  it('defaults sites to none and drops duplicate roles and sites', () => {
    expect(principalFromClaims({ sub: 'u2', name: 'A. Auditor', roles: ['auditor', 'auditor'] })).toEqual({
      userId: 'u2',
      name: 'A. Auditor',
      roles: ['auditor'],
      sites: [],
    });
    expect(principalFromClaims({ ...valid, sites: ['S01', 'S01'] }).sites).toEqual(['S01']);
  });

  it('accepts a token with no roles at all, which then passes no @Roles check', () => {
    expect(principalFromClaims({ ...valid, roles: [] }).roles).toEqual([]);
  });

  it.each([
    ['sub', { ...valid, sub: undefined }],
    ['sub', { ...valid, sub: '' }],
    ['sub', { ...valid, sub: 42 }],
    ['name', { ...valid, name: undefined }],
    ['name', { ...valid, name: '   ' }],
    ['roles', { ...valid, roles: undefined }],
    ['roles', { ...valid, roles: 'trial-admin' }],
    ['roles', { ...valid, roles: ['trial-admin', 'superuser'] }],
    ['roles', { ...valid, roles: [7] }],
    ['sites', { ...valid, sites: 'S01' }],
    ['sites', { ...valid, sites: ['S01', 2] }],
    ['sites', { ...valid, sites: [''] }],
    // auth_time is a NumericDate: a number of seconds, not a string, not before 1970, not after 9999.
    ['auth_time', { ...valid, auth_time: '1780000000' }],
    ['auth_time', { ...valid, auth_time: '2026-06-30T12:00:00Z' }],
    ['auth_time', { ...valid, auth_time: -1 }],
    ['auth_time', { ...valid, auth_time: 1e20 }],
    ['auth_time', { ...valid, auth_time: null }],
    ['auth_time', { ...valid, auth_time: true }],
    ['auth_time', { ...valid, auth_time: [1780000000] }],
    ['amr', { ...valid, amr: 'pwd' }],
    ['amr', { ...valid, amr: ['pwd', 7] }],
    ['amr', { ...valid, amr: [''] }],
    ['amr', { ...valid, amr: Array.from({ length: 17 }, (_, i) => `m${i}`) }],
    ['acr', { ...valid, acr: 2 }],
    ['acr', { ...valid, acr: 'x'.repeat(257) }],
  ])('refuses a bad "%s" claim with 401 TOKEN_INVALID naming it', (claim, claims) => {
    const error = refusal(claims);
    expect(error.problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(error.problem.detail).toContain(`"${claim}"`);
  });

  it('names the unknown role', () => {
    expect(refusal({ ...valid, roles: ['trial-admin', 'superuser'] }).problem.detail).toContain('"superuser"');
  });

  it('reads auth_time, amr and acr when the token carries them, and leaves them out when not', () => {
    expect(principalFromClaims(valid)).not.toHaveProperty('authTime');
    expect(principalFromClaims({ ...valid, auth_time: 1_780_000_000, amr: ['pwd', 'otp'], acr: 'urn:example:loa:2' })).toEqual({
      ...principalFromClaims(valid),
      authTime: 1_780_000_000,
      amr: ['pwd', 'otp'],
      acr: 'urn:example:loa:2',
    });
  });

  it('accepts a fractional or zero auth_time, as RFC 7519 NumericDate allows', () => {
    expect(principalFromClaims({ ...valid, auth_time: 1_780_000_000.75 }).authTime).toBe(1_780_000_000.75);
    expect(principalFromClaims({ ...valid, auth_time: 0 }).authTime).toBe(0);
  });
});
