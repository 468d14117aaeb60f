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
  ])('refuses a bad "%s" claim with 401 TOKEN_INVALID naming it', (claim, claims) => {
    const error = refusal(claims);
    expect(error.problem).toMatchObject({ status: 401, code: 'TOKEN_INVALID' });
    expect(error.problem.detail).toContain(`"${claim}"`);
  });

  it('names the unknown role', () => {
    expect(refusal({ ...valid, roles: ['trial-admin', 'superuser'] }).problem.detail).toContain('"superuser"');
  });
});
